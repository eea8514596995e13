"""`safeshare remind`: references and dates only (docs/checkins.md, "`safeshare remind`")."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from email.message import EmailMessage

from sqlalchemy import ColumnElement, and_, exists, select
from sqlalchemy.orm import Session, sessionmaker

from app import clock, dialect
from app.audit import service as audit
from app.audit.service import Actor
from app.auth import service as auth
from app.auth.models import User
from app.auth.permissions import Capability
from app.cases import access
from app.cases.models import Case, Exclusion
from app.checkins.models import CheckIn
from app.config import Settings
from app.enums import Status
from app.mail import Mailer, new_message

log = logging.getLogger("safeshare.remind")
ACTOR = Actor.system("remind")


@dataclass
class RemindResult:
    mails_sent: int = 0
    check_ins: int = 0
    failed_contacts: int = 0
    errors: list[str] = field(default_factory=list)


def _due_filter(today: date) -> ColumnElement[bool]:
    """Due and not reminded; exclusions are checked per contact: their blind index needs the key."""
    return and_(
        CheckIn.completed_at.is_(None),
        CheckIn.cancelled_at.is_(None),
        CheckIn.reminded_at.is_(None),
        CheckIn.due_on <= today,
        Case.status != Status.CLOSED,
        Case.closed_at.is_(None),
    )


def _contacts_with_due(session: Session, today: date) -> list[uuid.UUID]:
    return list(
        session.scalars(
            select(CheckIn.hr_contact_id).join(Case, Case.id == CheckIn.case_id)
            .where(_due_filter(today)).distinct()
        ).all()
    )


def _claim(session: Session, contact_id: uuid.UUID, today: date) -> list[tuple[CheckIn, str]]:
    q = (
        select(CheckIn, Case.reference)
        .join(Case, Case.id == CheckIn.case_id)
        .where(_due_filter(today), CheckIn.hr_contact_id == contact_id)
        .where(~exists().where(and_(Exclusion.case_id == CheckIn.case_id,
                                    Exclusion.user_lookup.in_(access.exclusion_lookups(session, contact_id)))))
        .order_by(CheckIn.due_on, Case.reference)
    )
    q = dialect.for_update(q, session, of=CheckIn, skip_locked=True)
    return [(row, ref) for row, ref in session.execute(q).all()]


def compose(settings: Settings, to: str, items: list[tuple[str, date]], today: date, *, handover: bool = False) -> EmailMessage:
    """The reminder: case references and due dates, nothing else about the cases."""
    n = len(items)
    plural = "s" if n != 1 else ""
    if handover:
        opening = [
            f"{n} check-in{plural} due on cases whose HR contact's account has been deactivated.",
            "Until a new HR contact is assigned, the safeguarding team looks after them:",
        ]
    else:
        opening = [f"You have {n} check-in{plural} due with people you support through Safe Share:"]
    lines = ["Hello,", "", *opening, ""]
    for reference, due_on in items:
        late = " (overdue)" if due_on < today else ""
        lines.append(f"  {reference}  due {due_on.isoformat()}{late}")
    lines += [
        "",
        f"Record them here: {settings.public_url.rstrip('/')}/staff/check-ins",
        "",
        "This message deliberately holds no details of the cases.",
    ]
    return new_message(settings, to=to, subject=f"Safe Share: {n} check-in{plural} due", lines=lines)


class _SendFailed(Exception):
    def __init__(self, error_type: str) -> None:
        super().__init__(error_type)
        self.error_type = error_type


def _recipients(
    session: Session, settings: Settings, contact: User, claimed: list[tuple[CheckIn, str]], today: date
) -> list[EmailMessage]:
    """The contact's reminder; after a handover, one per safeguarding user, without their exclusions."""
    items = [(ref, row.due_on) for row, ref in claimed]
    if contact.active:
        return [compose(settings, contact.email, items, today)]
    case_ids = {row.case_id for row, _ in claimed}
    excluded = set(
        session.execute(select(Exclusion.user_lookup, Exclusion.case_id).where(Exclusion.case_id.in_(case_ids))).tuples()
    )
    messages = []
    for user in auth.list_users(session, may=Capability.READ_EVERY_CASE):
        if not user.active:
            continue
        lookups = access.exclusion_lookups(session, user.id)
        theirs = [(ref, row.due_on) for row, ref in claimed
                  if not any((lookup, row.case_id) in excluded for lookup in lookups)]
        if theirs:
            messages.append(compose(settings, user.email, theirs, today, handover=True))
    return messages


def _claim_and_send(
    session: Session,
    settings: Settings,
    mailer: Mailer,
    contact_id: uuid.UUID,
    today: date,
    after_claim: Callable[[], None] | None,
) -> list[CheckIn]:
    """Inside the caller's transaction: claim, mark reminded, send. Raises _SendFailed."""
    user = session.get(User, contact_id)
    if user is None:
        return []
    claimed = _claim(session, contact_id, today)
    if not claimed:
        return []  # another host has them, or they were dealt with meanwhile
    now = clock.now()
    for row, _ in claimed:
        row.reminded_at = now
    session.flush()
    if after_claim is not None:
        after_claim()
    try:
        for message in _recipients(session, settings, user, claimed, today):
            mailer.send(message)
    except Exception as exc:  # noqa: BLE001 - any failure to hand over the mail means "not sent"
        raise _SendFailed(type(exc).__name__) from exc
    return [row for row, _ in claimed]


def send_due_reminders(
    sessions: sessionmaker[Session],
    settings: Settings,
    *,
    mailer: Mailer | None = None,
    after_claim: Callable[[], None] | None = None,
) -> RemindResult:
    """Send each HR contact one mail of their due check-ins (`after_claim`: a test hook)."""
    mailer = mailer or Mailer(settings)
    result = RemindResult()
    today = clock.today()
    try:
        with sessions() as session, session.begin():
            contacts = _contacts_with_due(session, today)
        for contact_id in contacts:
            with sessions() as session:
                try:
                    with session.begin():
                        claimed = _claim_and_send(session, settings, mailer, contact_id, today, after_claim)
                except _SendFailed as exc:  # the claim was rolled back: retried on the next run
                    result.failed_contacts += 1
                    result.errors.append(exc.error_type)
                    log.warning("reminder not sent; it will be retried", extra={"error_type": exc.error_type})
                    continue
                if not claimed:
                    continue
                # Audited after the commit: the audit chain's lock must not be held while mail is sent.
                with session.begin():
                    for row in claimed:
                        audit.record(session, ACTOR, "check_in.remind", case_id=row.case_id, target=str(row.id))
                result.mails_sent += 1
                result.check_ins += len(claimed)
    finally:
        mailer.close()
    return result
