"""Availability tests: a real uvicorn server in a thread, configured as `safeshare serve` configures it,
and ways to hold the database's write lock from outside the service."""

from __future__ import annotations

import contextlib
import socket
import sqlite3
import time
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from app.limits import TimelyHttpToolsProtocol
from tests.conftest import serve_in_thread


@pytest.fixture
def served(app: Any, settings: Any) -> Iterator[str]:
    """The app served as `safeshare serve` serves it: the header-timeout protocol and the
    keep-alive timeout from the settings."""
    protocol = type("Protocol", (TimelyHttpToolsProtocol,), {"header_timeout": settings.header_timeout_seconds})
    with serve_in_thread(app, http=protocol, timeout_keep_alive=settings.keep_alive_seconds) as address:
        yield address


@contextlib.contextmanager
def write_lock_held(backend_name: str, db_url: str) -> Iterator[None]:
    """Another client holds what a writer needs: SQLite's write lock; on PostgreSQL an EXCLUSIVE
    lock on `cases` and `audit_head` (plain reads go on, writes to them wait)."""
    if backend_name == "sqlite":
        conn = sqlite3.connect(db_url.split("///", 1)[1], isolation_level=None, timeout=10)
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            conn.execute("ROLLBACK")
            conn.close()
        return
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn, conn.begin():
            conn.execute(sa.text("LOCK TABLE cases, audit_head IN EXCLUSIVE MODE"))
            yield
    finally:
        engine.dispose()


def raw_request(address: str) -> socket.socket:
    host, port = address.split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    return sock


def read_until_closed(sock: socket.socket, timeout: float) -> tuple[bytes, float]:
    """Everything the server sends until it closes the connection, and how long that took."""
    sock.settimeout(timeout)
    start = time.monotonic()
    data = b""
    with contextlib.suppress(TimeoutError, ConnectionError):
        while chunk := sock.recv(4096):
            data += chunk
    return data, time.monotonic() - start
