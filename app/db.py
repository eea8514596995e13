"""Database layer: typed declarative base, engines for SQLite and PostgreSQL, one session per request."""

from __future__ import annotations

import os
import time
import uuid
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import DateTime, MetaData, Table, create_engine, event
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.types import TypeDecorator, Uuid

from app import clock
from app import dialect as dialect_rules
from app.errors import AppError

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both databases (SQLite keeps no zone of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect_rules.stores_naive_datetimes(dialect) else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), uuid.UUID: Uuid()}


def table_of(model: type[Base]) -> Table:
    """A mapped class's Table (typed: `__table__` is declared as any FROM clause)."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


class IdMixin:
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=clock.now)


# A pooled connection unused for longer than this is tested with a ping before it is handed out.
PING_AFTER_IDLE_SECONDS = 5.0
# How long a command (migrate, purge, rotate-key...) waits for a lock another transaction holds.
# The server waits SAFESHARE_LOCK_TIMEOUT_SECONDS (5 s) and then answers 503.
COMMAND_LOCK_TIMEOUT_SECONDS = 30.0
# Connections a process keeps to a SQLite file (as many as SQLAlchemy's default allowed at once).
SQLITE_CONNECTIONS = 15


def make_engine(
    url: str, *, ping_after_idle: float = PING_AFTER_IDLE_SECONDS, lock_timeout: float = COMMAND_LOCK_TIMEOUT_SECONDS,
    **kwargs: Any,
) -> Engine:
    connect_args = dialect_rules.lock_timeout_connect_args(url, lock_timeout)
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        pool: dict[str, int] = {}
        if path and path != ":memory:":
            _private_file(Path(path))
            # Every connection stays open (SQLAlchemy's default keeps 5 and closes the next 10 after
            # each use): under load a new one was opened for about one request in ten, its pragmas
            # set and its folder synced each time.
            pool = {"pool_size": SQLITE_CONNECTIONS, "max_overflow": 0}
        engine = create_engine(dialect_rules.make_url(url), connect_args={**connect_args, "check_same_thread": False},
                               **pool, **kwargs)

        event.listen(engine, "connect", lambda dbapi_conn, _record: dialect_rules.configure_sqlite_connection(dbapi_conn))
        # Writers begin in the dialect (SQLiteWriterFirst); the read-only engine has the only connection event.
        return engine
    engine = create_engine(url, pool_size=10, max_overflow=10, connect_args=connect_args, **kwargs)
    _ping_after_idle(engine, ping_after_idle)
    return engine


def _private_file(path: Path) -> None:
    """Create the SQLite file mode 0600 before SQLite does (it would make it 0644, and its -wal and
    -shm files copy that mode).
    """
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass


def _ping_after_idle(engine: Engine, seconds: float) -> None:
    """Ping a connection at checkout only if it sat idle (a restart may have closed it): unlike
    `pool_pre_ping`, no extra round trip per request under load.
    """

    @event.listens_for(engine, "checkin")
    def _idle_from(_dbapi_conn: Any, record: Any) -> None:
        record.info["safeshare_idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("safeshare_idle_since")
        if since is None or time.monotonic() - since < seconds:
            return  # new, or in use a moment ago
        try:
            engine.dialect.do_ping(dbapi_conn)
        except Exception as exc:  # noqa: BLE001 - any failure means "do not use this one"
            raise DisconnectionError("pooled connection is gone") from exc


# A ring key in a session's info: the key itself, or (a running service, a command) a function giving
# the key under every lookup key of the ring, the active one first (`KeyRing.subkeys`): it follows a
# `rotate-key` by another process, and finds what a retired key wrote.
RingKey = bytes | Callable[[], list[bytes]]


def ring_keys(session: Session, name: str) -> list[bytes] | None:
    """The session's ring key `name` (AUDIT_KEY, EXCLUSION_KEY) under every lookup key, active first."""
    found = session.info.get(name)
    if isinstance(found, bytes):
        return [found]
    if callable(found):
        return list(found())
    return None


def make_sessionmaker(engine: Engine, *, audit_key: RingKey | None = None, exclusion_key: RingKey | None = None
                      ) -> sessionmaker[Session]:
    """Sessions on `engine`. Without `audit_key` a session cannot write audit entries; without
    `exclusion_key` it cannot tell who is excluded, and refuses to show any case.
    """
    info: dict[str, RingKey] = {AUDIT_KEY: audit_key} if audit_key is not None else {}
    if exclusion_key is not None:
        info[EXCLUSION_KEY] = exclusion_key
    return sessionmaker(engine, expire_on_commit=False, autoflush=True, info=info)


