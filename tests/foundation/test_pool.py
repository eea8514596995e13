"""Database connections: PostgreSQL ones that die in the pool (a restart, a failover) are
replaced, not used; SQLite ones are durable and check foreign keys.

Connections idle for a while are pinged before use; one returned a moment ago is not (under
load that ping would be an extra round trip on every request).
"""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from app.db import make_engine


@pytest.fixture
def pg_url(settings):
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("SQLite has no server connection to lose")
    return settings.database_url


def _backend_pid(engine) -> int:
    with engine.connect() as c:
        return c.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()


def _terminate(url: str, pid: int) -> None:
    admin = create_engine(url, poolclass=NullPool)
    with admin.connect() as c:
        assert c.exec_driver_sql(f"SELECT pg_terminate_backend({pid})").scalar_one() is True
    admin.dispose()


def test_an_idle_connection_killed_in_the_pool_is_replaced_before_use(pg_url):
    engine = make_engine(pg_url, ping_after_idle=0.0)
    try:
        pid = _backend_pid(engine)
        _terminate(pg_url, pid)
        assert _backend_pid(engine) != pid  # pinged, found dead, replaced: the caller saw nothing
    finally:
        engine.dispose()


def test_a_connection_used_a_moment_ago_is_not_pinged_and_the_pool_recovers(pg_url):
    engine = make_engine(pg_url, ping_after_idle=3600.0)
    try:
        pid = _backend_pid(engine)
        _terminate(pg_url, pid)
        with pytest.raises(OperationalError):
            _backend_pid(engine)  # no ping for a connection this fresh: the failure surfaces once
        assert _backend_pid(engine) != pid  # and the pool has already replaced it
    finally:
        engine.dispose()


def test_sqlite_connections_are_durable_and_check_foreign_keys(settings):
    if not settings.database_url.startswith("sqlite"):
        pytest.skip("SQLite's connection settings")
    engine = make_engine(settings.database_url)
    try:
        with engine.connect() as c:
            pragmas = {p: c.exec_driver_sql(f"PRAGMA {p}").scalar_one()
                       for p in ("journal_mode", "synchronous", "foreign_keys")}
    finally:
        engine.dispose()
    # synchronous 2 = FULL: an acknowledged report survives a power cut, not only a crash.
    assert pragmas == {"journal_mode": "wal", "synchronous": 2, "foreign_keys": 1}
