"""Who is told what, and the delivery of the outbox (`safeshare deliver`).

Notifications are rows written in the same transaction as the event they announce (`app.flows`
calls `new_concern`, `reporter_message`, ...), so a notification exists exactly when its event
was stored. `deliver` sends them later, with retries and back-off, so none is lost while the
mail server is down; and it is safe on several hosts at once:

- a host claims a batch of due rows in a short transaction (PostgreSQL: `FOR UPDATE SKIP LOCKED`;
  SQLite: its write lock), marking them `claimed_until` a lease from now; other hosts skip them;
- it sends each message with no transaction open, then marks it sent (or schedules a retry) in
  another short transaction. A host that dies between sending and marking leaves a claim that
  runs out, and the message is sent once more: at most one duplicate, never a lost message.

A message carries a case reference and a link, never case text, a reporter's identity or a
receipt. Nobody is told of a case they are excluded from, and a deactivated user is told nothing:
what their role would have brought them goes to the safeguarding users instead (a handover).
"""

from __future__ import annotations

import enum
import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from functools import cache

from sqlalchemy import Select, func, insert, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from app import clock, dialect
from app.auth import notices
from app.auth.models import User, holders
from app.auth.permissions import Capability
from app.cases import access
from app.cases.models import Case
from app.config import Settings
from app.db import separately
from app.enums import Risk
from app.mail import Mailer, describe_failure, new_message
from app.notify.models import Notification

log = logging.getLogger("safeshare.deliver")

LEASE = timedelta(minutes=5)
FIRST_RETRY = timedelta(minutes=1)
LONGEST_WAIT = timedelta(hours=6)


class Kind(str, enum.Enum):
    NEW_CONCERN = "new_concern"
    URGENT = "urgent"
    REPORTER_MESSAGE = "reporter_message"
    ASSIGNMENT = "assignment"
    OWNER = "owner"
    POSSIBLE_RISK = "possible_risk"
    SUPPORT_UNSUITABLE = "support_unsuitable"
    CLOSED_BY_HR = "closed_by_hr"
    # Security notices about staff accounts (app.auth.notices): their text comes with them.
    ROLE_GRANTED = "role_granted"
    PASSWORD_RESET = "password_reset"
    TOTP_RESET_REQUESTED = "totp_reset_requested"
    TOTP_RESET = "totp_reset"
    ADMIN_GRANTED = "admin_granted"
    ROLE_REMOVED = "role_removed"
    ROLE_GRANT_REQUESTED = "role_grant_requested"
    PASSWORD_RESET_REQUESTED = "password_reset_requested"
    ENROLMENT = "enrolment"
    PASSWORD_RECOVERED = "password_recovered"


# --- who is told --------------------------------------------------------------------------------


@cache
def _safeguarding_query() -> Select[uuid.UUID]:
    """The active users who may read every case (built once: it is on the busiest write path)."""
    return select(User.id).where(User.active.is_(True), User.id.in_(holders(Capability.READ_EVERY_CASE)))


def _safeguarding(session: Session, *, case_id: uuid.UUID | None) -> list[uuid.UUID]:
    users = list(session.scalars(_safeguarding_query()))
    if case_id is None:
        return users
    return [u for u in users if not access.is_excluded(session, case_id=case_id, user_id=u)]


def enqueue(
    session: Session, *, kind: Kind, user_ids: Iterable[uuid.UUID], case_id: uuid.UUID | None = None,
    urgent: bool = False, exclude: uuid.UUID | None = None,
) -> int:
    """Write a notification for each user (not `exclude`, the person who acted), in the caller's
    transaction. A user who already has one of this kind about this case waiting gets no second
    one: ten messages from a reporter in a row make one e-mail. Returns how many were written."""
    wanted = {u for u in user_ids if u != exclude}
    if not wanted:
        return 0
    waiting = set(
        session.scalars(
            select(Notification.user_id).where(
                Notification.kind == kind.value,
                Notification.case_id == case_id if case_id is not None else Notification.case_id.is_(None),
                Notification.user_id.in_(wanted),
                Notification.sent_at.is_(None),
                Notification.dropped_at.is_(None),
            )
        )
    )
    now = clock.now()
    for user_id in sorted(wanted - waiting):
        session.add(Notification(kind=kind.value, user_id=user_id, case_id=case_id, urgent=urgent, next_attempt_at=now))
    session.flush()
    return len(wanted - waiting)