# --- read-only transactions ----------------------------------------------------------------------
# A GET or HEAD request only reads. Its transaction is read-only in the database itself (on
# SQLite a deferred BEGIN under `query_only`, so it never takes the write lock and never waits
# for it; on PostgreSQL `READ ONLY`). Its only writes, the audit entries of what it read, are
# written by `commit` in a short write transaction of their own once the reads have ended: a
# deferred SQLite transaction that turned into a writer would fail with SQLITE_BUSY_SNAPSHOT
# whenever anyone else had written since it began.

# session.info key: the sessionmaker whose (writing) sessions store a read-only session's audit entries.
READ_ONLY = "safeshare.read_only"
_READ_ENGINES: weakref.WeakKeyDictionary[Engine, Engine] = weakref.WeakKeyDictionary()


def read_only_engine(engine: Engine) -> Engine:
    """The same engine for transactions that only read (on SQLite: a deferred BEGIN, no write lock)."""
    reader = _READ_ENGINES.get(engine)
    if reader is None:
        reader = _READ_ENGINES[engine] = engine.execution_options(**dialect_rules.read_only_options(engine))
        if not dialect_rules.is_postgresql(engine):
            event.listen(reader, "begin", dialect_rules.begin_sqlite_reader)
    return reader


def read_only_session(makers: sessionmaker[Session]) -> Session:
    """A session whose transactions only read (see above); `commit` ends it."""
    engine = makers.kw["bind"]
    assert isinstance(engine, Engine)
    return makers(bind=read_only_engine(engine), info={READ_ONLY: makers})


def read_apart(session: Session, statement: Any) -> list[Any]:
    """Rows of `statement` read before `session` writes anything.

    On SQLite, on a read-only connection of its own, so the writer's lock isn't held during CPU work;
    on PostgreSQL, on the session itself.
    """
    if not dialect_rules.writer_locks_from_first_statement(session):
        return list(session.connection().execute(statement).all())  # Core: no ORM loading of plain rows
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    with read_only_engine(engine).connect() as conn:
        return list(conn.execute(statement).all())


# --- writes the driver runs back to back ----------------------------------------------------------
# SQLite holds its one write lock from a transaction's first write to its COMMIT, so every other
# writer waits for whatever runs in between. Intake's writes are compiled and their values converted
# before the lock is taken (`for_driver`), and then run by the driver one after another with no
# SQLAlchemy in between (`run_for_driver`): the lock is held for SQLite's own work.


class DriverWrite(NamedTuple):
    """A statement as the driver takes it: its SQL and its values, already converted."""

    sql: str
    values: tuple[Any, ...]


@lru_cache(maxsize=64)
def _compiled(statement: Any, dialect: Dialect) -> tuple[Any, dict[str, Callable[[Any], Any]]]:
    """The statement compiled, and the converter of each parameter that has one."""
    compiled = statement.compile(dialect=dialect)
    converters = {name: convert for bind, name in compiled.bind_names.items()
                  if (convert := bind.type.dialect_impl(dialect).bind_processor(dialect)) is not None}
    return compiled, converters


def for_driver(session: Session, statement: Any, params: dict[str, Any]) -> DriverWrite:
    """`statement` with `params`, compiled for the session's database and its values converted as
    SQLAlchemy would (each type's bind processor). `statement` is one built once and kept."""
    compiled, converters = _compiled(statement, session.get_bind().dialect)
    state = compiled.construct_expanded_state(params)
    values = tuple(converters[name](value) if name in converters else value
                   for name, value in zip(state.positiontup or (), state.positional_parameters, strict=True))
    return DriverWrite(state.statement, values)


def run_for_driver(session: Session, writes: Sequence[DriverWrite]) -> list[Any]:
    """Run `writes` in order in the session's transaction (beginning it if need be), by the driver
    itself; the first row each returns, or None. A driver error is raised as SQLAlchemy's."""
    conn = session.connection()
    raw: Any = conn.connection.driver_connection
    first: list[Any] = []
    for write in writes:
        try:
            rows = raw.execute(write.sql, write.values).fetchall()
        except conn.dialect.loaded_dbapi.Error as exc:
            raise DBAPIError.instance(write.sql, write.values, exc, conn.dialect.loaded_dbapi.Error,
                                      dialect=conn.dialect) from exc
        first.append(rows[0] if rows else None)
    return first


