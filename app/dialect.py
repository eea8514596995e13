"""What differs between SQLite and PostgreSQL, in one place.

The rest of the code asks this module, by capability, instead of testing `dialect.name` itself:

- writers: SQLite has one writer at a time (every write transaction begins `IMMEDIATE`), so
  row locks, `SKIP LOCKED` and advisory locks are PostgreSQL's only; on SQLite they are no-ops
  because the write lock already serialises what they would.
- readers: a read-only transaction (GET and HEAD requests) is `BEGIN` (deferred) under
  `PRAGMA query_only` on SQLite, so it never takes the write lock, and `READ ONLY` on
  PostgreSQL; on both the database itself refuses a write in it.
- unavailability: which errors mean "the database is busy or unreachable, try again" (503).
- statements: PostgreSQL runs data-modifying CTEs (several INSERTs in one statement); SQLite
  needs one statement per table. Upserts use each dialect's own `INSERT ... ON CONFLICT`.
- connections: the SQLite pragmas (WAL, foreign keys, a busy timeout, commits synced after the
  write lock) and the function the audit chain needs (HMAC-SHA256; PostgreSQL builds it from
  its `sha256`).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
import time
from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import Integer, Select, cast, func
from sqlalchemy.dialects import postgresql, registry, sqlite
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine import URL, Connection, Dialect, Engine
from sqlalchemy.engine import make_url as sa_make_url
from sqlalchemy.orm import Session
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.sql.expression import ColumnElement, TableClause, text

POSTGRESQL = "postgresql"
SQLITE = "sqlite"

S = TypeVar("S", bound=Select[*tuple[Any, ...]])


def name_of(bind: Session | Connection | Engine | Dialect) -> str:
    """`postgresql` or `sqlite`."""
    if isinstance(bind, Session):
        return bind.get_bind().dialect.name
    if isinstance(bind, (Connection, Engine)):
        return bind.dialect.name
    return bind.name


def is_postgresql(bind: Session | Connection | Engine | Dialect | str) -> bool:
    return (bind if isinstance(bind, str) else name_of(bind)) == POSTGRESQL


def writable_ctes(bind: Session | str) -> bool:
    """Whether INSERT/UPDATE may run inside a WITH (one statement writing several tables)."""
    return is_postgresql(bind)


def then_commit(conn: Connection, sql: str, param_sets: Sequence[dict[str, Any]]) -> None:
    """PostgreSQL: `sql` once for each parameter set, then COMMIT, sent as one simple query: one
    round trip, and no wait on this process between the statements and the COMMIT (a lock the
    statements take is held for the server's own time only). The parameters are merged in by the
    driver's client-side binding (libpq's quoting). If a statement fails, the rest is skipped and
    the transaction is left failed, for the caller's rollback."""
    from psycopg import ClientCursor

    raw = conn.connection.driver_connection
    binder = ClientCursor(raw)  # type: ignore[arg-type]
    text = ";\n".join([*(binder.mogrify(sql, params) for params in param_sets), "COMMIT"])
    conn.exec_driver_sql(text)


def writer_locks_from_first_statement(bind: Session | str) -> bool:
    """Whether a writing transaction holds the database's one write lock from its first statement
    (SQLite's BEGIN IMMEDIATE): then reads that only feed CPU work go before it, apart."""
    return not is_postgresql(bind)


def stores_naive_datetimes(dialect: Dialect) -> bool:
    """SQLite has no time zones: UTC datetimes are stored without one and read back as UTC."""
    return dialect.name == SQLITE


def insert(bind: Session | str, table: TableClause | Any) -> Any:
    """The dialect's own INSERT, which offers `on_conflict_do_nothing/do_update`."""
    module = postgresql if is_postgresql(bind) else sqlite
    return module.insert(table)


def for_update(query: S, session: Session, **kwargs: Any) -> S:
    """Lock the selected rows until the transaction ends (PostgreSQL; SQLite's write lock
    already makes this transaction the only writer)."""
    return query.with_for_update(**kwargs) if is_postgresql(session) else query


def serialise(session: Session, lock_id: int) -> None:
    """Make transactions that call this with the same id run one after another (an advisory
    lock held until COMMIT on PostgreSQL; SQLite's write lock already does this)."""
    if is_postgresql(session):
        session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": lock_id})


