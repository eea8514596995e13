"""The one scoping query that decides which cases a staff user may see (docs/casework.md).

A case the user may not see is reported as not existing (404), never as forbidden. Exclusions are
matched by a keyed blind index of the user's id, never the id itself.
"""

from __future__ import annotations

import uuid

from sqlalchemy import Select, and_, exists, false, select
from sqlalchemy.orm import Session

from app import dialect
from app.auth.models import User
from app.auth.permissions import Capability
from app.cases.models import Case, Exclusion
from app.crypto.blind import exclusion_index
from app.db import EXCLUSION_KEY
from app.errors import Forbidden, NotFound


def exclusion_lookup(session: Session, user_id: uuid.UUID) -> bytes:
    """The blind index of this user in `exclusions.user_lookup` (app.crypto.blind, keyed from the ring)."""
    key = session.info.get(EXCLUSION_KEY)
    if not isinstance(key, bytes):
        raise RuntimeError("this session cannot tell who is excluded: make it with the key ring's exclusion "
                           "key (app.db.make_sessionmaker(..., exclusion_key=blind.exclusion_key(ring)))")
    return exclusion_index(key, user_id)


def visible_cases(session: Session, user: User) -> Select[Case]:
    """A SELECT of the cases this user may see; add filters and ordering to it."""
    excluded = exists().where(and_(Exclusion.case_id == Case.id,
                                   Exclusion.user_lookup == exclusion_lookup(session, user.id)))
    q = select(Case).where(~excluded)
    if user.may(Capability.READ_EVERY_CASE):
        return q
    if user.may(Capability.READ_ASSIGNED_CASES):
        return q.where(Case.hr_contact_id == user.id)
    return q.where(false())


def require_caseworker(user: User) -> None:
    """Admin and leadership may never read case content: 403 (the role, not the case, is refused)."""
    if not user.may(Capability.WORK_ON_CASES):
        raise Forbidden("Your role does not allow access to cases.")


class CaseRefused(NotFound):
    """An existing case asked for by someone who may not see it: a 404 like any missing case, audited
    as `case.refused` after the rollback (`app.http.transactions`).
    """

    def __init__(self, *, user: User, case_id: uuid.UUID, how: str) -> None:
        super().__init__("No such case.")
        self.user, self.case_id, self.how = user, case_id, how


def refusal(session: Session, user: User, case_id: uuid.UUID, *, how: str = "open") -> CaseRefused | None:
    """The refused attempt on this existing case (`how`: "open" or "search"), or None if no such case."""
    if session.scalar(select(Case.id).where(Case.id == case_id)) is None:
        return None
    reason = "excluded" if is_excluded(session, case_id=case_id, user_id=user.id) else "not_assigned"
    return CaseRefused(user=user, case_id=case_id, how=f"{how}:{reason}")


def get_case(session: Session, user: User, case_id: uuid.UUID, *, for_update: bool = False) -> Case:
    """The case if this user may see it, else 404 (refused attempts on existing cases are audited)."""
    require_caseworker(user)
    q = visible_cases(session, user).where(Case.id == case_id)
    if for_update:
        q = dialect.for_update(q, session, of=Case)
    case = session.scalar(q)
    if case is None:
        refused = refusal(session, user, case_id)
        raise refused if refused is not None else NotFound("No such case.")
    return case


def can_see(session: Session, user: User, case_id: uuid.UUID) -> bool:
    return session.scalar(visible_cases(session, user).where(Case.id == case_id).with_only_columns(Case.id)) is not None


def is_excluded(session: Session, *, case_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    return session.scalar(
        select(Exclusion.id).where(Exclusion.case_id == case_id, Exclusion.user_lookup == exclusion_lookup(session, user_id))
    ) is not None
