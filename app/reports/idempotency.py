"""Submissions with an `Idempotency-Key`: a retry gets the first answer again. Sole writer of
`idempotency_keys`; the stored answer (with the receipt) is sealed under a key from the client's key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import BaseModel
from sqlalchemy import delete, update
from sqlalchemy.orm import Session, sessionmaker

from app import clock, dialect
from app.crypto import envelope
from app.crypto.keyring import KeyRing
from app.db import separately, table_of
from app.errors import AppError, Conflict, Invalid
from app.reports.models import IdempotencyRecord

TTL = timedelta(hours=24)
# An in-progress marker this old belongs to a request whose process died (a crash, `kill -9`); a
# retry may take it over. A live request holds its marker for its intake transaction only, whose
# lock waits end after SAFESHARE_LOCK_TIMEOUT_SECONDS (5 s): a minute is far beyond that.
STALE = timedelta(minutes=1)
RETRY_AFTER_SECONDS = 2  # the 409 of a retry that meets a claim still held
_KEY_CHARS = frozenset(chr(c) for c in range(0x21, 0x7F))


def parse_header(header: str) -> str:
    """The key from an `Idempotency-Key` header: a Structured Fields string or a bare token.

    At least 16 visible ASCII characters: the key encrypts the stored receipt.
    """
    value = header.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    if not 16 <= len(value) <= 255 or any(ch not in _KEY_CHARS for ch in value):
        raise AppError(
            "The Idempotency-Key header must be 16 to 255 visible ASCII characters; a random UUID is ideal.",
            errors=[{"field": "Idempotency-Key", "message": "16 to 255 visible ASCII characters"}],
        )
    return value


@dataclass(frozen=True)
class IdempotencyKey:
    """What the server derives from a client's key (never stored): the lookup HMAC, and HKDF keys
    salted by the ring, so a stored receipt needs the client's key *and* the ring.
    """

    lookup: bytes
    seal_key: bytes
    mac_key: bytes

    @classmethod
    def derive(cls, ring: KeyRing, value: str) -> IdempotencyKey:
        okm = HKDF(
            algorithm=hashes.SHA256(), length=64, salt=ring.subkey("idempotency-response"), info=b"safeshare:idempotency:v1"
        ).derive(value.encode())
        return cls(lookup=ring.lookup_hash("idempotency", value), seal_key=okm[:32], mac_key=okm[32:])

    def fingerprint(self, data: BaseModel) -> bytes:
        """A keyed hash of the parsed body: equal for equal requests, and no help to anyone guessing its text."""
        canonical = json.dumps(data.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hmac.new(self.mac_key, canonical.encode(), hashlib.sha256).digest()

    def _ad(self) -> bytes:
        return b"safeshare:v1:idempotency_keys:response_ct:" + self.lookup.hex().encode()

    def seal(self, response: dict[str, Any]) -> bytes:
        return envelope.seal(self.seal_key, json.dumps(response).encode(), self._ad())

    def open(self, blob: bytes) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(envelope.open_(self.seal_key, blob, self._ad()))
        return loaded


def claim(sessions: sessionmaker[Session], key: IdempotencyKey, *, fingerprint: bytes) -> dict[str, Any] | None:
    """Claim the key in its own committed transaction before any work: None, or a replay's response.

    422 for another body, 409 while the first is running. Takes a sessionmaker: a concurrent retry
    must see the claim before this request commits.
    """
    with separately(sessions) as s:
        return claim_in(s, key, fingerprint=fingerprint)


def claim_in(s: Session, key: IdempotencyKey, *, fingerprint: bytes) -> dict[str, Any] | None:
    """`claim` in a short transaction the caller holds (the report rate is counted in it too)."""
    now = clock.now()
    table = table_of(IdempotencyRecord)
    s.execute(delete(IdempotencyRecord).where(IdempotencyRecord.expires_at <= now))
    ins = (
        dialect.insert(s, table)
        .values(key_hash=key.lookup, request_hash=fingerprint, state="in_progress", expires_at=now + TTL,
                created_at=now)
        .on_conflict_do_nothing(index_elements=["key_hash"])
        .returning(table.c.key_hash)
    )
    if s.execute(ins).first() is not None:  # rowcount is not reliable here on every driver
        return None
    row = s.get(IdempotencyRecord, key.lookup)
    if row is None:  # released by the other request between our insert and this read
        raise Conflict("A request with this Idempotency-Key was just being processed. Please try again.")
    if not hmac.compare_digest(row.request_hash, fingerprint):
        raise Invalid(
            "This Idempotency-Key was already used with a different request body.", field="Idempotency-Key"
        )
    if row.state == "done" and row.response_ct is not None:
        return key.open(row.response_ct)
    if row.created_at <= now - STALE:
        taken = s.execute(
            update(IdempotencyRecord)
            .where(
                IdempotencyRecord.key_hash == key.lookup,
                IdempotencyRecord.state == "in_progress",
                IdempotencyRecord.created_at == row.created_at,
            )
            .values(created_at=now)
        )
        if getattr(taken, "rowcount", 0) == 1:
            return None
    # Retryable: a live request holds its claim for seconds (its lock waits are bounded); a dead one's
    # claim is taken over once it is STALE. Either way, the same request again soon gets the answer.
    raise Conflict("A request with this Idempotency-Key is still being processed. Please try again shortly.",
                   slug="still-processing", headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


def unclaim(s: Session, key: IdempotencyKey) -> None:
    """Undo this transaction's claim (`claim_in`) before it commits: the request will not do the work."""
    s.execute(delete(IdempotencyRecord).where(IdempotencyRecord.key_hash == key.lookup,
                                              IdempotencyRecord.state == "in_progress"))


def complete(session: Session, key: IdempotencyKey, *, case_id: uuid.UUID, response: dict[str, Any]) -> None:
    """In the request's own transaction: the key is done, holding the answer (encrypted) for retries."""
    session.execute(
        update(IdempotencyRecord)
        .where(IdempotencyRecord.key_hash == key.lookup)
        .values(state="done", case_id=case_id, response_ct=key.seal(response))
    )


def release(sessions: sessionmaker[Session], key: IdempotencyKey) -> None:
    """Forget a claim whose request failed, so the client's retry runs afresh (own transaction)."""
    with separately(sessions) as s:
        s.execute(
            delete(IdempotencyRecord).where(
                IdempotencyRecord.key_hash == key.lookup, IdempotencyRecord.state == "in_progress"
            )
        )


def stored_response(sessions: sessionmaker[Session], key: IdempotencyKey) -> dict[str, Any] | None:
    """The answer kept for a finished request with this key, whatever its body, or None."""
    with separately(sessions) as s:
        row = s.get(IdempotencyRecord, key.lookup)
        if row is None or row.state != "done" or row.response_ct is None:
            return None
        return key.open(row.response_ct)


def erase(session: Session, *, case_id: uuid.UUID) -> None:
    """Erasing a case: its stored answers (which hold its receipt, sealed) go too."""
    session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.case_id == case_id))
