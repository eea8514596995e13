"""The one scoping query that decides which cases a staff user may see (docs/casework.md).

A case the user may not see is reported as not existing (404), never as forbidden. Exclusions are
matched by a keyed blind index of the user's id, never the id itself.
"""

from __future__ import annotations

import uuid

from sqlalchemy import Select, and_, exists, false, select, update
from sqlalchemy.orm import Session

from app import dialect
from app.auth.models import User
from app.auth.permissions import Capability
from app.cases.models import Case, Exclusion
from app.crypto.blind import exclusion_index
from app.db import EXCLUSION_KEY, ring_keys
from app.errors import Forbidden, NotFound


def exclusion_lookup(session: Session, user_id: uuid.UUID) -> bytes:
    """The blind index of this user in `exclusions.user_lookup` (app.crypto.blind, keyed from the ring),
    under the active key: what a new exclusion stores."""
    return exclusion_lookups(session, user_id)[0]


def exclusion_lookups(session: Session, user_id: uuid.UUID) -> list[bytes]:
    """The user's blind index under every key of the ring, the active one first: what a check for an
    exclusion matches, so that rows a retired key wrote (a `rotate-key` that stopped half-way) still
    exclude."""
    keys = ring_keys(session, EXCLUSION_KEY)
    if not keys:
        raise RuntimeError("this session cannot tell who is excluded: make it with the key ring's exclusion "
                           "key (app.db.make_sessionmaker(..., exclusion_key=blind.exclusion_keys(ring)))")
    return [exclusion_index(key, user_id) for key in keys]


def visible_cases(session: Session, user: User) -> Select[Case]:
    """A SELECT of the cases this user may see; add filters and ordering to it."""
    excluded = exists().where(and_(Exclusion.case_id == Case.id,
                                   Exclusion.user_lookup.in_(exclusion_lookups(session, user.id))))
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
        select(Exclusion.id).where(Exclusion.case_id == case_id, Exclusion.user_lookup.in_(exclusion_lookups(session, user_id)))
    ) is not None


def rekey_exclusions(session: Session) -> tuple[int, int]:
    """`rotate-key`: every exclusion's blind index computed again under the active key. The index
    names no one, so each account's index under every key is matched against the rows (accounts
    are few). Returns (moved, left): left are rows of an account that no longer exists, which
    exclude no one."""
    moving: dict[bytes, bytes] = {}
    current: set[bytes] = set()
    for user_id in session.scalars(select(User.id)).all():
        active, *older = exclusion_lookups(session, user_id)
        current.add(active)
        moving.update(dict.fromkeys(older, active))
    moved = left = 0
    for row_id, lookup in session.execute(select(Exclusion.id, Exclusion.user_lookup)).all():
        if lookup in moving:
            session.execute(update(Exclusion).where(Exclusion.id == row_id).values(user_lookup=moving[lookup]))
            moved += 1
        elif lookup not in current:
            left += 1
    return moved, left
