"""Append to and verify the audit trail. Rows are written in the caller's transaction.

Each entry's hash is an HMAC-SHA256, under the audit key (a subkey of the key ring's lookup key),
of the previous entry's hash and the entry's canonical form. `rotate-key` gives the ring a new lookup
key and keeps the old one retired: entries stay MACed under the key they were written with, and the
rotation's own entry (`ROTATED`) marks where the new key starts (`verify`).
Someone who can write to the database but has no key ring cannot compute it, so deleting or
editing an entry and recomputing the chain fails `verify`. Entries written before the HMAC chain
(migration 0009) keep their SHA-256 chain up to `audit_head.legacy_until`, a boundary the
migration sealed with the key (`anchor_mac`), so it cannot be moved either.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache, partial
from typing import Any

from sqlalchemy import LargeBinary, bindparam, event, func, insert, literal, select, true, update
from sqlalchemy.orm import Session

from app import clock, dialect
from app.audit.models import AuditEvent, AuditHead
from app.crypto.keyring import KeyRing
from app.db import (
    AUDIT_KEY,
    PENDING_AUDIT,
    DriverWrite,
    for_driver,
    refuse_unfinished,
    ring_keys,
    table_of,
    transaction_info,
)

GENESIS = b"\x00" * 32
KEY_PURPOSE = "audit-chain"


# The entry `rotate-key` writes, MACed under the new key: from it on, entries are under that key
# (or a newer one); see `verify`.
ROTATED = "keys.rotate"


def chain_key(ring: KeyRing) -> bytes:
    """The audit chain's key: derived from the ring's active lookup key for this purpose alone."""
    return ring.subkey(KEY_PURPOSE)


def chain_keys(ring: KeyRing) -> Callable[[], list[bytes]]:
    """For a sessionmaker: the chain's key under every lookup key of the ring, the active one first,
    read when needed (a running service follows `rotate-key`)."""
    return partial(ring.subkeys, KEY_PURPOSE)


def _keys_of(session: Session) -> list[bytes]:
    keys = ring_keys(session, AUDIT_KEY)
    if not keys:
        raise RuntimeError("the audit chain's key is not available: build the sessionmaker with the key ring's "
                           "audit key (app.db.make_sessionmaker(..., audit_key=audit.chain_keys(ring)))")
    return keys


def _key_of(session: Session) -> bytes:
    """The key new entries are MACed under: the active one."""
    return _keys_of(session)[0]


@cache
def _pads(key: bytes) -> dict[str, bytes]:
    """HMAC-SHA256's inner and outer keys: HMAC(k, m) = sha256(outer || sha256(inner || m)),
    which PostgreSQL computes with its built-in sha256() (see `_advance`)."""
    block = key.ljust(64, b"\x00")
    return {"mac_inner": bytes(b ^ 0x36 for b in block), "mac_outer": bytes(b ^ 0x5C for b in block)}


def anchor_mac(key: bytes, legacy_until: int, legacy_hash: bytes) -> bytes:
    """The seal on the boundary between the SHA-256 entries of before migration 0009 and the HMAC
    chain (the same formula is in that migration)."""
    return hmac.new(key, b"safeshare:audit:anchor:" + str(legacy_until).encode() + b":" + legacy_hash,
                    hashlib.sha256).digest()


@dataclass(frozen=True)
class Actor:
    """Who acts: a staff user, the reporter of a case, or the system (CLI jobs)."""

    label: str
    user_id: uuid.UUID | None = None

    @classmethod
    def system(cls, job: str) -> Actor:
        return cls(label=f"system:{job}")


REPORTER = Actor(label="reporter")


@dataclass(frozen=True)
class Entry:
    """An entry waiting for its transaction's commit, where it joins the chain."""

    at: datetime
    actor_id: uuid.UUID | None
    actor: str
    action: str
    case_id: uuid.UUID | None
    target: str | None


def _payload(ev: AuditEvent | Entry) -> bytes:
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


