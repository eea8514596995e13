"""Check-in scheduling. The HR point of contact's first check-in falls `checkin_first_days` after
assignment; completing one schedules the next `checkin_interval_days` later, until closure."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app import clock
from app.checkins.models import CheckIn
from app.config import Settings


def cancel_open(session: Session, *, case_id: uuid.UUID) -> int:
    """Cancel every open check-in of a case (contact replaced, or case closed). Returns how many."""
    result = session.execute(
        update(CheckIn)
        .where(CheckIn.case_id == case_id, CheckIn.completed_at.is_(None), CheckIn.cancelled_at.is_(None))
        .values(cancelled_at=clock.now())
    )
    return result.rowcount or 0


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
        .where(CheckIn.case_id == case_id, CheckIn.completed_at.is_(None), CheckIn.cancelled_at.is_(None))
        .order_by(CheckIn.due_on)
        .limit(1)
    )
