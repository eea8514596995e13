"""Append to and verify the audit trail. Rows are written in the caller's transaction."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from app import clock
from app.audit.models import AuditEvent

GENESIS = b"\x00" * 32


@dataclass(frozen=True)
class Actor:
    """Who acts: a staff user, the reporter of a case, or the system (CLI jobs)."""

    label: str
    user_id: uuid.UUID | None = None

    @classmethod
    def system(cls, job: str) -> "Actor":
        return cls(label=f"system:{job}")


REPORTER = Actor(label="reporter")


def _digest(prev: bytes, ev: AuditEvent) -> bytes:
    doc = {
        "at": ev.at.isoformat(),
        "actor_id": str(ev.actor_id) if ev.actor_id else None,
        "actor": ev.actor,
        "action": ev.action,
        "case_id": str(ev.case_id) if ev.case_id else None,
        "target": ev.target,
    }
    return hashlib.sha256(prev + json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()).digest()


def record(
    session: Session,
    actor: Actor,
    action: str,
    *,
    case_id: uuid.UUID | None = None,
    target: str | None = None,
) -> AuditEvent:
    """Append one entry, chained to the previous one. Never pass content here."""
    if session.get_bind().dialect.name == "postgresql":
        # One writer at a time extends the chain; released when the transaction ends.
        session.execute(text("SELECT pg_advisory_xact_lock(7302151)"))
    session.flush()
    prev = session.scalar(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)) or GENESIS
    ev = AuditEvent(
        at=clock.now(),
        actor_id=actor.user_id,
        actor=actor.label,
        action=action,
        case_id=case_id,
        target=target,
        prev_hash=prev,
    )
    ev.hash = _digest(prev, ev)
    session.add(ev)
    session.flush()
    return ev


def verify(session: Session) -> tuple[bool, int, int | None]:
    """Walk the chain. Returns (intact, entries checked, id of the first broken entry)."""
    prev = GENESIS
    count = 0
    for ev in session.scalars(select(AuditEvent).order_by(AuditEvent.id)).yield_per(1000):
        if ev.prev_hash != prev or _digest(prev, ev) != ev.hash:
            return False, count, ev.id
        prev = ev.hash
        count += 1
    return True, count, None


def page(session: Session, *, case_id: uuid.UUID | None, page: int, page_size: int) -> tuple[list[AuditEvent], int]:
    q = select(AuditEvent)
    c = select(func.count()).select_from(AuditEvent)
    if case_id is not None:
        q = q.where(AuditEvent.case_id == case_id)
        c = c.where(AuditEvent.case_id == case_id)
    total = session.scalar(c) or 0
    items = session.scalars(q.order_by(AuditEvent.id.desc()).offset((page - 1) * page_size).limit(page_size)).all()
    return list(items), total
