"""What the reporter sees and does with their case, through the API and the follow-up pages alike."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from app.audit import service as audit
from app.cases import feedback, thread
from app.cases.models import Case, Message
from app.checkins import service as checkins
from app.crypto.keyring import KeyRing
from app.enums import Sender, Status
from app.errors import Conflict


@dataclass(frozen=True)
class ReporterView:
    """The reporter's view of their case."""

    reference: str
    status: Status
    received_at: datetime
    messages: list[tuple[Message, str]]
    next_check_in: date | None
    feedback_requested: bool


def reporter_view(session: Session, ring: KeyRing, case: Case) -> ReporterView:
    """Status, the thread, the next check-in and whether feedback is asked for (audited)."""
    view = ReporterView(
        reference=case.reference,
        status=case.status,
        received_at=case.received_at,
        messages=thread.read_messages(session, ring, case),
        next_check_in=checkins.next_due(session, case_id=case.id),
        feedback_requested=feedback.requested(session, case),
    )
    audit.record(session, audit.REPORTER, "reporter.case.view", case_id=case.id)
    return view


def post_message(session: Session, ring: KeyRing, *, case: Case, body: str) -> Message:
    """The reporter adds to the thread (not once the case is closed: nobody would be reading)."""
    if case.status is Status.CLOSED:
        raise Conflict("This case is closed, so messages can no longer be sent. You can raise a new concern.")
    return thread.add_message(session, ring, case=case, sender=Sender.REPORTER, body=body)