def tenths_of_days_between(bind: Session | str, later: Any, earlier: Any) -> ColumnElement[int]:
    """`later - earlier` in whole tenths of a day (rounded down), as SQL."""
    if is_postgresql(bind):
        return func.floor(func.extract("epoch", later - earlier) / 8640)
    # julianday() is a float: round to the millisecond first, so exactly two days is 20, not 19.
    millis = func.round((func.julianday(later) - func.julianday(earlier)) * 86_400_000)
    return cast(millis / 8_640_000.0, Integer)


def _chain_step(key: bytes, prev: bytes, payload: bytes) -> bytes:
    return hmac.new(key, prev + payload, hashlib.sha256).digest()


def read_only_options(engine: Engine) -> dict[str, Any]:
    """Execution options of an engine whose transactions only read: the database refuses writes
    (on SQLite through the engine's own "begin" event, `begin_sqlite_reader`)."""
    return {"postgresql_readonly": True} if is_postgresql(engine) else {}


def lock_timeout_connect_args(engine_url: str, seconds: float) -> dict[str, Any]:
    """How long a statement may wait for a lock that another transaction holds (then it fails,
    and the request is a 503): SQLite's busy timeout, PostgreSQL's `lock_timeout`."""
    if engine_url.startswith(POSTGRESQL):
        return {"options": f"-c lock_timeout={int(seconds * 1000)}"}
    return {"timeout": seconds}


