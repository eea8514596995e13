"""Append to and verify the audit trail. Rows are written in the caller's transaction."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import event, func, insert, select
from sqlalchemy.orm import Session, SessionTransaction

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


@dataclass(frozen=True)
class _Entry:
    """An entry waiting for its transaction's commit, where it joins the chain."""

    at: datetime
    actor_id: uuid.UUID | None
    actor: str
    action: str
    case_id: uuid.UUID | None
    target: str | None


def _payload(ev: AuditEvent | _Entry) -> bytes:
    """The entry's canonical form: its hash is sha256(previous hash + this)."""
    doc = {
        "at": ev.at.isoformat(),
        "actor_id": str(ev.actor_id) if ev.actor_id else None,
        "actor": ev.actor,
        "action": ev.action,
        "case_id": str(ev.case_id) if ev.case_id else None,
        "target": ev.target,
    }
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


def _digest(prev: bytes, ev: AuditEvent | _Entry) -> bytes:
    return hashlib.sha256(prev + _payload(ev)).digest()


def record(
    session: Session,
    actor: Actor,
    action: str,
    *,
    case_id: uuid.UUID | None = None,
    target: str | None = None,
) -> None:
    """Append one entry to the trail, in the caller's transaction. Never pass content here.

    The entry joins the hash chain when the transaction commits (`_chain_pending`), so the
    lock that serialises writers of the chain is held for the commit only, not for the rest
    of the request. A transaction that rolls back leaves no entry.
    """
    ev = _Entry(at=clock.now(), actor_id=actor.user_id, actor=actor.label, action=action, case_id=case_id,
                target=target)
    session.info.setdefault(_PENDING, []).append(ev)


_PENDING = "safeshare.audit.pending"


@event.listens_for(Session, "before_commit")
def _chain_pending(session: Session) -> None:
    """Chain and insert the transaction's entries, last thing before COMMIT."""
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    session.flush()  # the action's own rows first, outside the lock
    if session.get_bind().dialect.name == "postgresql":
        _append_postgresql(session, pending)
        return
    # SQLite: BEGIN IMMEDIATE has already made this transaction the only writer.
    prev = session.scalar(_LAST_HASH) or GENESIS
    rows = []
    for ev in pending:
        digest = _digest(prev, ev)
        rows.append({**ev.__dict__, "prev_hash": prev, "hash": digest})
        prev = digest
    session.execute(insert(AuditEvent.__table__), rows)


_LAST_HASH = select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)


# The previous hash is read and the new one computed (sha256, as `_digest`) by the INSERT itself.
_APPEND_PG = """
INSERT INTO audit_events (at, actor_id, actor, action, case_id, target, prev_hash, hash)
SELECT %(at)s, %(actor_id)s, %(actor)s, %(action)s, %(case_id)s, %(target)s, p.h, sha256(p.h || %(payload)s)
FROM (SELECT coalesce((SELECT hash FROM audit_events ORDER BY id DESC LIMIT 1), %(genesis)s) AS h) AS p
"""


def _append_postgresql(session: Session, pending: list[_Entry]) -> None:
    """Take the chain's lock and append, in one round trip (a libpq pipeline).

    One writer at a time extends the chain: the advisory lock is held until the COMMIT that
    follows at once. Sent together, the lock and the INSERTs cost one round trip, so the lock
    is never held while this process waits for its turn on the GIL between statements. Each
    INSERT is its own statement, so its snapshot is taken after the lock was granted and it
    sees the entry committed by the previous holder.
    """
    raw = session.connection().connection.driver_connection
    with raw.pipeline(), raw.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(7302151)")
        for ev in pending:
            cur.execute(_APPEND_PG, {
                "at": ev.at, "actor_id": ev.actor_id, "actor": ev.actor, "action": ev.action,
                "case_id": ev.case_id, "target": ev.target, "payload": _payload(ev), "genesis": GENESIS,
            })


@event.listens_for(Session, "after_transaction_end")
def _drop_pending(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # rolled back (a commit has already taken them)
        session.info.pop(_PENDING, None)


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
