"""Per-case data keys in the database: create, open, re-wrap (rotation) and destroy (shredding)."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import clock
from app.cases.models import CaseKey
from app.crypto.envelope import (
    CaseCipher,
    Shredded,
    unwrap_data_key,
    wrap_data_key,
)
from app.crypto.keyring import KeyRing


def case_cipher(session: Session, ring: KeyRing, case_id: uuid.UUID) -> CaseCipher:
    row = session.get(CaseKey, case_id)
    if row is None or row.wrapped_key is None:
        raise Shredded(str(case_id))
    return CaseCipher(case_id, unwrap_data_key(ring, case_id, row.kek_id, row.wrapped_key))


def shred(session: Session, case_id: uuid.UUID) -> None:
    """Destroy the case's data key: every ciphertext under it becomes unrecoverable."""
    row = session.get(CaseKey, case_id)
    if row is not None and row.wrapped_key is not None:
        row.wrapped_key = None
        row.destroyed_at = clock.now()


def rewrap_all(session: Session, ring: KeyRing, *, batch: int = 500) -> int:
    """Re-wrap every live data key under the ring's active master key. Returns how many moved.

    Safe to re-run after a crash: keys already under the active master key are skipped, and
    both old and new master keys stay in the ring, so every row stays readable throughout.
    """
    active_id, _ = ring.active_kek
    moved = 0
    while True:
        rows = session.scalars(
            select(CaseKey)
            .where(CaseKey.kek_id != active_id, CaseKey.wrapped_key.is_not(None))
            .order_by(CaseKey.case_id)
            .limit(batch)
        ).all()
        if not rows:
            return moved
        for row in rows:
            assert row.wrapped_key is not None
            dek = unwrap_data_key(ring, row.case_id, row.kek_id, row.wrapped_key)
            row.kek_id, row.wrapped_key = wrap_data_key(ring, row.case_id, dek)
            moved += 1
        session.flush()