def _digest(key: bytes | None, prev: bytes, ev: AuditEvent | Entry) -> bytes:
    """The entry's hash: HMAC under the audit key, or (key None) the SHA-256 of legacy entries."""
    if key is None:
        return hashlib.sha256(prev + _payload(ev)).digest()
    return hmac.new(key, prev + _payload(ev), hashlib.sha256).digest()


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
    of the request. A transaction that rolls back leaves no entry (`app.db.transaction_info`).
    """
    transaction_info(session).setdefault(PENDING_AUDIT, []).append(entry(actor, action, case_id=case_id, target=target))


def entry(actor: Actor, action: str, *, case_id: uuid.UUID | None = None, target: str | None = None) -> Entry:
    """An entry stamped now, not yet chained. The reporter's activity is stamped to the minute
    only (seconds and below cut): the trail says that a reporter acted, not exactly when."""
    at = clock.now()
    if actor.user_id is None and actor.label == REPORTER.label:
        at = at.replace(second=0, microsecond=0)
    return Entry(at=at, actor_id=actor.user_id, actor=actor.label, action=action, case_id=case_id,
                  target=target)


@event.listens_for(Session, "before_commit")
def _chain_pending(session: Session) -> None:
    """Chain and insert the transaction's entries, last thing before COMMIT.

    The one global `Session` listener of the service (docs/architecture.md): every transaction
    that commits, on whatever path, must chain its entries, or they would be lost. It first
    refuses a commit that `app.db.refuse_unfinished` finds unfinished.

    Each entry advances the head row and is inserted with the head's previous and new hash.
    The head row's lock, taken by the first entry, is held until the COMMIT that follows at
    once: one writer at a time extends the chain. One statement per entry on both databases
    (see `_append_statement`).
    """
    refuse_unfinished(session)
    if session.get_transaction() is None:
        return
    pending = transaction_info(session).pop(PENDING_AUDIT, None)
    if not pending:
        return
    key = _key_of(session)
    session.flush()  # the action's own rows first, before the head is locked
    one_statement = dialect.writable_ctes(session)
    if one_statement and session.get_nested_transaction() is None:
        # The entries and the COMMIT in one round trip: the head's lock is held for the server's
        # own time (the appends and the commit's WAL flush), never while this process waits for
        # a core or the GIL between a statement's answer and the COMMIT. SQLAlchemy's COMMIT that
        # follows finds the transaction ended and sends nothing.
        conn = session.connection()
        sql, fixed = _checked_append_sql(conn.dialect)
        dialect.then_commit(conn, sql, [{**fixed, **entry_params(ev, key)} for ev in pending])
        return
    if one_statement and len(pending) > 1:
        _append_batch(session, key, pending)
        return
    append = _append_statement(one_statement)
    for ev in pending:
        if session.execute(append, entry_params(ev, key)).first() is None:
            raise RuntimeError("the audit chain's head row is missing")


HEAD_ID = 1


def driver_append(session: Session, actor: Actor, action: str, *, case_id: uuid.UUID | None = None,
                  target: str | None = None) -> DriverWrite:
    """SQLite: one entry's append, ready for `app.db.run_for_driver` in a transaction that already
    holds the write lock (no one else can extend the chain until its COMMIT, so it is chained where
    it runs, not at commit). It returns the entry's id; nothing means the head row is missing."""
    return for_driver(session, _append_statement(False),
                      entry_params(entry(actor, action, case_id=case_id, target=target), _key_of(session)))


def _append_batch(session: Session, key: bytes, pending: list[Entry]) -> None:
    """PostgreSQL, several entries (a page that reads a case's parts writes one for each): the same
    one-statement append for each, sent together as one executemany (psycopg pipelines it: one
    round trip, not one per entry). Each statement still advances the head from its own hash,
    under the row's lock, exactly as one at a time would."""
    result = session.execute(_append_many(), [entry_params(ev, key) for ev in pending])
    count = getattr(result, "rowcount", -1)
    if count >= 0 and count != len(pending):
        raise RuntimeError("the audit chain's head row is missing")


@cache
def _append_many() -> Any:
    return append_from(head_update().cte("head"), returning=False)


@cache
def _checked_append_sql(pg_dialect: Any) -> tuple[str, dict[str, Any]]:
    """PostgreSQL: one entry's append for `_chain_pending`'s single round trip, as SQL text. With no
    row to read back, a missing head row must fail the statement itself: the entry's hashes come
    from the head through an outer join, so without the head they are NULL, which the NOT NULL
    columns refuse (and the COMMIT sent with it is then skipped). Returns the SQL and the values of
    its own fixed parameters."""
    head = head_update().cte("head")
    one = select(literal(1).label("one")).subquery("one")
    stmt = _insert_entry(head.c.prev_hash, head.c.hash, select_from=one.outerjoin(head, true()), returning=False)
    compiled = stmt.compile(dialect=pg_dialect)
    return str(compiled), {name: value for name, value in compiled.params.items() if value is not None}  # the head's id, 1