def is_read_only(session: Session) -> bool:
    return session.info.get(READ_ONLY) is not None


def commit(session: Session) -> None:
    """Commit the request's transaction; a read-only session's audit entries are written just after,
    before the answer: content is never shown without its audit entry.
    """
    writer = session.info.get(READ_ONLY)
    if writer is None:
        session.commit()
        return
    pending = transaction_info(session).pop(PENDING_AUDIT, None)
    session.commit()  # writes nothing (`refuse_unfinished` makes sure)
    if pending:
        with writer() as audit_session, audit_session.begin():
            transaction_info(audit_session)[PENDING_AUDIT] = pending  # chained and inserted by app.audit at commit


def refuse_unfinished(session: Session) -> None:
    """Checked at every commit: a GET/HEAD transaction must not have written, and account notices must
    have reached the outbox (`app.flows.finish`) or they would be lost.
    """
    if session.get_nested_transaction() is not None:
        return
    if is_read_only(session) and (session.new or session.dirty or session.deleted or _has_pending_audit(session)):
        raise RuntimeError(
            "a read-only (GET/HEAD) transaction has writes: write through app.db.separately, "
            "or make the route a POST"
        )
    if _transaction_info_if_any(session).get(PENDING_NOTICES):
        raise RuntimeError("a transaction with account notices committed without app.flows.finish: "
                           "commit through app.flows.commit (or call app.flows.finish first)")


# --- what a transaction carries until it ends ----------------------------------------------------
# Audit entries, account notices and opened case keys belong to one transaction: they are kept in
# a dict tied to the session's root transaction, so a transaction that rolls back (anywhere, for
# any reason) leaves nothing behind for the next one on the same session, with no hook to run.

_TRANSACTION_INFO = "safeshare.transaction_info"


def transaction_info(session: Session) -> dict[str, Any]:
    """The current transaction's own dict (the transaction is begun if none is: no I/O)."""
    transaction = session.get_transaction() or session.begin()
    held = session.info.get(_TRANSACTION_INFO)
    if held is None or held[0] is not transaction:
        held = session.info[_TRANSACTION_INFO] = (transaction, {})
    info: dict[str, Any] = held[1]
    return info


def _transaction_info_if_any(session: Session) -> dict[str, Any]:
    """The current transaction's dict, or an empty one if it has kept nothing."""
    held = session.info.get(_TRANSACTION_INFO)
    if held is None or held[0] is not session.get_transaction():
        return {}
    info: dict[str, Any] = held[1]
    return info


# --- transactions outside the request's own ------------------------------------------------------


@contextmanager
def separately(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """A short transaction of its own, committed at once, for what must outlive the request's
    transaction (a failed sign-in's counter, an Idempotency-Key's claim).
    """
    with sessions() as session, session.begin():
        yield session


def end_reads(session: Session) -> None:
    """End a transaction that has only read, before slow work or a `separately`.

    On SQLite the same thread's second transaction would wait for ever. Refuses one that has written.
    """
    if session.new or session.dirty or session.deleted or _has_pending_audit(session):
        raise RuntimeError("end_reads() on a transaction that has written")
    session.rollback()


# Where app.audit keeps a transaction's entries until its commit (they are writes, too), and
# app.auth.notices the account notices that `app.flows.finish` writes to the outbox: both in
# `transaction_info(session)`.
PENDING_AUDIT = "safeshare.audit.pending"
PENDING_NOTICES = "safeshare.auth.notices.pending"
# The audit chain's key, in the session's info (see make_sessionmaker).
AUDIT_KEY = "safeshare.audit.key"
# The key of the exclusions' blind index, in the session's info (see make_sessionmaker).
EXCLUSION_KEY = "safeshare.exclusion.key"


@contextmanager
def attempt(session: Session) -> Iterator[None]:
    """Run a service call whose `AppError` becomes a message: only what the call wrote is undone (a savepoint)."""
    pending = transaction_info(session).get(PENDING_AUDIT) or []
    mark = len(pending)
    savepoint = session.begin_nested()
    try:
        yield
    except AppError:
        if savepoint.is_active:
            savepoint.rollback()
        del (transaction_info(session).get(PENDING_AUDIT) or [])[mark:]
        raise
    savepoint.commit()


def _has_pending_audit(session: Session) -> bool:
    return bool(_transaction_info_if_any(session).get(PENDING_AUDIT))
