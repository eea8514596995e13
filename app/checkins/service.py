"""Check-in scheduling and completion.

The HR point of contact's first check-in falls `checkin_first_days` after assignment;
completing one schedules the next `checkin_interval_days` after the day it was completed,
until the case closes (closure and reassignment call `cancel_open`). Every staff read goes
through `app.cases.access`, so an HR contact only ever sees the check-ins of their own cases
and nobody sees those of a case they are excluded from.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import ColumnElement, exists, func, select, update
from sqlalchemy.orm import Session

from app import clock
from app.audit import service as audit
from app.auth.models import User
from app.auth.permissions import Capability
from app.auth.service import actor
from app.cases import access
from app.cases.models import Case
from app.checkins.models import CheckIn
from app.config import Settings
from app.crypto import fields, keys
from app.crypto.envelope import Shredded
from app.crypto.keyring import KeyRing
from app.enums import Status
from app.errors import Conflict, NotFound


def _is_open() -> ColumnElement[bool]:
    return (CheckIn.completed_at.is_(None)) & (CheckIn.cancelled_at.is_(None))


def overdue_clause(*, today: date | None = None) -> ColumnElement[bool]:
    """SQL over `Case`: the case has an open check-in due before today."""
    return exists().where(CheckIn.case_id == Case.id, _is_open(), CheckIn.due_on < (today or clock.today()))


def next_due_by_case(session: Session, *, case_ids: list[uuid.UUID]) -> dict[uuid.UUID, date]:
    """The next open check-in's date of each of these cases (for a list of cases)."""
    if not case_ids:
        return {}
    rows = session.execute(
        select(CheckIn.case_id, func.min(CheckIn.due_on))
        .where(CheckIn.case_id.in_(case_ids), _is_open())
        .group_by(CheckIn.case_id)
    ).tuples()
    return dict(rows.all())


def support_unsuitable(case: Case, check_ins: list[CheckIn]) -> bool:
    """`unsuitable_support` for one case whose check-ins are already read (the case page)."""
    done = [c for c in check_ins if c.completed_at is not None]
    if case.status is Status.CLOSED or not done:
        return False
    latest = max(c.completed_at for c in done if c.completed_at is not None)
    return any(c.support_suitable is False for c in done if c.completed_at == latest)