_EVENT_COLUMNS = ("at", "actor_id", "actor", "action", "case_id", "target")


def entry_params(ev: Entry, key: bytes) -> dict[str, Any]:
    """The bound parameters of one entry: its columns, its canonical payload and the chain's key
    (as HMAC's two pads for PostgreSQL, as itself for SQLite's function)."""
    return {**ev.__dict__, "payload": _payload(ev), "mac_key": key, **_pads(key)}  # _pads: computed once per key


def _advance(prev: Any) -> Any:
    """SQL: HMAC-SHA256(key, prev || payload) from the bound pads, with PostgreSQL's sha256()."""
    inner = func.sha256(bindparam("mac_inner", type_=LargeBinary).op("||")(prev).op("||")(
        bindparam("payload", type_=LargeBinary)))
    return func.sha256(bindparam("mac_outer", type_=LargeBinary).op("||")(inner))


def head_update() -> Any:
    """PostgreSQL: UPDATE audit_head SET prev_hash = hash, hash = HMAC(key, hash || :payload),
    RETURNING both.

    Both assignments read the row as it was, and under the row's lock: a writer that waited
    for the lock sees the head its predecessor committed (READ COMMITTED re-reads the row).
    """
    head = table_of(AuditHead)
    advanced = _advance(head.c.hash)
    stmt = update(head).where(head.c.id == HEAD_ID)
    return stmt.values(prev_hash=head.c.hash, hash=advanced).returning(head.c.prev_hash, head.c.hash)


def append_from(head: Any, *, returning: bool = True) -> Any:
    """PostgreSQL: INSERT INTO audit_events … with the hashes of a `head_update` CTE."""
    return _insert_entry(head.c.prev_hash, head.c.hash, returning=returning)


def _insert_entry(prev_hash: Any, new_hash: Any, *, case_id: Any = None, select_from: Any = None,
                  where: Any = None, returning: bool = True) -> Any:
    """INSERT INTO audit_events SELECT the entry's parameters and the two hash expressions."""
    events = table_of(AuditEvent)
    values = [case_id if name == "case_id" and case_id is not None else
              bindparam(name, type_=events.c[name].type) for name in _EVENT_COLUMNS]
    rows = select(*values, prev_hash, new_hash)
    if select_from is not None:
        rows = rows.select_from(select_from)
    if where is not None:
        rows = rows.where(where)
    stmt = insert(events).from_select([*_EVENT_COLUMNS, "prev_hash", "hash"], rows)
    return stmt.returning(events.c.id) if returning else stmt


@cache
def _append_statement(one_statement: bool) -> Any:
    """One entry's INSERT, which also advances the head; RETURNING nothing if the head is missing.

    PostgreSQL: the head's UPDATE (a data-modifying CTE) takes the row lock and re-reads the row
    its predecessor committed, and the INSERT takes both hashes from it. SQLite has no
    data-modifying CTEs; BEGIN IMMEDIATE already made this transaction the only writer, so the
    INSERT reads the head and a trigger (migration 0003) advances it to the new entry.
    """
    if one_statement:
        return append_from(head_update().cte("head"))
    head = table_of(AuditHead)
    advanced = func.safeshare_chain(bindparam("mac_key", type_=LargeBinary), head.c.hash,
                                    bindparam("payload", type_=LargeBinary))  # see app.dialect
    return _insert_entry(head.c.hash, advanced, where=head.c.id == HEAD_ID)


