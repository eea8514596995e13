"""The two-way thread between a case's reporter and the staff handling it (encrypted)."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import clock
from app.audit import service as audit
from app.auth.models import User
from app.auth.service import actor
from app.cases.models import Case, Message
from app.crypto import fields, keys
from app.crypto.keyring import KeyRing
from app.enums import Sender, SentAs


def add_message(
    session: Session, ring: KeyRing, *, case: Case, sender: Sender, body: str, author: User | None = None
) -> Message:
    """Append to the thread. The first staff message acknowledges the case. A staff message is
    from "your HR contact" when its author is the case's HR contact, else from the safeguarding team."""
    sent_as = None
    if sender is Sender.STAFF:
        sent_as = SentAs.HR_CONTACT if author is not None and author.id == case.hr_contact_id else SentAs.SAFEGUARDING
    msg = Message(id=uuid.uuid4(), case_id=case.id, sender=sender, author_id=author.id if author else None,
                  sent_as=sent_as)
    msg.body_ct = keys.case_cipher(session, ring, case.id).encrypt(fields.MESSAGE_BODY, msg.id, body)
    session.add(msg)
    if sender is Sender.STAFF and case.acknowledged_at is None:
        case.acknowledged_at = clock.now()
    session.flush()
    audit.record(session, actor(author) if author else audit.REPORTER, "message.create", case_id=case.id,
                 target=sender.value)
    return msg


def read_messages(session: Session, ring: KeyRing, case: Case) -> list[tuple[Message, str]]:
    """The thread, oldest first, decrypted (nothing once the case has been erased). Not audited:
    the caller records who read it."""
    if case.purged_at is not None:
        return []
    cipher = keys.case_cipher(session, ring, case.id)
    rows = session.scalars(
        select(Message).where(Message.case_id == case.id).order_by(Message.created_at, Message.id)
    ).all()
    return [(m, cipher.decrypt(fields.MESSAGE_BODY, m.id, m.body_ct)) for m in rows if m.body_ct is not None]
