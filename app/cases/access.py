"""The one place that decides which cases a staff user may see (every read goes through one permission-scoping query, as in Polar).

- safeguarding: every case, except those they are excluded from;
- hr: only cases assigned to them, except those they are excluded from;
- anyone else (admin, leadership): no case content at all.

A case the user may not see is reported as not existing (404), never as forbidden.
"""

from __future__ import annotations

import uuid

from sqlalchemy import Select, and_, exists, false, select
from sqlalchemy.orm import Session

from app import dialect
from app.auth.models import User
from app.cases.models import Case, Exclusion
from app.enums import Role
from app.errors import Forbidden, NotFound


def visible_cases(user: User) -> Select[Case]:
    """A SELECT of the cases this user may see; add filters and ordering to it."""
    excluded = exists().where(and_(Exclusion.case_id == Case.id, Exclusion.user_id == user.id))
    q = select(Case).where(~excluded)
    if user.has(Role.SAFEGUARDING):
        return q
    if user.has(Role.HR):
        return q.where(Case.hr_contact_id == user.id)
    return q.where(false())


def require_caseworker(user: User) -> None:
    """Admin and leadership may never read case content: 403 (the role, not the case, is refused)."""
    if not user.has(Role.SAFEGUARDING, Role.HR):
        raise Forbidden("Your role does not allow access to cases.")


def get_case(session: Session, user: User, case_id: uuid.UUID, *, for_update: bool = False) -> Case:
    """The case if this user may see it, else 404 (whether it exists or not)."""
    require_caseworker(user)
    q = visible_cases(user).where(Case.id == case_id)
    if for_update:
        q = dialect.for_update(q, session, of=Case)
    case = session.scalar(q)
    if case is None:
        raise NotFound("No such case.")
    return case


def can_see(session: Session, user: User, case_id: uuid.UUID) -> bool:
    """Whether `get_case` would find the case for this user."""
    return session.scalar(visible_cases(user).where(Case.id == case_id).with_only_columns(Case.id)) is not None


def is_excluded(session: Session, *, case_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    return session.scalar(
        select(Exclusion.id).where(Exclusion.case_id == case_id, Exclusion.user_id == user_id)
    ) is not None
