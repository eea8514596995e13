"""Referrals: a case handed on out of the service (a formal investigation, the police, the local
authority's safeguarding team, occupational health, a notification the regulator expects), each
with the date it is due by, so that none is forgotten.

The note is ciphertext under the case's data key, like the case's notes, and erased with it.
A referral is overdue while it is not completed and its `due_on` has passed, on an open case.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from sqlalchemy import ColumnElement, and_, exists, select
from sqlalchemy.orm import Session

from app import clock
from app.audit import service as audit
from app.auth.models import User
from app.auth.service import actor
from app.cases.models import Case, Referral
from app.config import Settings
from app.crypto import fields, keys
from app.crypto.keyring import KeyRing
from app.enums import ReferralKind, Status
from app.errors import Conflict, Invalid, NotFound


def due_days(settings: Settings, kind: ReferralKind) -> int:
    """Days from the referral to its due date (`SAFESHARE_REFERRAL_<KIND>_DAYS`): formal
    investigation 28, police 1, local authority safeguarding 1, regulator notification 5,
    occupational health 14, counselling 14, third sector 14 by default."""
    days: int = getattr(settings, f"referral_{kind.value}_days")
    return days


def open_overdue(today: date) -> ColumnElement[bool]:
    """SQL over `Case`: an open case with a referral not completed by its due date."""
    late = exists().where(
        Referral.case_id == Case.id, Referral.completed_on.is_(None), Referral.due_on < today
    )
    return and_(Case.status != Status.CLOSED, late)


def any_open() -> ColumnElement[bool]:
    """SQL over `Case`: a referral of the case not yet marked complete (whatever the case's status)."""
    return exists().where(Referral.case_id == Case.id, Referral.completed_on.is_(None))


def open_ones(session: Session, *, case_id: uuid.UUID) -> list[Referral]:
    """The case's referrals not yet marked complete (no content decrypted)."""
    return list(session.scalars(select(Referral).where(Referral.case_id == case_id, Referral.completed_on.is_(None))))


def is_overdue(session: Session, *, case: Case, today: date) -> bool:
    if case.status is Status.CLOSED:
        return False
    return session.scalar(
        select(Referral.id).where(
            Referral.case_id == case.id, Referral.completed_on.is_(None), Referral.due_on < today
        ).limit(1)
    ) is not None


def _require_not_purged(case: Case) -> None:
    if case.purged_at is not None:
        raise Conflict("This case has been erased after its retention date.")


def add(
    session: Session, ring: KeyRing, settings: Settings, *, user: User, case: Case, kind: ReferralKind,
    note: str | None, due_on: date | None = None,
) -> Referral:
    """Record a referral (audited `referral.create`); due by `due_on`, or by the kind's default period."""
    _require_not_purged(case)
    today = clock.today()
    if due_on is not None and due_on < today:
        raise Invalid("due_on is in the past.", field="due_on")
    row = Referral(
        id=uuid.uuid4(), case_id=case.id, kind=kind, created_by_id=user.id,
        due_on=due_on or today + timedelta(days=due_days(settings, kind)),
    )
    if note is not None:
        row.note_ct = keys.case_cipher(session, ring, case.id).encrypt(fields.REFERRAL_NOTE, row.id, note)
    session.add(row)
    session.flush()
    audit.record(session, actor(user), "referral.create", case_id=case.id, target=kind.value)
    return row


def read(session: Session, ring: KeyRing, *, user: User, case: Case) -> list[tuple[Referral, str | None]]:
    """The case's referrals, oldest first, with their notes decrypted (audited as `case.read` of `referrals`)."""
    audit.record(session, actor(user), "case.read", case_id=case.id, target="referrals")
    rows = session.scalars(
        select(Referral).where(Referral.case_id == case.id).order_by(Referral.created_at, Referral.id)
    ).all()
    if case.purged_at is not None:
        return [(r, None) for r in rows]
    cipher = keys.case_cipher(session, ring, case.id)
    return [(r, cipher.decrypt(fields.REFERRAL_NOTE, r.id, r.note_ct) if r.note_ct is not None else None)
            for r in rows]


def complete(
    session: Session, *, user: User, case: Case, referral_id: uuid.UUID, completed_on: date | None
) -> Referral:
    """Mark a referral done on `completed_on` (not in the future, not before it was made), or
    open again with None (audited `referral.complete` / `referral.reopen`)."""
    _require_not_purged(case)
    row = session.scalar(select(Referral).where(Referral.id == referral_id, Referral.case_id == case.id))
    if row is None:
        raise NotFound("No such referral.")
    if completed_on is not None:
        if completed_on > clock.today():
            raise Invalid("completed_on is in the future.", field="completed_on")
        if completed_on < row.created_at.date():
            raise Invalid("completed_on is before the referral was made.", field="completed_on")
    row.completed_on = completed_on
    session.flush()
    action = "referral.complete" if completed_on is not None else "referral.reopen"
    audit.record(session, actor(user), action, case_id=case.id, target=str(row.id))
    return row


def note_of(session: Session, ring: KeyRing, *, case: Case, row: Referral) -> str | None:
    """One referral's note, decrypted (for the answer to the person who just changed it)."""
    if row.note_ct is None or case.purged_at is not None:
        return None
    return keys.case_cipher(session, ring, case.id).decrypt(fields.REFERRAL_NOTE, row.id, row.note_ct)
