"""What the reporter sees and does with their case, through the API and the follow-up pages alike."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy.orm import Session

from app.attachments import service as attachments
from app.attachments.service import AttachmentView
from app.audit import service as audit
from app.cases import feedback, thread
from app.cases.models import Case, Message
from app.checkins import service as checkins
from app.crypto import fields, keys
from app.crypto.keyring import KeyRing
from app.enums import Outcome, Sender, Status
from app.errors import Conflict


@dataclass(frozen=True)
class ReporterView:
    """The reporter's view of their case."""

    reference: str
    status: Status
    received_at: datetime
    description: str | None
    messages: list[tuple[Message, str]]
    next_check_in: date | None
    feedback_requested: bool
    outcome: Outcome | None
    closed_at: datetime | None
    # The reporter's own files and those the team sent them (withdrawn ones as such).
    attachments: list[AttachmentView] = field(default_factory=list)
    # When the HR point of contact last changed (a neutral notice; never who).
    contact_changed_on: date | None = None


def reporter_view(session: Session, ring: KeyRing, case: Case) -> ReporterView:
    """Status, what the reporter wrote, the thread, the next check-in, the outcome once closed and
    whether feedback is asked for (audited). Never the staff's own closing summary or notes."""
    view = ReporterView(
        reference=case.reference,
        status=case.status,
        received_at=case.received_at,
        description=_description(session, ring, case),
        messages=thread.read_messages(session, ring, case),
        next_check_in=checkins.next_due(session, case_id=case.id),
        feedback_requested=feedback.requested(session, case),
        outcome=case.outcome if case.status is Status.CLOSED else None,
        closed_at=case.closed_at,
        attachments=attachments.for_reporter(session, ring, case=case, include_withdrawn=True),
        contact_changed_on=checkins.contact_changed_on(session, case_id=case.id) if case.status is not Status.CLOSED
        else None,
    )
    audit.record(session, audit.REPORTER, "reporter.case.view", case_id=case.id)
    return view


def _description(session: Session, ring: KeyRing, case: Case) -> str | None:
    if case.description_ct is None:  # erased
        return None
    return keys.case_cipher(session, ring, case.id).decrypt(fields.CASE_DESCRIPTION, case.id, case.description_ct)


def post_message(session: Session, ring: KeyRing, *, case: Case, body: str) -> Message:
    """The reporter adds to the thread (not once the case is closed: nobody would be reading)."""
    if case.status is Status.CLOSED:
        raise Conflict("This case is closed, so messages can no longer be sent. You can raise a new concern.")
    return thread.add_message(session, ring, case=case, sender=Sender.REPORTER, body=body)