def is_unavailable(exc: BaseException) -> bool:
    """Whether an error means the database is busy or out of reach for now, so the same request
    may well succeed in a moment: a lock not granted in time, a pool with no connection free, a
    connection that broke (a restart, a terminated backend, a failover)."""
    from sqlalchemy import exc as sa_exc

    if isinstance(exc, sa_exc.TimeoutError):  # the pool had no connection to give
        return True
    if not isinstance(exc, sa_exc.DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    if not isinstance(exc, sa_exc.OperationalError):
        return False
    orig = exc.orig
    module = type(orig).__module__
    if module.startswith("psycopg"):
        # psycopg's OperationalError: the connection or the server, never the statement itself
        # (lock_timeout is LockNotAvailable, also an OperationalError).
        return True
    return is_busy(orig) or "database table is locked" in str(orig).lower()


def configure_sqlite_connection(dbapi_conn: Any) -> None:
    """Pragmas for every new SQLite connection, and the audit chain's step function."""
    # Let SQLAlchemy, not pysqlite, decide when transactions begin (see SQLiteWriterFirst).
    dbapi_conn.isolation_level = None
    # The audit chain's step, HMAC-SHA256 (PostgreSQL builds it from sha256()): see app.audit.service.
    dbapi_conn.create_function("safeshare_chain", 3, _chain_step, deterministic=True)
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    # A commit is on disk before the reporter sees their receipt: SQLite writes the commit to its
    # log under the write lock (NORMAL) and the dialect syncs the log just after, with the lock
    # released (`SQLiteWriterFirst.do_commit`). FULL would sync under the lock, holding up every
    # other writer for the disk's time; checkpoints sync in both modes.
    cur.execute("PRAGMA synchronous=NORMAL")
    # Deleted and overwritten content is zeroed in the pages it leaves, so an erased case's
    # ciphertext and wrapped key do not linger in free space (see `scrub_after_erasure`).
    cur.execute("PRAGMA secure_delete=ON")
    cur.close()
    log = _log_of(dbapi_conn)  # the journal_mode pragma opened the log, creating it if need be
    if log is not None:
        _sync_folder(log)


def _wait_for_older_snapshots(conn: Connection, timeout: float) -> bool:
    """Wait until every transaction that began before now has ended. VACUUM FULL keeps a dead row
    version while a snapshot may still see it, and its own snapshot's horizon is the oldest
    transaction running anywhere on the server (other databases included). False on timeout."""
    mark = conn.exec_driver_sql("SELECT pg_current_xact_id()").scalar()  # taken after the erasure committed
    older = text("SELECT pg_snapshot_xmin(pg_current_snapshot()) <= CAST(:mark AS xid8)")
    deadline = time.monotonic() + timeout
    while conn.execute(older, {"mark": str(mark)}).scalar():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def scrub_after_erasure(engine: Engine, tables: Sequence[str], *, timeout: float = 30.0) -> str:
    """After a purge: leave nothing of the erased rows in the live database files.

    SQLite (with `secure_delete` on every connection, the pages already hold zeros where the
    erased values were): the old page versions are still in the `-wal` file, so the WAL is
    checkpointed into the database and truncated to zero bytes (`wal_checkpoint(TRUNCATE)`;
    it waits, up to the busy timeout, for readers still using an older snapshot).
    PostgreSQL: an UPDATE leaves the old row version in the page until VACUUM; a plain VACUUM
    marks it free but can leave its bytes in the page's free space, so the touched tables (and
    their TOAST tables) are rewritten with `VACUUM FULL`, which holds an exclusive lock on one
    table at a time while it copies the live rows. It would copy the old versions too while a
    transaction that began before the erasure still runs, so it first waits (up to `timeout`)
    for those to end. Runs outside any transaction.
    Returns one line for the operator."""
    if is_postgresql(engine):
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            waited = _wait_for_older_snapshots(conn, timeout)
            for table in tables:
                conn.exec_driver_sql(f'VACUUM (FULL) "{table}"')
        if not waited:
            return (f"vacuumed {len(tables)} table(s), but a transaction older than the erasure was still running "
                    "and may have kept old row versions: run `safeshare purge --scrub` later")
        return f"vacuumed {len(tables)} table(s)"
    raw = engine.raw_connection()  # outside any transaction (a checkpoint cannot run inside one)
    try:
        busy, _, _ = raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()  # type: ignore[union-attr]
    finally:
        raw.close()
    if busy:
        return "the write-ahead log could not be truncated (a reader held an old snapshot): run purge again"
    return "write-ahead log checkpointed and truncated"


class SQLiteWriterFirst(SQLiteDialect_pysqlite):
    """pysqlite whose transactions begin as writers (`sqlite+safeshare://`, see `make_url`)."""

    supports_statement_cache = True  # SQLAlchemy caches compiled statements only for dialects that say so

    def do_begin(self, dbapi_connection: PoolProxiedConnection) -> None:
        """A writer takes the write lock up front: a deferred transaction that reads and then
        writes fails with SQLITE_BUSY instead of waiting when another process wrote meanwhile.

        In the dialect, not in a "begin" event: an engine with any connection event pays for
        event dispatch on every statement (about 200 calls per submission). A reader's
        transaction has already begun here (`begin_sqlite_reader`)."""
        if dbapi_connection.in_transaction:
            return
        _query_only(dbapi_connection, False)
        self._take_write_lock(dbapi_connection)
        dbapi_connection.info[_WRITING] = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._poller = threading.Lock()  # one per engine: a database's writers never wait on another's
        # Rung when a writer of this engine ends its transaction: a waiter in this process asks again
        # at once instead of at its next pause; `_ended` counts them, so a ring just missed is not waited for.
        self._bell = threading.Condition(threading.Lock())
        self._ended = 0

    def _take_write_lock(self, pooled: Any) -> None:
        """BEGIN IMMEDIATE, asked for again after 0.5, 1, then every 2 ms while another writer holds
        the lock, or at once when a writer of this process ends, by one thread of this engine at a
        time (the others wait their turn on `_poller`, woken at once when it is through). SQLite's
        own busy handler sleeps ever longer (up to 100 ms) between tries: the lock would sit free
        while every waiter slept. Gives up, as SQLite would, after the connection's busy timeout
        ("database is locked")."""
        info = pooled.info
        busy_ms = info.get(_BUSY_MS)
        if busy_ms is None:
            busy_ms = info[_BUSY_MS] = pooled.execute("PRAGMA busy_timeout").fetchone()[0]
        deadline = time.monotonic() + busy_ms / 1000
        if not self._poller.acquire(timeout=busy_ms / 1000):
            raise self.loaded_dbapi.OperationalError("database is locked")
        try:
            pooled.execute("PRAGMA busy_timeout=0")
            try:
                pause = _FIRST_PAUSE
                while True:
                    ended = self._ended
                    try:
                        pooled.execute("BEGIN IMMEDIATE")
                        return
                    except self.loaded_dbapi.OperationalError as exc:
                        if not is_busy(exc) or time.monotonic() + pause > deadline:
                            raise
                    with self._bell:
                        rung = self._ended != ended or _wait(self._bell, pause)
                    pause = _FIRST_PAUSE if rung else min(pause * 2, _LONGEST_PAUSE)
            finally:
                pooled.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
        finally:
            self._poller.release()

    def do_commit(self, dbapi_connection: Any) -> None:
        """A writer's commit is on disk when this returns, as with `synchronous=FULL`, but synced
        after the write lock is released (`_sync_log`): the next writer goes on meanwhile."""
        super().do_commit(dbapi_connection)  # type: ignore[no-untyped-call]
        if _was_writing(dbapi_connection):
            self._ring()
            self._sync_log(dbapi_connection)

    def do_rollback(self, dbapi_connection: Any) -> None:
        writing = _was_writing(dbapi_connection)
        super().do_rollback(dbapi_connection)  # type: ignore[no-untyped-call]
        if writing:
            self._ring()

    def _ring(self) -> None:
        """The write lock is free: wake this engine's waiting writer (`_take_write_lock`)."""
        with self._bell:
            self._ended += 1
            self._bell.notify()

    _log: str | None = None
    _log_known = False

    def _sync_log(self, dbapi_connection: Any) -> None:
        """fsync the write-ahead log, which holds the commit (or, if a checkpoint has already
        copied it into the database file, that checkpoint synced the file)."""
        if not self._log_known:  # one engine, one database: ask SQLite where its file is
            self._log, self._log_known = _log_of(dbapi_connection), True
        if self._log is None:  # in memory
            return
        try:
            fd = os.open(self._log, os.O_RDONLY)
        except FileNotFoundError:  # removed by the checkpoint of a last connection closing: synced then
            return
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


_WRITING = "writing"
_BUSY_MS = "busy_ms"
_FIRST_PAUSE, _LONGEST_PAUSE = 0.0005, 0.002  # seconds between two tries for the write lock


def _wait(bell: threading.Condition, pause: float) -> bool:
    """Wait (holding `bell`) until it rings or `pause` seconds pass; whether it rang."""
    return bell.wait(pause)


def is_busy(exc: BaseException | None) -> bool:
    """SQLite's "database is locked" (SQLITE_BUSY)."""
    return "database is locked" in str(exc).lower()


def _log_of(dbapi_conn: Any) -> str | None:
    """The path of a connection's write-ahead log (None for a database in memory)."""
    path = dbapi_conn.execute("PRAGMA database_list").fetchone()[2]
    return f"{path}-wal" if path else None


def _sync_folder(log: str) -> None:
    """Make a log file's name durable: the log a connection has just opened may be new (SQLite
    removes it when the last connection closes), and a file's name is in its folder."""
    folder = os.open(os.path.dirname(log), os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def _was_writing(dbapi_connection: Any) -> bool:
    """Whether the transaction that ends was a writer's (and forget it)."""
    try:
        info = dbapi_connection.info
    except NotImplementedError:  # the dialect's first connection, before the pool holds it
        return False
    return bool(info.pop(_WRITING, False))


registry.register("sqlite.safeshare", __name__, SQLiteWriterFirst.__name__)


def make_url(url: str) -> URL:
    """The URL SQLAlchemy is given: SQLite through `SQLiteWriterFirst`, anything else as set."""
    parsed = sa_make_url(url)
    return parsed.set(drivername="sqlite+safeshare") if parsed.drivername in ("sqlite", "sqlite+pysqlite") else parsed


def begin_sqlite_reader(conn: Connection) -> None:
    """A reader (the engine with `read_only_options`) begins deferred and never takes the write
    lock; `query_only` makes SQLite refuse any write it tries, loudly."""
    _query_only(conn.connection, True)
    conn.exec_driver_sql("BEGIN")


def _query_only(pooled: Any, on: bool) -> None:
    """`PRAGMA query_only` is the connection's, kept across transactions: set only when it changes."""
    if pooled.info.get("query_only") is not on:
        pooled.execute(f"PRAGMA query_only={int(on)}")
        pooled.info["query_only"] = on