def new_concern(session: Session, *, case_id: uuid.UUID, urgent: bool, by: User | None = None,
                to: list[uuid.UUID] | None = None) -> None:
    """A concern has arrived (online or recorded by staff): the safeguarding team (`to`, if read
    already: `app.auth.keys.new_case_readers`) is told. The case was created in this transaction, so nobody is excluded from it yet
    and nothing about it waits in the outbox: one query for the recipients, one INSERT."""
    now = clock.now()
    team = _safeguarding(session, case_id=None) if to is None else to
    rows = [{"kind": Kind.NEW_CONCERN.value, "user_id": user_id, "case_id": case_id, "urgent": urgent,
             "next_attempt_at": now}
            for user_id in sorted(set(team) - {by.id if by else None})]
    if rows:
        session.execute(insert(Notification), rows)


def marked_urgent(session: Session, *, case: Case, by: User) -> None:
    """Triage flagged the case urgent: the rest of the safeguarding team is told at once."""
    enqueue(session, kind=Kind.URGENT, user_ids=_safeguarding(session, case_id=case.id), case_id=case.id,
            urgent=True, exclude=by.id)


def _contact_or_safeguarding(session: Session, case: Case) -> list[uuid.UUID]:
    """The case's HR contact; the safeguarding users if it has none or theirs was deactivated."""
    if case.hr_contact_id is not None:
        contact = session.get(User, case.hr_contact_id)
        if contact is not None and contact.active:
            return [contact.id]
    return _safeguarding(session, case_id=case.id)


def reporter_message(session: Session, *, case: Case, risk_words: bool = False) -> None:
    """The reporter wrote: their HR contact is told (or safeguarding, if there is none). On an
    urgent case, or when the message holds risk words, the safeguarding team is told too."""
    enqueue(session, kind=Kind.REPORTER_MESSAGE, user_ids=_contact_or_safeguarding(session, case), case_id=case.id)
    if risk_words:
        enqueue(session, kind=Kind.POSSIBLE_RISK, user_ids=_safeguarding(session, case_id=case.id), case_id=case.id,
                urgent=True)
    elif case.risk is Risk.URGENT:
        enqueue(session, kind=Kind.REPORTER_MESSAGE, user_ids=_safeguarding(session, case_id=case.id), case_id=case.id,
                urgent=True)


def check_in_recorded(session: Session, *, case: Case, by: User, unsuitable: bool, risk_words: bool) -> None:
    """A check-in with risk words in its summary, or "support not suitable" on an urgent case (or
    one flagged for possible risk): the safeguarding team is told (not the person who recorded it)."""
    if risk_words:
        enqueue(session, kind=Kind.POSSIBLE_RISK, user_ids=_safeguarding(session, case_id=case.id), case_id=case.id,
                urgent=True, exclude=by.id)
    if unsuitable and (case.risk is Risk.URGENT or case.risk_flagged_at is not None):
        enqueue(session, kind=Kind.SUPPORT_UNSUITABLE, user_ids=_safeguarding(session, case_id=case.id),
                case_id=case.id, urgent=case.risk is Risk.URGENT, exclude=by.id)


def closed_by_hr(session: Session, *, case: Case, by: User) -> None:
    """An HR contact closed a case: the safeguarding team is told, so someone sees every closure."""
    enqueue(session, kind=Kind.CLOSED_BY_HR, user_ids=_safeguarding(session, case_id=case.id), case_id=case.id,
            exclude=by.id)


def assigned(session: Session, *, case: Case, by: User) -> None:
    """A new HR contact is told that the case is now theirs."""
    if case.hr_contact_id is not None:
        enqueue(session, kind=Kind.ASSIGNMENT, user_ids=[case.hr_contact_id], case_id=case.id, exclude=by.id)


def owner(session: Session, *, case: Case, by: User) -> None:
    """A safeguarding user handed the case to another: the new owner is told (not someone who took it)."""
    if case.owner_id is not None:
        enqueue(session, kind=Kind.OWNER, user_ids=[case.owner_id], case_id=case.id, exclude=by.id)


