"""Intake of concerns and the reporter's thread. Shared by the web form, the API and staff-recorded contacts."""

from __future__ import annotations

import json
import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import clock
from app.audit import service as audit
from app.audit.service import Actor
from app.auth.models import User
from app.cases.models import Case, Message
from app.config import Settings
from app.crypto import receipts
from app.crypto import service as crypto
from app.crypto.keyring import KeyRing
from app.enums import Channel, Sender
from app.reports.schemas import ReportIn
from app.themes import service as themes
from app.themes.suggest import suggest_themes


def _unique_reference(session: Session) -> str:
    for _ in range(20):
        ref = receipts.new_reference()
        if session.scalar(select(Case.id).where(Case.reference == ref)) is None:
            return ref
    raise RuntimeError("could not find a free reference")  # 40 bits: practically unreachable


def receipt_lookup(ring: KeyRing, normalised_receipt: str) -> bytes:
    return ring.lookup_hash("receipt", normalised_receipt)


def create_case(
    session: Session,
    ring: KeyRing,
    settings: Settings,
    *,
    data: ReportIn,
    channel: Channel,
    received_at: datetime | None = None,
    duration_minutes: int | None = None,
    recorded_by: User | None = None,
) -> tuple[Case, str]:
    """Store a new concern and return it with its receipt (shown once, never stored in clear).

    The description and the reporter's identity are encrypted under the case's own data key;
    the receipt is kept only as a keyed lookup hash.
    """
    hints = themes.require_known(session, data.themes, field="themes")
    received_at = received_at or clock.now()
    receipt = receipts.new_receipt()
    normalised = receipts.normalise(receipt)
    assert normalised is not None
    case_id = uuid.uuid4()
    case = Case(
        id=case_id,
        reference=_unique_reference(session),
        channel=channel,
        anonymous=data.anonymous,
        about=data.about,
        receipt_lookup=receipt_lookup(ring, normalised),
        reporter_themes=hints,
        suggested_themes=suggest_themes(data.description),
        wishes=[w.value for w in data.wishes],
        received_at=received_at,
        received_month=received_at.strftime("%Y-%m"),
        out_of_hours=settings.hours.is_out_of_hours(received_at),
        duration_minutes=duration_minutes,
        recorded_by_id=recorded_by.id if recorded_by else None,
    )
    session.add(case)
    session.flush()
    cipher = crypto.create_case_key(session, ring, case_id)
    case.description_ct = cipher.encrypt("cases", "description", case_id, data.description)
    if data.reporter is not None:
        case.reporter_ct = cipher.encrypt(
            "cases", "reporter", case_id, json.dumps(data.reporter.model_dump(mode="json"), sort_keys=True)
        )
    session.flush()
    who = Actor(label=recorded_by.email, user_id=recorded_by.id) if recorded_by else audit.REPORTER
    audit.record(session, who, "case.create", case_id=case_id, target=channel.value)
    return case, receipt


def find_case_by_receipt(session: Session, ring: KeyRing, receipt: str) -> Case | None:
    """One indexed lookup by keyed hash; never a scan over stored hashes."""
    normalised = receipts.normalise(receipt)
    if normalised is None:
        return None
    return session.scalar(select(Case).where(Case.receipt_lookup == receipt_lookup(ring, normalised)))


def read_description(session: Session, ring: KeyRing, case: Case) -> str | None:
    if case.description_ct is None:
        return None
    return crypto.case_cipher(session, ring, case.id).decrypt("cases", "description", case.id, case.description_ct)


def read_reporter(session: Session, ring: KeyRing, case: Case) -> dict[str, str | None] | None:
    if case.reporter_ct is None:
        return None
    return json.loads(crypto.case_cipher(session, ring, case.id).decrypt("cases", "reporter", case.id, case.reporter_ct))


def add_message(
    session: Session, ring: KeyRing, *, case: Case, sender: Sender, body: str, author: User | None = None
) -> Message:
    """Append to the two-way thread. The first staff message acknowledges the case."""
    msg = Message(id=uuid.uuid4(), case_id=case.id, sender=sender, author_id=author.id if author else None)
    msg.body_ct = crypto.case_cipher(session, ring, case.id).encrypt("messages", "body", msg.id, body)
    session.add(msg)
    if sender is Sender.STAFF and case.acknowledged_at is None:
        case.acknowledged_at = clock.now()
    session.flush()
    who = Actor(label=author.email, user_id=author.id) if author else audit.REPORTER
    audit.record(session, who, "message.create", case_id=case.id, target=sender.value)
    return msg


def read_messages(session: Session, ring: KeyRing, case: Case) -> list[tuple[Message, str]]:
    cipher = crypto.case_cipher(session, ring, case.id)
    rows = session.scalars(
        select(Message).where(Message.case_id == case.id).order_by(Message.created_at, Message.id)
    ).all()
    return [(m, cipher.decrypt("messages", "body", m.id, m.body_ct)) for m in rows if m.body_ct is not None]
