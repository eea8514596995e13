"""What differs between SQLite and PostgreSQL, in one place.

The rest of the code asks this module, by capability, instead of testing `dialect.name` itself:

- writers: SQLite has one writer at a time (every write transaction begins `IMMEDIATE`), so
  row locks, `SKIP LOCKED` and advisory locks are PostgreSQL's only; on SQLite they are no-ops
  because the write lock already serialises what they would.
- statements: PostgreSQL runs data-modifying CTEs (several INSERTs in one statement); SQLite
  needs one statement per table. Upserts use each dialect's own `INSERT ... ON CONFLICT`.
- connections: the SQLite pragmas (WAL, foreign keys, a busy timeout, FULL sync) and the
  function the audit chain needs, which PostgreSQL has built in (`sha256`).
"""

from __future__ import annotations

import hashlib
from typing import Any, TypeVar

from sqlalchemy import Integer, Select, cast, func
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.orm import Session
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


def _chain_step(prev: bytes, payload: bytes) -> bytes:
    return hashlib.sha256(prev + payload).digest()


def configure_sqlite_connection(dbapi_conn: Any) -> None:
    """Pragmas for every new SQLite connection, and the audit chain's step function."""
    # Let SQLAlchemy, not pysqlite, decide when transactions begin (see begin_sqlite).
    dbapi_conn.isolation_level = None
    # The audit chain's step (PostgreSQL has sha256() built in): see app.audit.service.
    dbapi_conn.create_function("safeshare_chain", 2, _chain_step, deterministic=True)
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    # FULL: a commit is on disk before the reporter sees their receipt. In WAL mode, NORMAL
    # would be faster but can lose the last commits if the machine loses power.
    cur.execute("PRAGMA synchronous=FULL")
    cur.close()


def begin_sqlite(conn: Connection) -> None:
    """Take the write lock up front: a deferred transaction that reads and then writes fails
    with SQLITE_BUSY instead of waiting when another process wrote meanwhile."""
    conn.exec_driver_sql("BEGIN IMMEDIATE")