def account_notices(session: Session) -> None:
    """Security notices recorded by `app.auth.notices` during the transaction join the outbox in
    it, one row for each recipient (a staff user, found by e-mail address). Called by
    `app.flows.finish` before every commit."""
    pending = notices.take(session)
    if not pending:
        return
    now = clock.now()
    for notice in pending:
        for user_id in session.scalars(select(User.id).where(User.email.in_(notice.to))):
            session.add(Notification(kind=notice.kind, user_id=user_id, subject=notice.subject, body=notice.body,
                                     next_attempt_at=now))


# --- what they are told -------------------------------------------------------------------------

_SUBJECTS = {
    Kind.NEW_CONCERN: "a new concern has arrived ({ref})",
    Kind.URGENT: "{ref} has been marked urgent",
    Kind.REPORTER_MESSAGE: "a new message from the reporter of {ref}",
    Kind.ASSIGNMENT: "you are now the HR contact for {ref}",
    Kind.OWNER: "{ref} has been handed over to you",
    Kind.POSSIBLE_RISK: "possible risk in a new entry on {ref}",
    Kind.SUPPORT_UNSUITABLE: "support not suitable on {ref}",
    Kind.CLOSED_BY_HR: "{ref} was closed by its HR contact",
}
_OPENINGS = {
    Kind.NEW_CONCERN: "A new concern has arrived in Safe Share: {ref}.",
    Kind.URGENT: "The safeguarding team has marked {ref} as urgent.",
    Kind.REPORTER_MESSAGE: "The person who raised {ref} has sent a new message.",
    Kind.ASSIGNMENT: "You have been made the HR point of contact for {ref}. Your first check-in is booked.",
    Kind.OWNER: "A colleague in the safeguarding team has handed {ref} over to you: you own it now. "
                "Their handover note is on the case.",
    Kind.POSSIBLE_RISK: "A new message or check-in on {ref} uses words that may mean someone is at risk. "
                        "Please look at it now.",
    Kind.SUPPORT_UNSUITABLE: "A check-in on {ref} recorded that the support offered is not suitable.",
    Kind.CLOSED_BY_HR: "The HR contact of {ref} has closed the case. Check the outcome and any open referral.",
}


def compose(settings: Settings, *, to: str, kind: Kind, reference: str | None, case_id: uuid.UUID | None,
            urgent: bool, text: tuple[str, str] | None = None) -> EmailMessage:
    """The e-mail: what happened, the case reference and a link. Nothing of the case itself.
    (A security notice about an account brings its own subject and body, `text`.)"""
    if text is not None:
        return new_message(settings, to=to, subject=text[0], lines=text[1].splitlines())
    ref = reference or "a case"
    base = settings.public_url.rstrip("/")
    link = f"{base}/staff/cases/{case_id}" if case_id else f"{base}/staff/cases"
    subject = ("URGENT - " if urgent else "") + "Safe Share: " + _SUBJECTS[kind].format(ref=ref)
    lines = [
        "Hello,",
        "",
        _OPENINGS[kind].format(ref=ref) + (" It is urgent." if urgent and kind is Kind.NEW_CONCERN else ""),
        "",
        f"Open it in Safe Share (sign-in needed): {link}",
        "",
        "This message deliberately holds no details of the case.",
    ]
    return new_message(settings, to=to, subject=subject, lines=lines)


# --- delivery -----------------------------------------------------------------------------------


@dataclass
class DeliverResult:
    sent: int = 0
    dropped: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)  # each failure said for an operator (`mail.describe_failure`)
    waiting: int = 0  # still to be sent after this run
    next_try: datetime | None = None  # when the first of those is due


@dataclass(frozen=True)
class _Claimed:
    id: uuid.UUID
    kind: Kind
    email: str | None  # None: not to be sent (recipient gone, deactivated or excluded)
    reference: str | None
    case_id: uuid.UUID | None
    urgent: bool
    attempts: int
    text: tuple[str, str] | None


def backoff(attempts: int) -> timedelta:
    """1, 2, 4, ... minutes after each failure, at most 6 hours: a message is retried until it goes."""
    wait: timedelta = FIRST_RETRY * (2 ** max(0, attempts - 1))
    return min(wait, LONGEST_WAIT)


