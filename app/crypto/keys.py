"""Per-case data keys in the database: create, open, re-wrap (rotation) and destroy (shredding).

The `case_keys` table is written here and nowhere else. Intake, which must store a case and its
key in one statement, takes the key's INSERT from `key_insert`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, bindparam, func, insert, select
from sqlalchemy.orm import Session

from app import clock, dialect
from app.crypto import blind, holders, people
from app.crypto.envelope import (
    CaseCipher,
    NoCaseKey,
    Shredded,
    new_data_key,
    unwrap_data_key,
    wrap_data_key,
)
from app.crypto.keyring import RETAIN_PREFIX, KeyRing
from app.crypto.models import CaseKey, RingIdentity
from app.crypto.people import SAFEGUARDING_PART
from app.db import table_of, transaction_info


@dataclass(frozen=True)
class NewCaseKey:
    """A fresh data key for a new case: the cipher to seal its fields, and the key wrapped for storage."""

    cipher: CaseCipher
    kek_id: str
    wrapped: bytes | None
    dek: bytes  # to wrap it to people too (app.crypto.holders)
    reporter_wrapped: bytes | None = None

    def people_only(self) -> NewCaseKey:
        """The same key with no master wrap (a sealed deployment: only people's wraps open it)."""
        return NewCaseKey(self.cipher, PEOPLE, None, self.dek, self.reporter_wrapped)

    @property
    def params(self) -> dict[str, Any]:
        """The bound parameters of `key_insert`."""
        return {"kek_id": self.kek_id, "wrapped_key": self.wrapped, "reporter_wrapped": self.reporter_wrapped}


# The kek_id of a case key no master key wraps any more (`seal-cases`): only people's wraps open it.
PEOPLE = "people"


def new_case_key(ring: KeyRing, case_id: uuid.UUID, *, master: bool = True, receipt: str | None = None) -> NewCaseKey:
    """A fresh data key; wrapped by the ring's active master key unless the deployment is sealed
    (`master` False: its only wraps are to people, app.crypto.holders), and under the case's
    receipt (`receipt`, normalised) for the reporter."""
    dek = new_data_key()
    for_reporter = people.wrap_to_receipt(receipt, case_id, dek) if receipt is not None else None
    if not master:
        return NewCaseKey(CaseCipher(case_id, dek), PEOPLE, None, dek, for_reporter)
    kek_id, wrapped = wrap_data_key(ring, case_id, dek)
    return NewCaseKey(CaseCipher(case_id, dek), kek_id, wrapped, dek, for_reporter)


def key_insert(*, case_id: Any = None, source: Any = None) -> Any:
    """INSERT INTO case_keys with `NewCaseKey.params` bound.

    `case_id` is a bound parameter named `new_case_id` by default; with `source` (a CTE that
    returns the new case's `id`), the key takes its case id from there, so that one statement
    can write the case and its key (see app.cases.intake).
    """
    table = table_of(CaseKey)
    kek_id = bindparam("kek_id", type_=table.c.kek_id.type)
    wrapped_key = bindparam("wrapped_key", type_=table.c.wrapped_key.type)
    reporter = bindparam("reporter_wrapped", type_=table.c.reporter_wrapped.type)
    if source is not None:
        return insert(table).from_select(["case_id", "kek_id", "wrapped_key", "reporter_wrapped"],
                                         select(source.c.id, kek_id, wrapped_key, reporter))
    case_id = case_id if case_id is not None else bindparam("new_case_id", type_=table.c.case_id.type)
    return insert(table).values(case_id=case_id, kek_id=kek_id, wrapped_key=wrapped_key, reporter_wrapped=reporter)


_OPENED = "safeshare.opened_case_keys"


def case_cipher(session: Session, ring: KeyRing, case_id: uuid.UUID) -> CaseCipher:
    """The case's cipher, its data key unwrapped once per transaction (a case page reads six parts
    of one case): kept in the session until the transaction ends, and dropped when shredded."""
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
    """The data key: by the master key while one wraps it (before `seal-cases`), else through the
    wrap of the person this session holds the key of (NoCaseKey when there is none)."""
    if row.wrapped_key is not None:
        return unwrap_data_key(ring, row.case_id, row.kek_id, row.wrapped_key)
    dek = holders.held_case_key(session, row.case_id) or holders.open_wrap(session, row.case_id)
    if dek is None:
        raise NoCaseKey(str(row.case_id))
    return dek


def data_key(session: Session, ring: KeyRing, case_id: uuid.UUID) -> bytes:
    """The case's data key itself, to wrap it to someone (a grant, an assignment, `seal-cases`)."""
    row = session.get(CaseKey, case_id)
    if row is None or row.destroyed_at is not None or (row.wrapped_key is None and row.kek_id != PEOPLE):
        raise Shredded(str(case_id))
    return _open(session, ring, row)


def reporter_key(session: Session, ring: KeyRing, case_id: uuid.UUID, normalised_receipt: str) -> bytes | None:
    """The case's data key for its reporter, opened with the receipt they typed. A case from before
    issue 27 gets its receipt wrap now, while the master key still wraps it (before `seal-cases`)."""
    row = session.get(CaseKey, case_id)
    if row is None or row.destroyed_at is not None:
        return None
    if row.reporter_wrapped is not None:
        return people.unwrap_with_receipt(normalised_receipt, case_id, row.reporter_wrapped)
    if row.wrapped_key is None:
        return None
    try:
        dek = unwrap_data_key(ring, case_id, row.kek_id, row.wrapped_key)
    except Shredded:
        return None
    row.reporter_wrapped = people.wrap_to_receipt(normalised_receipt, case_id, dek)
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
    """The cipher of the case's safeguarding-only key, opened once per transaction: by its master
    wrap while it has one, else through the held person's wrap. NoCaseKey when the case has no such
    key yet or this session holds none (an HR contact never does); Shredded once the case is erased."""
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
        dek = found
    cipher = opened[case_id] = CaseCipher(case_id, dek)
    return cipher


def new_sg_key(session: Session, ring: KeyRing, case_id: uuid.UUID,
               recipients: list[tuple[uuid.UUID, bytes]]) -> CaseCipher:
    """The case's safeguarding-only key, made now if it has none (the key row locked first: two
    first notes at once make one key): wrapped to `recipients` (user id, public key: the
    safeguarding users who hold the case's key) and, while the case key has a master wrap, by the
    same master key. Returns its cipher."""
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
    holders.insert_wraps(session, holders.wrap_rows(session, case_id, dek, recipients, SAFEGUARDING_PART))
    holders.escrow_wrap(session, case_id=case_id, dek=dek, part=SAFEGUARDING_PART)  # when escrow is on
    session.flush()
    cipher = transaction_info(session).setdefault(_OPENED_SG, {})[case_id] = CaseCipher(case_id, dek)
    return cipher


def sg_ciphers(session: Session, ring: KeyRing, *, within: Select[Any]) -> dict[uuid.UUID, CaseCipher]:
    """The safeguarding-only ciphers this session opens of the cases `within` (a SELECT of case
    ids), in two queries (a search)."""
    found = {case_id: CaseCipher(case_id, dek)
             for case_id, dek in holders.open_wraps(session, within, SAFEGUARDING_PART).items()}
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
    """`seal-cases`: every live case key still wrapped by a master key is wrapped to each of the
    case's recipients (user id, public key, whether a safeguarding user) and its master wrap
    deleted; its safeguarding-only key likewise, to the safeguarding recipients only. Returns how
    many moved. Safe to re-run: what moved has no master wrap left. With escrow on, each key is
    wrapped to the escrow key too."""
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


def case_ciphers(session: Session, ring: KeyRing, *, within: Select[Any]) -> dict[uuid.UUID, CaseCipher]:
    """The ciphers of many cases in one query: those whose ids `within` (a SELECT of case ids)
    gives; a case whose key was destroyed is left out. Not kept in the session (a search opens
    thousands)."""
    found: dict[uuid.UUID, CaseCipher] = {
        case_id: CaseCipher(case_id, dek) for case_id, dek in holders.open_wraps(session, within).items()}
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


def shred(session: Session, case_id: uuid.UUID) -> None:
    """Destroy the case's data key: every ciphertext under it becomes unrecoverable."""
    row = session.get(CaseKey, case_id)
    holders.drop_case_wraps(session, case_id)
    if row is not None and row.destroyed_at is None:
        row.wrapped_key = None
        row.reporter_wrapped = None
        row.sg_wrapped_key = None
        transaction_info(session).get(_OPENED, {}).pop(case_id, None)
        transaction_info(session).get(_OPENED_SG, {}).pop(case_id, None)
        row.destroyed_at = clock.now()


def keep_until(session: Session, ring: KeyRing, case_id: uuid.UUID, day: date) -> bool:
    """A closed case's data key moves under the retention key of its last day (`retain-YYYY-MM-DD`),
    which `safeshare purge` destroys once that day has passed: then no copy of the database,
    however old, can open it with the key ring. Returns False (the key stays where it is) when
    the ring has no key for that day yet (see `KeyRing.retention_kek`)."""
    row = session.get(CaseKey, case_id)
    under = ring.retention_kek(day)
    if row is None or row.wrapped_key is None or under is None:
        return False
    if row.kek_id != under[0]:
        _rewrap(ring, row, under)
    return True


def _rewrap(ring: KeyRing, row: CaseKey, under: tuple[str, bytes] | None = None) -> None:
    """The row's master wraps (the case key's, and its safeguarding-only key's) under `under`, or
    the active master key."""
    assert row.wrapped_key is not None
    dek = unwrap_data_key(ring, row.case_id, row.kek_id, row.wrapped_key)
    sg = None if row.sg_wrapped_key is None else unwrap_data_key(ring, row.case_id, row.kek_id, row.sg_wrapped_key,
                                                                 column=SG_COLUMN)
    row.kek_id, row.wrapped_key = wrap_data_key(ring, row.case_id, dek, under=under)
    if sg is not None:
        _, row.sg_wrapped_key = wrap_data_key(ring, row.case_id, sg, under=under, column=SG_COLUMN)


def keys_in_use(session: Session) -> dict[str, int]:
    """How many live (not shredded) data keys each master or retention key wraps."""
    rows = session.execute(
        select(CaseKey.kek_id, func.count()).where(CaseKey.wrapped_key.is_not(None)).group_by(CaseKey.kek_id)
    ).all()
    return {kek_id: n for kek_id, n in rows}


def missing_keys(session: Session, ring: KeyRing | None) -> dict[str, int]:
    """The keys the database's live data keys are wrapped with that `ring` lacks (all of them
    when there is no ring), with how many data keys each wraps. A retention day a purge destroyed
    on purpose is not missing: the cases under it were erased."""
    return {k: n for k, n in keys_in_use(session).items() if ring is None or ring.status(k) == "missing"}


def first_unreadable(session: Session, ring: KeyRing, *, batch: int = 500,
                     done: Callable[[int], None] | None = None) -> uuid.UUID | None:
    """The first case whose live data key does not open with `ring` (tampered, moved, or wrapped
    with another ring), or None when every one does. Reads only; `done(n)` after each batch."""
    after: uuid.UUID | None = None
    while True:
        query = select(CaseKey).where(CaseKey.wrapped_key.is_not(None)).order_by(CaseKey.case_id).limit(batch)
        if after is not None:
            query = query.where(CaseKey.case_id > after)
        rows = session.scalars(query).all()
        if not rows:
            return None
        for row in rows:
            assert row.wrapped_key is not None
            try:
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
    """Re-wrap every live data key under the ring's active master key. Returns how many moved
    (`done(n)` after each batch).
    Closed cases' keys, under their retention day's key, stay there (see `keep_until`).

    Safe to re-run after a crash: keys already under the active master key are skipped, and
    both old and new master keys stay in the ring, so every row stays readable throughout.
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
            return moved
        for row in rows:
            _rewrap(ring, row)
            moved += 1
        session.flush()
        if done is not None:
            done(len(rows))


# --- which ring the database belongs to ---------------------------------------------------------------

RING_ROW = 1


def recorded_ring_id(session: Session) -> str | None:
    """The id of the key ring this database belongs to, or None before one was recorded."""
    return session.scalar(select(RingIdentity.ring_id).where(RingIdentity.id == RING_ROW))


def record_ring_id(session: Session, ring_id: str) -> None:
    """Record the ring this database belongs to (once: a recorded id never changes)."""
    if recorded_ring_id(session) is None:
        session.add(RingIdentity(id=RING_ROW, ring_id=ring_id, recorded_at=clock.now()))
        session.flush()


def unopenable_keys(session: Session, ring: KeyRing) -> dict[str, int]:
    """The key ids in use whose first live data key does not open with `ring` (a ring with the
    same key ids but other keys, or a retention chain of another ring), with how many data keys
    each wraps. One unwrap per key id: cheap at start-up."""
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
    """What a revision that seals existing rows needs from the ring (app.migrate hands it in
    through Alembic's config attributes): the exclusions' blind-index key and `migration_cipher`."""
    return {"exclusion_key": blind.exclusion_key(ring), "case_cipher": migration_cipher(ring)}


def migration_cipher(ring: KeyRing) -> Callable[[Any, uuid.UUID], CaseCipher | None]:
    """For a revision that must seal existing clear text under each case's key (a revision does not
    import the application, so `app.migrate` hands it this): the case's cipher on the migration's
    connection, or None when the case's key is destroyed."""
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