def unsuitable_support(session: Session, *, case_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """The open cases among these whose latest recorded check-in said the support is not suitable
    (they need someone's attention until a later check-in says it is)."""
    if not case_ids:
        return set()
    latest = (
        select(CheckIn.case_id, func.max(CheckIn.completed_at).label("at"))
        .where(CheckIn.case_id.in_(case_ids), CheckIn.completed_at.is_not(None))
        .group_by(CheckIn.case_id)
        .subquery()
    )
    return set(session.scalars(
        select(CheckIn.case_id)
        .join(latest, (CheckIn.case_id == latest.c.case_id) & (CheckIn.completed_at == latest.c.at))
        .join(Case, Case.id == CheckIn.case_id)
        .where(CheckIn.support_suitable.is_(False), Case.status != Status.CLOSED)
    ))


def contact_changed_on(session: Session, *, case_id: uuid.UUID) -> date | None:
    """The day the case's check-ins passed to another HR contact, the last time they did (None if
    they never have): what the reporter is told, without a name."""
    rows = session.execute(
        select(CheckIn.hr_contact_id, CheckIn.created_at).where(CheckIn.case_id == case_id)
        .order_by(CheckIn.created_at, CheckIn.id)
    ).all()
    changed = None
    for (before, _), (after, at) in zip(rows, rows[1:], strict=False):
        if after != before:
            changed = at.date()
    return changed


def cancel_open(session: Session, *, case_id: uuid.UUID) -> int:
    """Cancel every open check-in of a case (contact replaced, or case closed). Returns how many."""
    result = session.execute(
        update(CheckIn).where(CheckIn.case_id == case_id, _is_open()).values(cancelled_at=clock.now())
    )
    return getattr(result, "rowcount", 0) or 0


def erase(session: Session, *, case_id: uuid.UUID) -> None:
    """The check-ins' part of erasing a case: the summaries go; dates and outcomes stay for
    statistics, every time cut to the day (00:00 UTC; "done on time" compares days)."""
    for row in session.scalars(select(CheckIn).where(CheckIn.case_id == case_id)).all():
        row.summary_ct = None
        row.created_at = _to_day(row.created_at)
        row.completed_at = _to_day_if(row.completed_at)
        row.cancelled_at = _to_day_if(row.cancelled_at)
        row.reminded_at = _to_day_if(row.reminded_at)
    session.flush()


def _to_day_if(at: datetime | None) -> datetime | None:
    return None if at is None else _to_day(at)


def _to_day(at: datetime) -> datetime:
    return datetime.combine(at.astimezone(UTC).date(), time(0), UTC)


def schedule_first(session: Session, settings: Settings, *, case_id: uuid.UUID, hr_contact_id: uuid.UUID) -> CheckIn:
    """On assignment: cancel what the previous contact had open and book the first check-in."""
    cancel_open(session, case_id=case_id)
    check_in = CheckIn(
        case_id=case_id,
        hr_contact_id=hr_contact_id,
        due_on=clock.today() + timedelta(days=settings.checkin_first_days),
    )
    session.add(check_in)
    session.flush()
    return check_in


def schedule_next(session: Session, settings: Settings, *, after: CheckIn) -> CheckIn:
    """After a completed check-in: the next one, an interval after it was completed."""
    check_in = CheckIn(
        case_id=after.case_id,
        hr_contact_id=after.hr_contact_id,
        due_on=clock.today() + timedelta(days=settings.checkin_interval_days),
    )
    session.add(check_in)
    session.flush()
    return check_in


def next_due(session: Session, *, case_id: uuid.UUID) -> date | None:
    """The date of the case's next open check-in, if any (what the reporter sees)."""
    return session.scalar(
        select(CheckIn.due_on)
        .where(CheckIn.case_id == case_id, _is_open())
        .order_by(CheckIn.due_on)
        .limit(1)
    )


def is_overdue(check_in: CheckIn, *, today: date | None = None) -> bool:
    """Open and due before today (a check-in due today is due, not yet overdue)."""
    today = today or clock.today()
    return check_in.completed_at is None and check_in.cancelled_at is None and check_in.due_on < today


def list_for_case(session: Session, ring: KeyRing, user: User, *, case: Case) -> list[tuple[CheckIn, str | None]]:
    """Every check-in of the case (loaded and authorised by the caller), oldest first, with its
    decrypted summary. Reading the summaries is a read of case content, so it is audited.
    """
    rows = session.scalars(
        select(CheckIn).where(CheckIn.case_id == case.id).order_by(CheckIn.due_on, CheckIn.created_at)
    ).all()
    out: list[tuple[CheckIn, str | None]] = []
    cipher = None
    for row in rows:
        summary = None
        if row.summary_ct is not None:
            try:
                cipher = cipher or keys.case_cipher(session, ring, case.id)
            except Shredded:  # a purged case: its summaries are gone for good
                pass
            else:
                summary = cipher.decrypt(fields.CHECK_IN_SUMMARY, row.id, row.summary_ct)
        out.append((row, summary))
    audit.record(session, actor(user), "check_in.read", case_id=case.id)
    return out


def complete(
    session: Session,
    ring: KeyRing,
    settings: Settings,
    user: User,
    *,
    case_id: uuid.UUID,
    check_in_id: uuid.UUID,
    summary: str,
    support_suitable: bool,
) -> tuple[CheckIn, CheckIn]:
    """Record a check-in (by the case's HR contact or safeguarding) and book the next one.

    The summary is encrypted under the case's key. 409 if the check-in is already completed or
    cancelled, or the case is closed. Returns (the completed check-in, the next one).
    """
    # Locking the case row serialises completions of the same case (PostgreSQL; SQLite's
    # BEGIN IMMEDIATE already serialises every writer), so a check-in cannot complete twice.
    case = access.get_case(session, user, case_id, for_update=True)
    check_in = session.scalar(select(CheckIn).where(CheckIn.id == check_in_id, CheckIn.case_id == case.id))
    if check_in is None:
        raise NotFound("No such check-in on this case.")
    if case.status == Status.CLOSED or case.closed_at is not None:
        raise Conflict("The case is closed; its check-ins are no longer due.")
    if check_in.completed_at is not None:
        raise Conflict("This check-in has already been completed.")
    if check_in.cancelled_at is not None:
        raise Conflict("This check-in was cancelled (the HR contact changed or the case closed).")
    cipher = keys.case_cipher(session, ring, case.id)
    check_in.summary_ct = cipher.encrypt(fields.CHECK_IN_SUMMARY, check_in.id, summary)
    check_in.support_suitable = support_suitable
    check_in.completed_at = clock.now()
    check_in.completed_by_id = user.id
    session.flush()
    following = schedule_next(session, settings, after=check_in)
    audit.record(session, actor(user), "check_in.complete", case_id=case.id, target=str(check_in.id))
    return check_in, following


def list_open(session: Session, user: User, *, due_before: date | None = None) -> list[CheckIn]:
    """Open check-ins the user may see, soonest first: safeguarding all, an HR contact their own.

    Never those of a case the user is excluded from, nor of a closed case. `due_before` is
    exclusive: `due_before=2026-02-01` lists check-ins due on 31 January or earlier.
    """
    access.require_caseworker(user)
    visible_ids = access.visible_cases(session, user).where(Case.status != Status.CLOSED).with_only_columns(Case.id)
    q = select(CheckIn).where(_is_open(), CheckIn.case_id.in_(visible_ids))
    if not user.may(Capability.READ_EVERY_CASE):
        q = q.where(CheckIn.hr_contact_id == user.id)
    if due_before is not None:
        q = q.where(CheckIn.due_on < due_before)
    return list(session.scalars(q.order_by(CheckIn.due_on, CheckIn.created_at)).all())