def _claim(s: Session, *, now: datetime, batch: int, due_by: datetime | None = None) -> list[_Claimed]:
    q = (
        select(Notification)
        .where(
            Notification.sent_at.is_(None),
            Notification.dropped_at.is_(None),
            Notification.next_attempt_at <= (due_by or now),
            or_(Notification.claimed_until.is_(None), Notification.claimed_until < now),
        )
        .order_by(Notification.next_attempt_at, Notification.id)
        .limit(batch)
    )
    rows = list(s.scalars(dialect.for_update(q, s, skip_locked=True)))
    out = []
    for row in rows:
        row.claimed_until = now + LEASE
        user = s.get(User, row.user_id)
        case = s.get(Case, row.case_id) if row.case_id else None
        still_applies = user is not None and user.active and (
            case is None or not access.is_excluded(s, case_id=case.id, user_id=user.id)
        )
        out.append(_Claimed(
            row.id, Kind(row.kind), user.email if still_applies and user else None,
            case.reference if case else None, row.case_id, row.urgent, row.attempts,
            (row.subject, row.body or "") if row.subject else None,
        ))
    s.flush()
    return out


def outbox(sessions: sessionmaker[Session], *, due_by: datetime | None = None) -> tuple[int, int, datetime | None]:
    """(due by `due_by` or now, waiting in all, when the first waiting one is due) of the outbox."""
    now = clock.now()
    unsent = (Notification.sent_at.is_(None), Notification.dropped_at.is_(None))
    with sessions() as s:
        due = s.scalar(select(func.count()).where(*unsent, Notification.next_attempt_at <= (due_by or now))) or 0
        waiting, first = s.execute(select(func.count(), func.min(Notification.next_attempt_at)).where(*unsent)).one()
    return due, waiting or 0, first


def deliver(sessions: sessionmaker[Session], settings: Settings, *, mailer: Mailer | None = None,
            batch: int = 50, now_all: bool = False, done: Callable[[int], None] | None = None) -> DeliverResult:
    """Send every notification that is due, once (`now_all`: every one waiting, without waiting
    for its back-off to end, as an operator who has just fixed the mail server wants). Returns
    what happened, and what is still waiting; `done(1)` after each message."""
    mailer = mailer or Mailer(settings)
    result = DeliverResult()
    # A run takes what is due when it starts: a message that fails now is not tried again in this run.
    due_by = clock.now() + (timedelta(days=36500) if now_all else timedelta(0))
    try:
        while True:
            with separately(sessions) as s:
                claimed = _claim(s, now=clock.now(), batch=batch, due_by=due_by)
            for item in claimed:
                _send_one(sessions, settings, mailer, item, result)
                if done is not None:
                    done(1)
            if len(claimed) < batch:
                break
    finally:
        mailer.close()
    _, result.waiting, result.next_try = outbox(sessions)
    return result


def _send_one(sessions: sessionmaker[Session], settings: Settings, mailer: Mailer, item: _Claimed,
              result: DeliverResult) -> None:
    done: dict[str, object]
    if item.email is None:
        done = {"dropped_at": clock.now(), "claimed_until": None}
        result.dropped += 1
    else:
        message = compose(settings, to=item.email, kind=item.kind, reference=item.reference, case_id=item.case_id,
                          urgent=item.urgent, text=item.text)
        try:
            mailer.send(message)
        except Exception as exc:  # noqa: BLE001 - any failure to hand over the mail means "not sent"
            error = type(exc).__name__
            attempts = item.attempts + 1
            done = {"attempts": attempts, "last_error": error, "claimed_until": None,
                    "next_attempt_at": clock.now() + backoff(attempts)}
            result.failed += 1
            result.errors.append(error)
            result.reasons.append(describe_failure(exc, settings))
            # DEBUG: the run's one line names the server and the settings (`safeshare deliver`), once, not per message.
            log.debug("notification not sent; it will be retried", extra={"error_type": error, "attempts": attempts})
        else:
            done = {"sent_at": clock.now(), "claimed_until": None, "last_error": None}
            if item.kind == Kind.ENROLMENT:
                done["body"] = None  # the single-use link is the owner's alone: not kept once sent
            result.sent += 1
    with separately(sessions) as s:
        s.execute(update(Notification).where(Notification.id == item.id).values(**done))
