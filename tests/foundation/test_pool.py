"""Database connections: PostgreSQL ones that die in the pool (a restart, a failover) are
replaced, not used; SQLite ones are durable and check foreign keys.

Connections idle for a while are pinged before use; one returned a moment ago is not (under
load that ping would be an extra round trip on every request).
"""

from __future__ import annotations

import os
import threading
import time
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


def _sqlite_only(settings) -> Path:
    if not settings.database_url.startswith("sqlite"):
        pytest.skip("SQLite's one write lock")
    return Path(settings.database_url.split("///", 1)[1]).resolve()


def test_a_writer_asks_for_the_write_lock_every_millisecond_or_so_and_gets_it_once_free(settings, monkeypatch):
    """SQLite's own busy handler sleeps up to 100 ms between tries, leaving the lock free while every
    waiter sleeps: the dialect asks again after a fraction of a millisecond (never more than
    `_LONGEST_PAUSE`), and the connection's busy timeout is the same afterwards."""
    import sqlite3

    from app import dialect

    database = _sqlite_only(settings)
    pauses: list[float] = []
    holder = sqlite3.connect(database, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    real_wait = dialect._wait

    def wait(bell: threading.Condition, seconds: float) -> bool:
        pauses.append(seconds)
        if len(pauses) == 20:
            holder.rollback()  # the other writer (another process: no bell) is done
        return real_wait(bell, seconds)

    monkeypatch.setattr(dialect, "_wait", wait)
    engine = make_engine(settings.database_url, lock_timeout=5)
    try:
        with engine.begin() as c:
            c.exec_driver_sql("INSERT INTO stats_stale (month) VALUES ('2026-02')")
        with engine.connect() as c:
            assert c.exec_driver_sql("SELECT count(*) FROM stats_stale WHERE month = '2026-02'").scalar_one() == 1
            assert c.exec_driver_sql("PRAGMA busy_timeout").scalar_one() == 5_000
    finally:
        engine.dispose()
        holder.close()
    assert len(pauses) >= 20
    assert max(pauses) <= dialect._LONGEST_PAUSE  # not SQLite's 25-100 ms


def test_a_writer_waiting_for_the_lock_goes_on_as_soon_as_a_writer_of_its_process_ends(settings, monkeypatch):
    """A waiting writer does not sleep out its pause when the writer holding the lock is in its own
    process: that one's commit wakes it (here the pause is 30 s, and it gets the lock at once)."""
    from app import dialect

    _sqlite_only(settings)
    monkeypatch.setattr(dialect, "_FIRST_PAUSE", 30.0)
    monkeypatch.setattr(dialect, "_LONGEST_PAUSE", 30.0)
    waiting = threading.Event()
    real_wait = dialect._wait

    def wait(bell: threading.Condition, seconds: float) -> bool:
        waiting.set()
        return real_wait(bell, seconds)

    monkeypatch.setattr(dialect, "_wait", wait)
    engine = make_engine(settings.database_url, lock_timeout=120)
    took: list[float] = []

    def second_writer() -> None:
        with engine.begin() as c:
            c.exec_driver_sql("INSERT INTO stats_stale (month) VALUES ('2026-05')")
        took.append(time.monotonic())

    try:
        with engine.begin() as c:
            c.exec_driver_sql("INSERT INTO stats_stale (month) VALUES ('2026-04')")
            other = threading.Thread(target=second_writer)
            other.start()
            assert waiting.wait(10), "the second writer never waited for the lock"
            assert not took
        ended = time.monotonic()
        other.join(40)
        assert took and took[0] - ended < 10  # not the 30 s pause
        with engine.connect() as c:
            assert c.exec_driver_sql("SELECT count(*) FROM stats_stale WHERE month IN ('2026-04', '2026-05')"
                                     ).scalar_one() == 2
    finally:
        engine.dispose()


def test_sqlite_connections_stay_open_between_requests_under_load(settings):
    """A busy process reuses its SQLite connections: none is closed after use and opened again
    (each opening sets the pragmas and syncs the folder)."""
    from sqlalchemy import event

    from app.db import SQLITE_CONNECTIONS

    _sqlite_only(settings)
    engine = make_engine(settings.database_url)
    opened: list[object] = []
    event.listen(engine, "connect", lambda conn, _record: opened.append(conn))
    at_once = threading.Barrier(SQLITE_CONNECTIONS)

    def request() -> None:
        with engine.connect() as c:
            c.exec_driver_sql("SELECT count(*) FROM cases").scalar_one()
            at_once.wait(10)  # all of them hold a connection at the same time

    try:
        for _ in range(3):
            threads = [threading.Thread(target=request) for _ in range(SQLITE_CONNECTIONS)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(20)
        assert len(opened) == SQLITE_CONNECTIONS
    finally:
        engine.dispose()


def test_a_writer_that_never_gets_the_lock_gives_up_after_the_busy_timeout(settings):
    import sqlite3

    database = _sqlite_only(settings)
    holder = sqlite3.connect(database, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    engine = make_engine(settings.database_url, lock_timeout=0.3)
    try:
        started = time.monotonic()
        with pytest.raises(OperationalError, match="database is locked"), engine.begin() as c:
            c.exec_driver_sql("INSERT INTO stats_stale (month) VALUES ('2026-03')")
        assert 0.25 <= time.monotonic() - started < 5
        holder.rollback()
        with engine.begin() as c:  # the connection is usable again, with its timeout as it was
            c.exec_driver_sql("INSERT INTO stats_stale (month) VALUES ('2026-03')")
            assert c.exec_driver_sql("PRAGMA busy_timeout").scalar_one() == 300
    finally:
        engine.dispose()
        holder.close()


def test_writes_run_by_the_driver_store_what_sqlalchemy_would_and_fail_as_sqlalchemy_errors(client, settings):
    """`app.db.for_driver` converts values with each column type's own converter (UUIDs, times with
    their zone, bytes); a driver error comes back as SQLAlchemy's, and the transaction rolls back whole."""
    import uuid
    from datetime import UTC, datetime

    from sqlalchemy import insert, select
    from sqlalchemy.exc import IntegrityError
    from sqlalchemy.orm import Session

    from app.cases.models import Case
    from app.crypto.holders import wrap_insert
    from app.crypto.models import CaseKeyWrap
    from app.db import for_driver, run_for_driver, table_of
    from app.stats.models import StatsStale

    _sqlite_only(settings)
    reference = client.post("/api/v1/reports", json={"description": "My manager shouts at me."}).json()["reference"]
    engine = make_engine(settings.database_url)
    stale = insert(table_of(StatsStale)).values(month=__import__("sqlalchemy").bindparam("month"))
    at = datetime(2026, 5, 1, 9, 30, tzinfo=UTC)
    try:
        with Session(engine) as s:
            case_id = s.scalar(select(Case.id).where(Case.reference == reference))
            row = {"case_id": case_id, "holder": b"h" * 32, "part": "case", "wrapped": b"w", "created_at": at}
            with pytest.raises(IntegrityError):  # no such case: the foreign key refuses it
                run_for_driver(s, [for_driver(s, stale, {"month": "2026-04"}),
                                   for_driver(s, wrap_insert(), {**row, "case_id": uuid.UUID(int=7)})])
            s.rollback()
            assert s.get(StatsStale, "2026-04") is None  # the write before it went too
            run_for_driver(s, [for_driver(s, wrap_insert(), row)])
            s.commit()
            stored = s.scalars(select(CaseKeyWrap).where(CaseKeyWrap.holder == b"h" * 32)).one()
            assert (stored.case_id, stored.part, stored.wrapped, stored.created_at) == (case_id, "case", b"w", at)
    finally:
        engine.dispose()