def verify(session: Session) -> tuple[bool, int, int | None]:
    """Walk the chain. Returns (intact, entries checked, id of the first broken entry).

    Entries up to `legacy_until` (written before the HMAC chain) are checked as a SHA-256 chain,
    and that boundary against its seal; every later entry as an HMAC under the audit key. The
    newest entry must also be the head: entries removed from the end break the chain at the id
    after the last one left. The head is read by the same statement as the entries, so both come
    from one snapshot even while others keep appending.

    After `rotate-key` the ring holds several audit keys, oldest to newest. An entry may be under
    the key in force or a newer one (a service that had read the new ring writes under it before the
    rotation's entry commits). The rotation's entry (`ROTATED`) puts its own key in force: after it,
    an older key is accepted only for an entry stamped before it (one a service began before the
    rotation and committed just after), so whoever holds a retired key cannot add entries later.
    """
    keys = list(reversed(_keys_of(session)))  # oldest first
    floor, floor_at = 0, None
    head = select(AuditHead.hash, AuditHead.legacy_until, AuditHead.anchor_mac).where(AuditHead.id == HEAD_ID).subquery()
    prev = GENESIS
    count = 0
    last_id = 0
    found: tuple[bytes, int, bytes | None] | None = None
    rows = session.execute(
        select(AuditEvent, head.c.hash, head.c.legacy_until, head.c.anchor_mac).join(head, true()).order_by(AuditEvent.id)
    ).yield_per(1000)
    for ev, head_hash, legacy_until, sealed in rows:
        found = (head_hash, legacy_until, sealed)
        legacy = ev.id <= legacy_until
        if ev.prev_hash != prev:
            return False, count, ev.id
        if legacy:
            if _digest(None, prev, ev) != ev.hash:
                return False, count, ev.id
            if ev.id == legacy_until and not any(_sealed(k, legacy_until, ev.hash, sealed) for k in keys):
                return False, count, ev.id
        else:
            used = _which_key(keys, floor, floor_at, prev, ev)
            if used is None:
                return False, count, ev.id
            if ev.action == ROTATED and used > floor:
                floor, floor_at = used, ev.at
        prev = ev.hash
        last_id = ev.id
        count += 1
    if found is None:
        row = session.execute(select(head)).first()
        found = (row[0], row[1], row[2]) if row is not None else None
    if found is None:
        return False, count, last_id + 1
    expected, legacy_until, sealed = found
    if legacy_until > last_id:  # the boundary points past the entries left: some were cut off
        return False, count, last_id + 1
    if expected != prev:
        return False, count, last_id + 1
    return True, count, None


def _which_key(keys: list[bytes], floor: int, floor_at: datetime | None, prev: bytes, ev: AuditEvent) -> int | None:
    """The index in `keys` (oldest first) of the key the entry's MAC verifies under, as `verify` allows."""
    for i in range(floor, len(keys)):
        if hmac.compare_digest(_digest(keys[i], prev, ev), ev.hash):
            return i
    if floor_at is not None and ev.at <= floor_at:
        for i in range(floor):
            if hmac.compare_digest(_digest(keys[i], prev, ev), ev.hash):
                return i
    return None


def _sealed(key: bytes, legacy_until: int, legacy_hash: bytes, sealed: bytes | None) -> bool:
    return sealed is not None and hmac.compare_digest(sealed, anchor_mac(key, legacy_until, legacy_hash))


def current_head(session: Session) -> tuple[int, int, bytes]:
    """(number of entries, id of the newest, the head hash): what `safeshare audit-head` prints."""
    count = session.scalar(select(func.count()).select_from(AuditEvent)) or 0
    newest = session.scalar(select(func.max(AuditEvent.id))) or 0
    head = session.scalar(select(AuditHead.hash).where(AuditHead.id == HEAD_ID))
    return count, newest, head or GENESIS


def last_read_at(*, user_id: uuid.UUID, case_id: Any, target: str) -> Any:
    """SQL: when `user_id` last read `target` ("messages", "case", ...) of the case `case_id` (a
    column of the enclosing query), from the `case.read` entries; NULL if never."""
    return (
        select(func.max(AuditEvent.at))
        .where(
            AuditEvent.case_id == case_id,
            AuditEvent.actor_id == user_id,
            AuditEvent.action == "case.read",
            AuditEvent.target == target,
        )
        .scalar_subquery()
    )


def page(session: Session, *, by: Actor, case_id: uuid.UUID | None, page: int, page_size: int
         ) -> tuple[list[AuditEvent], int]:
    """One page of the trail, newest first. Reading it is itself audited (`audit.read`, with the
    case asked about, if any): who looked at whose trail is part of the trail."""
    record(session, by, "audit.read", case_id=case_id)
    q = select(AuditEvent)
    c = select(func.count()).select_from(AuditEvent)
    if case_id is not None:
        q = q.where(AuditEvent.case_id == case_id)
        c = c.where(AuditEvent.case_id == case_id)
    total = session.scalar(c) or 0
    items = session.scalars(q.order_by(AuditEvent.id.desc()).offset((page - 1) * page_size).limit(page_size)).all()
    return list(items), total
