"""Check-in scheduling and completion (docs/checkins.md); staff reads go through `app.cases.access`."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import ColumnElement, exists, select, update
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


def marks_by_case(session: Session, *, cases: Sequence[Case]) -> tuple[dict[uuid.UUID, date], set[uuid.UUID]]:
    """For a list of cases, in one query: each one's next open check-in date, and the open cases
    whose latest recorded check-in said the support is not suitable (they need someone's attention
    until a later check-in says it is)."""
    if not cases:
        return {}, set()
    rows = session.execute(select(CheckIn).where(CheckIn.case_id.in_([c.id for c in cases]))).scalars().all()
    by_case: dict[uuid.UUID, list[CheckIn]] = {}
    for row in rows:
        by_case.setdefault(row.case_id, []).append(row)
    next_due = {case_id: min(c.due_on for c in open_ones) for case_id, found in by_case.items()
                if (open_ones := [c for c in found if c.completed_at is None and c.cancelled_at is None])}
    unsuitable = {case.id for case in cases if support_unsuitable(case, by_case.get(case.id, []))}
    return next_due, unsuitable


def support_unsuitable(case: Case, check_ins: list[CheckIn]) -> bool:
    """`unsuitable_support` for one case whose check-ins are already read (the case page)."""
    done = [c for c in check_ins if c.completed_at is not None]
    if case.status is Status.CLOSED or not done:
        return False
    latest = max(c.completed_at for c in done if c.completed_at is not None)
    return any(c.support_suitable is False for c in done if c.completed_at == latest)


def contact_changed_on(session: Session, *, case_id: uuid.UUID) -> date | None:
    """The day the case's check-ins last passed to another HR contact, or None (told without a name)."""
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
    """The check-ins' part of an erasure: summaries go, times are cut to the day ("on time" compares days)."""
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
    """Every check-in of the case, oldest first, summaries decrypted (audited)."""
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
    """Record a check-in and book the next one (409 if done, cancelled, or the case is closed)."""
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
    """Open check-ins the user may see, soonest first (`due_before` is exclusive)."""
    access.require_caseworker(user)
    visible_ids = access.visible_cases(session, user).where(Case.status != Status.CLOSED).with_only_columns(Case.id)
    q = select(CheckIn).where(_is_open(), CheckIn.case_id.in_(visible_ids))
    if not user.may(Capability.READ_EVERY_CASE):
        q = q.where(CheckIn.hr_contact_id == user.id)
    if due_before is not None:
        q = q.where(CheckIn.due_on < due_before)
    return list(session.scalars(q.order_by(CheckIn.due_on, CheckIn.created_at)).all())
