"""Per-case data keys: create, open, re-wrap, destroy (shredding). Sole writer of `case_keys`."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Select, bindparam, func, insert, select, union
from sqlalchemy.orm import Session

from app import clock, dialect
from app.crypto import blind, holders, people
from app.crypto.envelope import (
    CaseCipher,
    DecryptionError,
    NoCaseKey,
    Shredded,
    new_data_key,
    unwrap_data_key,
    wrap_data_key,
)
from app.crypto.keyring import RETAIN_PREFIX, KeyRing, retention_chain, retention_day
from app.crypto.models import CaseKey, RingIdentity
from app.crypto.people import CASE_PART, SAFEGUARDING_PART
from app.db import table_of, transaction_info


@dataclass(frozen=True)
class NewCaseKey:
    """A fresh data key for a new case: the cipher to seal its fields, and the key wrapped for storage."""

    cipher: CaseCipher
    kek_id: str
    wrapped: bytes | None
    dek: bytes
    payload: bytes  # what a wrap to a person or the escrow holds: the key masked by the case's lock
    lock_kek_id: str
    lock_wrapped: bytes
    reporter_wrapped: bytes | None = None

    def people_only(self) -> NewCaseKey:
        """The same key with no master wrap (a sealed deployment: only people's wraps open it)."""
        return NewCaseKey(self.cipher, PEOPLE, None, self.dek, self.payload, self.lock_kek_id, self.lock_wrapped,
                          self.reporter_wrapped)

    @property
    def params(self) -> dict[str, Any]:
        """The bound parameters of `key_insert`."""
        return {"kek_id": self.kek_id, "wrapped_key": self.wrapped, "reporter_wrapped": self.reporter_wrapped,
                "lock_kek_id": self.lock_kek_id, "lock_wrapped": self.lock_wrapped}


# The kek_id of a case key no master key wraps any more (`seal-cases`): only people's wraps open it.
PEOPLE = "people"


def new_case_key(ring: KeyRing, case_id: uuid.UUID, *, master: bool = True, receipt: str | None = None) -> NewCaseKey:
    """A fresh data key, master-wrapped unless the deployment is sealed, with its lock; its wraps to
    people and under the receipt hold it masked by the lock."""
    dek, lock = new_data_key(), new_data_key()
    lock_kek_id, lock_wrapped = wrap_data_key(ring, case_id, lock, column=LOCK_COLUMN)
    payload = _masked(lock, case_id, dek, CASE_PART)
    for_reporter = people.wrap_to_receipt(receipt, case_id, payload) if receipt is not None else None
    if not master:
        return NewCaseKey(CaseCipher(case_id, dek), PEOPLE, None, dek, payload, lock_kek_id, lock_wrapped, for_reporter)
    kek_id, wrapped = wrap_data_key(ring, case_id, dek)
    return NewCaseKey(CaseCipher(case_id, dek), kek_id, wrapped, dek, payload, lock_kek_id, lock_wrapped, for_reporter)


# --- the case's lock --------------------------------------------------------------------------------------
# A random secret per case, wrapped by the ring: by a master key while the case is open, by its
# retention day's key once it is closed (`keep_until`). A wrap of the case's key (or of its
# safeguarding-only key) to a person, the escrow or the receipt holds the key XOR a mask derived
# from the lock: a person's private key opens the wrap, the ring opens the lock, and both are
# needed. `purge` destroys the retention day, so a copy of the database taken before it, with
# anyone's private key or the escrow shares, no longer opens the erased case. A case made before
# locks has none (NULL) and its wraps hold the key itself, until `seal-cases` gives it one (`give_lock`).

LOCK_COLUMN = "lock"


def _masked(lock: bytes, case_id: uuid.UUID, key: bytes, part: str) -> bytes:
    """`key` XOR the lock's mask for this case and part (its own inverse)."""
    mask = HKDF(algorithm=hashes.SHA256(), length=len(key), salt=None,
                info=b"safeshare:case-lock:v1:" + case_id.bytes + part.encode()).derive(lock)
    return (int.from_bytes(key, "big") ^ int.from_bytes(mask, "big")).to_bytes(len(key), "big")


def _lock(ring: KeyRing, row: CaseKey) -> bytes | None:
    """The case's lock, or None for a case from before locks. Shredded once its retention day is destroyed."""
    if row.lock_wrapped is None or row.lock_kek_id is None:
        return None
    return unwrap_data_key(ring, row.case_id, row.lock_kek_id, row.lock_wrapped, column=LOCK_COLUMN)


def _through_lock(ring: KeyRing, row: CaseKey, key: bytes, part: str = CASE_PART) -> bytes:
    lock = _lock(ring, row)
    return key if lock is None else _masked(lock, row.case_id, key, part)


def for_people(session: Session, ring: KeyRing, case_id: uuid.UUID, key: bytes, part: str = CASE_PART) -> bytes:
    """What a new wrap of this case's key (`part`) to a person or the escrow holds, given the key itself."""
    row = session.get(CaseKey, case_id)
    return key if row is None else _through_lock(ring, row, key, part)


def key_insert(*, case_id: Any = None, source: Any = None) -> Any:
    """INSERT INTO case_keys; with `source` (a CTE returning the case's `id`), one statement writes
    the case and its key (app.cases.intake).
    """
    table = table_of(CaseKey)
    kek_id = bindparam("kek_id", type_=table.c.kek_id.type)
    wrapped_key = bindparam("wrapped_key", type_=table.c.wrapped_key.type)
    reporter = bindparam("reporter_wrapped", type_=table.c.reporter_wrapped.type)
    lock_kek_id = bindparam("lock_kek_id", type_=table.c.lock_kek_id.type)
    lock_wrapped = bindparam("lock_wrapped", type_=table.c.lock_wrapped.type)
    if source is not None:
        return insert(table).from_select(
            ["case_id", "kek_id", "wrapped_key", "reporter_wrapped", "lock_kek_id", "lock_wrapped"],
            select(source.c.id, kek_id, wrapped_key, reporter, lock_kek_id, lock_wrapped))
    case_id = case_id if case_id is not None else bindparam("new_case_id", type_=table.c.case_id.type)
    return insert(table).values(case_id=case_id, kek_id=kek_id, wrapped_key=wrapped_key, reporter_wrapped=reporter,
                                lock_kek_id=lock_kek_id, lock_wrapped=lock_wrapped)


_OPENED = "safeshare.opened_case_keys"


def case_cipher(session: Session, ring: KeyRing, case_id: uuid.UUID) -> CaseCipher:
    """The case's cipher, its key unwrapped once per transaction (a case page reads six parts)."""
    opened: dict[uuid.UUID, CaseCipher] = transaction_info(session).setdefault(_OPENED, {})
    cipher = opened.get(case_id)
    if cipher is not None:
        return cipher
    row = session.get(CaseKey, case_id)
    if row is None or row.destroyed_at is not None or (row.wrapped_key is None and row.kek_id != PEOPLE):
        raise Shredded(str(case_id))
    cipher = opened[case_id] = CaseCipher(case_id, _open(session, ring, row))
    return cipher


def _open(session: Session, ring: KeyRing, row: CaseKey) -> bytes:
    """The data key by its master wrap while one exists, else through the held person's wrap."""
    if row.wrapped_key is not None:
        return unwrap_data_key(ring, row.case_id, row.kek_id, row.wrapped_key)
    held = holders.held_case_key(session, row.case_id)  # the reporter's session: the key itself
    if held is not None:
        return held
    payload = holders.open_wrap(session, row.case_id)
    if payload is None:
        raise NoCaseKey(str(row.case_id))
    return _through_lock(ring, row, payload)


def data_key(session: Session, ring: KeyRing, case_id: uuid.UUID) -> bytes:
    """The case's data key itself, to wrap it to someone (a grant, an assignment, `seal-cases`)."""
    row = session.get(CaseKey, case_id)
    if row is None or row.destroyed_at is not None or (row.wrapped_key is None and row.kek_id != PEOPLE):
        raise Shredded(str(case_id))
    return _open(session, ring, row)


def reporter_key(session: Session, ring: KeyRing, case_id: uuid.UUID, normalised_receipt: str) -> bytes | None:
    """The case's data key for its reporter, opened with the receipt (an older case gets its receipt
    wrap now, and a receipt wrap left unmasked when the case got its lock is re-made masked)."""
    row = session.get(CaseKey, case_id)
    if row is None or row.destroyed_at is not None:
        return None
    try:
        if row.reporter_wrapped is not None:
            payload = people.unwrap_with_receipt(normalised_receipt, case_id, row.reporter_wrapped)
            if payload is None:
                return None
            if not row.reporter_unmasked:
                return _through_lock(ring, row, payload)
            dek, payload = payload, _through_lock(ring, row, payload)  # Shredded once its retention day is gone
            row.reporter_unmasked = False
        elif row.wrapped_key is None:
            return None
        else:
            dek = unwrap_data_key(ring, case_id, row.kek_id, row.wrapped_key)
            payload = _through_lock(ring, row, dek)
    except Shredded:
        return None
    row.reporter_wrapped = people.wrap_to_receipt(normalised_receipt, case_id, payload)
    session.flush()
    return dek


# --- the case's safeguarding-only key ---------------------------------------------------------------
# A second data key per case (issue 27) for what only the safeguarding team reads: safeguarding-only
# notes and their files. Made at the case's first such note, wrapped to the safeguarding users who
# hold the case's key (never to its HR contact, never under the receipt) and, while the case key
# itself has a master wrap (before `seal-cases`), by the same master key.

SG_COLUMN = "sg_wrapped_key"
_OPENED_SG = "safeshare.opened_sg_keys"


def has_sg_key(session: Session, case_id: uuid.UUID) -> bool:
    return session.scalar(select(CaseKey.sg_created_at).where(CaseKey.case_id == case_id)) is not None


def sg_cipher(session: Session, ring: KeyRing, case_id: uuid.UUID) -> CaseCipher:
    """The cipher of the case's safeguarding-only key, once per transaction (an HR contact never holds it)."""
    opened: dict[uuid.UUID, CaseCipher] = transaction_info(session).setdefault(_OPENED_SG, {})
    cipher = opened.get(case_id)
    if cipher is not None:
        return cipher
    row = session.get(CaseKey, case_id)
    if row is None or row.destroyed_at is not None:
        raise Shredded(str(case_id))
    if row.sg_created_at is None:
        raise NoCaseKey(str(case_id))
    if row.sg_wrapped_key is not None:
        dek = unwrap_data_key(ring, case_id, row.kek_id, row.sg_wrapped_key, column=SG_COLUMN)
    else:
        found = holders.open_wrap(session, case_id, SAFEGUARDING_PART)
        if found is None:
            raise NoCaseKey(str(case_id))
        dek = _through_lock(ring, row, found, SAFEGUARDING_PART)
    cipher = opened[case_id] = CaseCipher(case_id, dek)
    return cipher


def new_sg_key(session: Session, ring: KeyRing, case_id: uuid.UUID,
               recipients: list[tuple[uuid.UUID, bytes]]) -> CaseCipher:
    """The case's safeguarding-only key, made now if it has none and wrapped to `recipients`.

    The key row is locked first: two first notes at once make one key.
    """
    row = session.scalars(dialect.for_update(select(CaseKey).where(CaseKey.case_id == case_id), session)
                          .execution_options(populate_existing=True)).first()
    if row is None or row.destroyed_at is not None:
        raise Shredded(str(case_id))
    if row.sg_created_at is not None:
        return sg_cipher(session, ring, case_id)
    dek = new_data_key()
    if row.wrapped_key is not None:
        _, row.sg_wrapped_key = wrap_data_key(ring, case_id, dek, under=(row.kek_id, ring.kek(row.kek_id)),
                                              column=SG_COLUMN)
    row.sg_created_at = clock.now()
    payload = _through_lock(ring, row, dek, SAFEGUARDING_PART)
    holders.insert_wraps(session, holders.wrap_rows(session, case_id, payload, recipients, SAFEGUARDING_PART))
    holders.escrow_wrap(session, case_id=case_id, dek=payload, part=SAFEGUARDING_PART)  # when escrow is on
    session.flush()
    cipher = transaction_info(session).setdefault(_OPENED_SG, {})[case_id] = CaseCipher(case_id, dek)
    return cipher


def sg_ciphers(session: Session, ring: KeyRing, *, within: Select[Any]) -> dict[uuid.UUID, CaseCipher]:
    """The safeguarding-only ciphers this session opens of the cases `within`, in two queries."""
    found = {case_id: CaseCipher(case_id, dek)
             for case_id, dek in _unlocked(session, ring, holders.open_wraps(session, within, SAFEGUARDING_PART),
                                           SAFEGUARDING_PART).items()}
    rows = session.execute(select(CaseKey.case_id, CaseKey.kek_id, CaseKey.sg_wrapped_key)
                           .where(CaseKey.case_id.in_(within), CaseKey.sg_wrapped_key.is_not(None)))
    for case_id, kek_id, wrapped in rows:
        assert wrapped is not None
        try:
            found[case_id] = CaseCipher(case_id, unwrap_data_key(ring, case_id, kek_id, wrapped, column=SG_COLUMN))
        except Shredded:
            continue
    return found


def has_key(session: Session, ring: KeyRing, case_id: uuid.UUID) -> bool:
    """Whether this session can open the case's key (master wrap, or the held person's wrap)."""
    try:
        case_cipher(session, ring, case_id)
    except (NoCaseKey, Shredded):
        return False
    return True


def seal_all(session: Session, ring: KeyRing, *,
             recipients: Callable[[uuid.UUID], list[tuple[uuid.UUID, bytes, bool]]],
             batch: int = 200, done: Callable[[int], None] | None = None) -> int:
    """`seal-cases`: wrap every master-wrapped case key to its recipients and delete the master wrap.

    Safe to re-run. Safeguarding-only keys go to safeguarding recipients only.
    """
    moved, escrow = 0, holders.escrow_public(session)
    while True:
        rows = session.scalars(select(CaseKey).where(CaseKey.wrapped_key.is_not(None)).order_by(CaseKey.case_id)
                               .limit(batch)).all()
        if not rows:
            return moved
        for row in rows:
            assert row.wrapped_key is not None
            try:
                dek = unwrap_data_key(ring, row.case_id, row.kek_id, row.wrapped_key)
            except Shredded:
                dek = None
            sg = None
            if row.sg_wrapped_key is not None:
                try:
                    sg = unwrap_data_key(ring, row.case_id, row.kek_id, row.sg_wrapped_key, column=SG_COLUMN)
                except Shredded:
                    sg = None
            if dek is not None:
                try:
                    dek = _through_lock(ring, row, dek)
                    sg = None if sg is None else _through_lock(ring, row, sg, SAFEGUARDING_PART)
                except Shredded:
                    dek = sg = None
            if dek is not None:
                for user_id, public, safeguarding in recipients(row.case_id):
                    holders.wrap_to_person(session, case_id=row.case_id, user_id=user_id, public=public, dek=dek)
                    if sg is not None and safeguarding:
                        holders.wrap_to_person(session, case_id=row.case_id, user_id=user_id, public=public, dek=sg,
                                               part=SAFEGUARDING_PART)
                holders.escrow_wrap(session, case_id=row.case_id, dek=dek, public=escrow)
                if sg is not None:
                    holders.escrow_wrap(session, case_id=row.case_id, dek=sg, public=escrow, part=SAFEGUARDING_PART)
            row.kek_id, row.wrapped_key, row.sg_wrapped_key = PEOPLE, None, None
            transaction_info(session).get(_OPENED, {}).pop(row.case_id, None)
            transaction_info(session).get(_OPENED_SG, {}).pop(row.case_id, None)
            moved += 1
        session.flush()
        if done is not None:
            done(len(rows))


def give_lock(session: Session, ring: KeyRing, row: CaseKey, *, retain_until: date | None,
              publics: dict[bytes, bytes]) -> bool:
    """`seal-cases`: a case from before locks gets one, under `retain_until`'s retention key for a
    closed case (the active master key otherwise, or when the ring has no key for that day), and
    every wrap of its keys to a person or the escrow key is re-made masked by it, in the caller's
    transaction. The receipt wrap cannot be re-made (only the reporter holds the receipt): it is
    marked `reporter_unmasked` until the reporter's next visit (`reporter_key`).

    False, changing nothing, when the row has a lock or is shredded, or when this session does not
    open every part its wraps hold (the master wraps, or the held person's wraps).
    """
    if (row.lock_wrapped is not None or row.destroyed_at is not None
            or (row.wrapped_key is None and row.kek_id != PEOPLE)):
        return False
    try:
        dek = _open(session, ring, row)  # no lock yet: what a wrap holds is the key itself
        sg = _older_sg_key(session, ring, row)
    except (NoCaseKey, Shredded, DecryptionError):
        return False
    lock = new_data_key()
    payloads = {CASE_PART: _masked(lock, row.case_id, dek, CASE_PART)}
    if sg is not None:
        payloads[SAFEGUARDING_PART] = _masked(lock, row.case_id, sg, SAFEGUARDING_PART)
    if not holders.rewrap_case(session, row.case_id, payloads, publics):
        return False
    under = ring.retention_kek(retain_until) if retain_until is not None else None
    row.lock_kek_id, row.lock_wrapped = wrap_data_key(ring, row.case_id, lock, under=under, column=LOCK_COLUMN)
    row.reporter_unmasked = row.reporter_wrapped is not None
    return True


def _older_sg_key(session: Session, ring: KeyRing, row: CaseKey) -> bytes | None:
    """The safeguarding-only key of a case without a lock, if it has one this session opens."""
    if row.sg_created_at is None:
        return None
    if row.sg_wrapped_key is not None:
        return unwrap_data_key(ring, row.case_id, row.kek_id, row.sg_wrapped_key, column=SG_COLUMN)
    return holders.open_wrap(session, row.case_id, SAFEGUARDING_PART)


def case_ciphers(session: Session, ring: KeyRing, *, within: Select[Any]) -> dict[uuid.UUID, CaseCipher]:
    """The ciphers of the cases `within`, in one query; not kept in the session (a search opens thousands)."""
    found: dict[uuid.UUID, CaseCipher] = {
        case_id: CaseCipher(case_id, dek)
        for case_id, dek in _unlocked(session, ring, holders.open_wraps(session, within), CASE_PART).items()}
    rows = session.execute(
        select(CaseKey.case_id, CaseKey.kek_id, CaseKey.wrapped_key)
        .where(CaseKey.case_id.in_(within), CaseKey.wrapped_key.is_not(None))
    )
    for case_id, kek_id, wrapped in rows:
        assert wrapped is not None
        try:
            found[case_id] = CaseCipher(case_id, unwrap_data_key(ring, case_id, kek_id, wrapped))
        except Shredded:
            continue
    return found


def _unlocked(session: Session, ring: KeyRing, payloads: dict[uuid.UUID, bytes], part: str) -> dict[uuid.UUID, bytes]:
    """Many cases' keys from what their wraps held, through each case's lock (one query); a case whose
    lock's retention day is destroyed is left out."""
    if not payloads:
        return {}
    rows = {r.case_id: r for r in session.scalars(select(CaseKey).where(CaseKey.case_id.in_(list(payloads))))}
    found: dict[uuid.UUID, bytes] = {}
    for case_id, payload in payloads.items():
        row = rows.get(case_id)
        if row is None:
            continue
        try:
            found[case_id] = _through_lock(ring, row, payload, part)
        except Shredded:
            continue
    return found


def shred(session: Session, case_id: uuid.UUID) -> None:
    """Destroy the case's data key: every ciphertext under it becomes unrecoverable."""
    row = session.get(CaseKey, case_id)
    holders.drop_case_wraps(session, case_id)
    if row is not None and row.destroyed_at is None:
        row.wrapped_key = None
        row.reporter_wrapped = None
        row.sg_wrapped_key = None
        row.lock_wrapped = None
        row.reporter_unmasked = False
        transaction_info(session).get(_OPENED, {}).pop(case_id, None)
        transaction_info(session).get(_OPENED_SG, {}).pop(case_id, None)
        row.destroyed_at = clock.now()


def keep_until(session: Session, ring: KeyRing, case_id: uuid.UUID, day: date) -> bool:
    """Move a closed case's data key under its last day's retention key, which purge destroys later.

    False (the key stays) when the ring has no key for that day yet.
    """
    row = session.get(CaseKey, case_id)
    under = ring.retention_kek(day)
    if row is None or under is None or (row.wrapped_key is None and row.lock_wrapped is None):
        return False
    if row.wrapped_key is not None and row.kek_id != under[0]:
        _rewrap(ring, row, under)
    if row.lock_wrapped is not None and row.lock_kek_id != under[0]:
        _rewrap_lock(ring, row, under)
    return True


def _rewrap_lock(ring: KeyRing, row: CaseKey, under: tuple[str, bytes] | None = None) -> None:
    lock = _lock(ring, row)
    assert lock is not None
    row.lock_kek_id, row.lock_wrapped = wrap_data_key(ring, row.case_id, lock, under=under, column=LOCK_COLUMN)


def _rewrap(ring: KeyRing, row: CaseKey, under: tuple[str, bytes] | None = None) -> None:
    """The row's master wraps under `under`, or the active master key."""
    assert row.wrapped_key is not None
    dek = unwrap_data_key(ring, row.case_id, row.kek_id, row.wrapped_key)
    sg = None if row.sg_wrapped_key is None else unwrap_data_key(ring, row.case_id, row.kek_id, row.sg_wrapped_key,
                                                                 column=SG_COLUMN)
    row.kek_id, row.wrapped_key = wrap_data_key(ring, row.case_id, dek, under=under)
    if sg is not None:
        _, row.sg_wrapped_key = wrap_data_key(ring, row.case_id, sg, under=under, column=SG_COLUMN)


def keys_in_use(session: Session) -> dict[str, int]:
    """How many live (not shredded) data keys or case locks each master or retention key wraps."""
    used = union(select(CaseKey.kek_id.label("kek_id"), CaseKey.case_id).where(CaseKey.wrapped_key.is_not(None)),
                 select(CaseKey.lock_kek_id.label("kek_id"), CaseKey.case_id).where(CaseKey.lock_wrapped.is_not(None))
                 ).subquery()  # a case whose key and lock share a master key counts once
    rows = session.execute(select(used.c.kek_id, func.count()).group_by(used.c.kek_id)).all()
    return {kek_id: n for kek_id, n in rows if kek_id is not None}


def missing_keys(session: Session, ring: KeyRing | None) -> dict[str, int]:
    """The wrapping keys the live data keys need that `ring` lacks, with counts (purged days excluded)."""
    return {k: n for k, n in keys_in_use(session).items() if ring is None or ring.status(k) == "missing"}


def first_unreadable(session: Session, ring: KeyRing, *, batch: int = 500,
                     done: Callable[[int], None] | None = None) -> uuid.UUID | None:
    """The first case whose live data key does not open with `ring`, or None."""
    after: uuid.UUID | None = None
    while True:
        query = (select(CaseKey).where((CaseKey.wrapped_key.is_not(None)) | (CaseKey.lock_wrapped.is_not(None)))
                 .order_by(CaseKey.case_id).limit(batch))
        if after is not None:
            query = query.where(CaseKey.case_id > after)
        rows = session.scalars(query).all()
        if not rows:
            return None
        for row in rows:
            try:
                _lock(ring, row)
                if row.wrapped_key is not None:
                    unwrap_data_key(ring, row.case_id, row.kek_id, row.wrapped_key)
                if row.sg_wrapped_key is not None:
                    unwrap_data_key(ring, row.case_id, row.kek_id, row.sg_wrapped_key, column=SG_COLUMN)
            except Shredded:
                continue  # a retention day destroyed on purpose: nothing to re-wrap
            except Exception:  # noqa: BLE001 - any failure to open it is the answer
                return row.case_id
        if done is not None:
            done(len(rows))
        after = rows[-1].case_id


def rewrap_all(session: Session, ring: KeyRing, *, batch: int = 500, done: Callable[[int], None] | None = None) -> int:
    """Re-wrap every live data key under the active master key; how many moved.

    Safe to re-run after a crash: old and new keys both stay in the ring. Retention-day keys stay put.
    """
    active_id, _ = ring.active_kek
    moved = 0
    while True:
        rows = session.scalars(
            select(CaseKey)
            .where(CaseKey.kek_id != active_id, CaseKey.wrapped_key.is_not(None),
                   CaseKey.kek_id.not_like(RETAIN_PREFIX + "%"))
            .order_by(CaseKey.case_id)
            .limit(batch)
        ).all()
        if not rows:
            break
        for row in rows:
            _rewrap(ring, row)
            moved += 1
        session.flush()
        if done is not None:
            done(len(rows))
    # The cases' locks under a master key (open cases) move too; closed cases' stay on their day.
    while True:
        locks = session.scalars(
            select(CaseKey)
            .where(CaseKey.lock_kek_id != active_id, CaseKey.lock_wrapped.is_not(None),
                   CaseKey.lock_kek_id.not_like(RETAIN_PREFIX + "%"))
            .order_by(CaseKey.case_id).limit(batch)
        ).all()
        if not locks:
            return moved
        for row in locks:
            _rewrap_lock(ring, row)
        session.flush()


def rewrap_retired_chains(session: Session, ring: KeyRing, *, batch: int = 500,
                          done: Callable[[int], None] | None = None) -> int:
    """`rotate-key`: closed cases' keys and locks under a day key of a retention chain the ring has
    retired moved under the same day's key of its active chain; how many cases. A day already
    purged is only renamed (what it wrapped is gone under either chain)."""
    active = ring.retention
    if active is None:
        return 0
    moved, after = 0, None
    retired = (CaseKey.kek_id.like(RETAIN_PREFIX + "%") & CaseKey.wrapped_key.is_not(None)) | (
        CaseKey.lock_kek_id.like(RETAIN_PREFIX + "%") & CaseKey.lock_wrapped.is_not(None))
    while True:
        query = select(CaseKey).where(retired).order_by(CaseKey.case_id).limit(batch)
        rows = session.scalars(query if after is None else query.where(CaseKey.case_id > after)).all()
        if not rows:
            return moved
        for row in rows:
            moved += _to_active_chain(ring, row)
        session.flush()
        if done is not None:
            done(len(rows))
        after = rows[-1].case_id


def _to_active_chain(ring: KeyRing, row: CaseKey) -> int:
    chain = ring.retention
    assert chain is not None
    changed = 0
    for id_column, wrapped in (("kek_id", row.wrapped_key), ("lock_kek_id", row.lock_wrapped)):
        kek_id = getattr(row, id_column)
        day = retention_day(kek_id) if wrapped is not None and kek_id is not None else None
        if day is None or kek_id == chain.kek_id(day):
            continue
        if ring.status(kek_id) == "destroyed" or day < chain.start:
            setattr(row, id_column, chain.kek_id(day))
        elif id_column == "kek_id":
            _rewrap(ring, row, (chain.kek_id(day), chain.key(day)))
        else:
            _rewrap_lock(ring, row, (chain.kek_id(day), chain.key(day)))
        changed = 1
    return changed


def chains_in_use(session: Session) -> set[str | None]:
    """The retention chains whose day keys live rows name (None: a ring's first chain)."""
    return {retention_chain(k) for k in keys_in_use(session) if retention_day(k) is not None}


# --- which ring the database belongs to ---------------------------------------------------------------

RING_ROW = 1


def recorded_ring_id(session: Session) -> str | None:
    return session.scalar(select(RingIdentity.ring_id).where(RingIdentity.id == RING_ROW))


def record_ring_id(session: Session, ring_id: str) -> None:
    """Record the ring this database belongs to (once: a recorded id never changes)."""
    if recorded_ring_id(session) is None:
        session.add(RingIdentity(id=RING_ROW, ring_id=ring_id, recorded_at=clock.now()))
        session.flush()


def unopenable_keys(session: Session, ring: KeyRing) -> dict[str, int]:
    """The key ids in use whose first live data key does not open with `ring` (one unwrap per id)."""
    found: dict[str, int] = {}
    for kek_id, count in keys_in_use(session).items():
        row = session.scalars(select(CaseKey).where(CaseKey.kek_id == kek_id, CaseKey.wrapped_key.is_not(None))
                              .order_by(CaseKey.case_id).limit(1)).first()
        if row is None or row.wrapped_key is None:
            continue
        try:
            unwrap_data_key(ring, row.case_id, row.kek_id, row.wrapped_key)
        except Shredded:
            continue
        except Exception:  # noqa: BLE001 - any failure to open it is the answer
            found[kek_id] = count
    return found


def for_revisions(ring: KeyRing) -> dict[str, object]:
    """What a revision that seals existing rows needs from the ring (handed in by app.migrate)."""
    return {"exclusion_key": blind.exclusion_key(ring), "case_cipher": migration_cipher(ring)}


def migration_cipher(ring: KeyRing) -> Callable[[Any, uuid.UUID], CaseCipher | None]:
    """A case's cipher on a migration's connection (revisions don't import the app), or None if shredded."""
    table = table_of(CaseKey)

    def cipher(connection: Any, case_id: uuid.UUID) -> CaseCipher | None:
        row = connection.execute(select(table.c.kek_id, table.c.wrapped_key).where(table.c.case_id == case_id)).first()
        if row is None or row.wrapped_key is None:
            return None
        try:
            return CaseCipher(case_id, unwrap_data_key(ring, case_id, row.kek_id, row.wrapped_key))
        except Shredded:
            return None

    return cipher
