"""Database connections: PostgreSQL ones that die in the pool (a restart, a failover) are
replaced, not used; SQLite ones are durable and check foreign keys.

Connections idle for a while are pinged before use; one returned a moment ago is not (under
load that ping would be an extra round trip on every request).
"""

from __future__ import annotations

import os
from pathlib import Path

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


def test_sqlite_connections_use_the_log_and_check_foreign_keys(settings):
    if not settings.database_url.startswith("sqlite"):
        pytest.skip("SQLite's connection settings")
    engine = make_engine(settings.database_url)
    try:
        with engine.connect() as c:
            pragmas = {p: c.exec_driver_sql(f"PRAGMA {p}").scalar_one()
                       for p in ("journal_mode", "synchronous", "foreign_keys")}
    finally:
        engine.dispose()
    # synchronous 1 = NORMAL: SQLite does not sync at COMMIT; the dialect does, after it (below).
    assert pragmas == {"journal_mode": "wal", "synchronous": 1, "foreign_keys": 1}


@pytest.fixture
def synced(monkeypatch):
    """The files fsync'd, by path, in order."""
    seen: list[str] = []
    real = os.fsync

    def fsync(fd: int) -> None:
        seen.append(os.readlink(f"/proc/self/fd/{fd}"))
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    return seen


def test_a_report_is_on_disk_before_its_receipt_is_sent(client, settings, synced):
    """An acknowledged report survives a power cut, not only a crash: SQLite's log is synced after
    the COMMIT and before the answer; PostgreSQL waits for its own log at COMMIT."""
    if settings.database_url.startswith("postgresql"):
        engine = make_engine(settings.database_url)
        try:
            with engine.connect() as c:
                assert c.exec_driver_sql("SHOW synchronous_commit").scalar_one() == "on"
                assert c.exec_driver_sql("SHOW fsync").scalar_one() == "on"
        finally:
            engine.dispose()
        return
    database = Path(settings.database_url.split("///", 1)[1]).resolve()
    report = {"description": "My manager shouts at me every shift.", "about": "self"}
    assert client.post("/api/v1/reports", json=report).status_code == 201  # connections opened
    synced.clear()
    assert client.get("/report").status_code == 200
    assert synced == []  # a read syncs nothing

    r = client.post("/api/v1/reports", json=report)

    assert r.status_code == 201
    assert synced == [f"{database}-wal"]


def test_a_new_connection_makes_its_log_file_name_durable(settings, synced):
    """SQLite removes the log when the last connection closes and the next one creates it again:
    the file's name is in the folder, which is synced when a connection has opened the log."""
    if not settings.database_url.startswith("sqlite"):
        pytest.skip("SQLite's log file")
    database = Path(settings.database_url.split("///", 1)[1]).resolve()
    engine = make_engine(settings.database_url)
    try:
        with engine.connect() as c:
            c.exec_driver_sql("SELECT 1")
            assert Path(f"{database}-wal").exists()
        assert synced == [str(database.parent)]
    finally:
        engine.dispose()


def test_a_write_that_is_rolled_back_syncs_nothing(settings, synced):
    if not settings.database_url.startswith("sqlite"):
        pytest.skip("SQLite's sync after COMMIT")
    engine = make_engine(settings.database_url)
    try:
        with engine.connect() as c:
            synced.clear()  # the folder, as the connection opened
            c.begin()
            c.exec_driver_sql("INSERT INTO stats_stale (month) VALUES ('2026-01')")
            c.rollback()
        assert synced == []
        with engine.begin() as c:
            c.exec_driver_sql("INSERT INTO stats_stale (month) VALUES ('2026-01')")
        assert synced[0] == str(Path(settings.database_url.split("///", 1)[1]).resolve()) + "-wal"
    finally:
        engine.dispose()
