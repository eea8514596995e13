"""Database layer: typed declarative base, engines for SQLite and PostgreSQL, one session per request."""

from __future__ import annotations

import functools
import hashlib
import inspect
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, AsyncIterator, Callable

from fastapi import Request
from fastapi.routing import APIRoute
from sqlalchemy import DateTime, MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.types import TypeDecorator, Uuid
from starlette.concurrency import run_in_threadpool

from app import clock

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
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), uuid.UUID: Uuid()}


class IdMixin:
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=clock.now)


def _chain_step(prev: bytes, payload: bytes) -> bytes:
    return hashlib.sha256(prev + payload).digest()


# A pooled connection unused for longer than this is tested with a ping before it is handed out.
PING_AFTER_IDLE_SECONDS = 5.0


def make_engine(url: str, *, ping_after_idle: float = PING_AFTER_IDLE_SECONDS, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy, not pysqlite, decide when transactions begin (see _begin_immediate).
            dbapi_conn.isolation_level = None
            # The audit chain's step (PostgreSQL has sha256() built in): see app.audit.service.
            dbapi_conn.create_function("safeshare_chain", 2, _chain_step, deterministic=True)
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            # FULL: a commit is on disk before the reporter sees their receipt. In WAL mode,
            # NORMAL would be faster but can lose the last commits if the machine loses power.
            cur.execute("PRAGMA synchronous=FULL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin_immediate(conn: Any) -> None:
            # Take the write lock up front: a deferred transaction that reads and then writes
            # fails with SQLITE_BUSY instead of waiting when another process wrote meanwhile.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    engine = create_engine(url, pool_size=10, max_overflow=10, **kwargs)
    _ping_after_idle(engine, ping_after_idle)
    return engine


def _ping_after_idle(engine: Engine, seconds: float) -> None:
    """Pessimistic disconnect handling, for connections that have been idle only.

    A connection that sat in the pool for a while may have been closed by a database restart
    or failover; it is pinged at checkout and, if dead, replaced (SQLAlchemy retries the
    checkout with a fresh connection). A connection returned moments ago, as under load, is
    handed out without the extra round trip that `pool_pre_ping` would spend on every request.
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


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False, autoflush=True)


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One session and one transaction per request: commit on success, roll back on any error.

    Used with `Depends(..., scope="function")` so the commit happens before the response is
    sent: a client never hears 201 for something that was not stored. Creating a session does
    no I/O; commit, rollback and close run in the thread pool, never on the event loop.
    """
    session = request.app.state.sessionmaker()
    try:
        yield session
    except BaseException:
        await run_in_threadpool(_end, session, commit=False)
        raise
    if session.in_transaction():
        await run_in_threadpool(_end, session, commit=True)
    else:  # already committed in the endpoint's thread (CommitInThreadRoute): closing does no I/O
        session.close()


def _end(session: Session, *, commit: bool) -> None:
    """Commit (or roll back) and close, in one trip to the thread pool."""
    try:
        if commit:
            session.commit()
        else:
            session.rollback()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


class CommitInThreadRoute(APIRoute):
    """Commits a sync endpoint's session in the endpoint's own worker thread, as it returns.

    Without this the commit waits for a hop back to the event loop, the response's
    serialisation and another hop into the thread pool, and on SQLite the write lock is held
    all that time. `get_session` still rolls back on any error and closes the session; its own
    commit then finds nothing left to do.
    """

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if not inspect.iscoroutinefunction(endpoint) and "session" in inspect.signature(endpoint).parameters:
            endpoint = _committing(endpoint)
        super().__init__(path, endpoint, **kwargs)


def _committing(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(endpoint)
    def call(*args: Any, **kwargs: Any) -> Any:
        result = endpoint(*args, **kwargs)
        kwargs["session"].commit()
        return result

    return call
