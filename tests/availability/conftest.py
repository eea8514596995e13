"""Availability tests: a real uvicorn server in a thread, configured as `safeshare serve` configures it,
and ways to hold the database's write lock from outside the service."""

from __future__ import annotations

import contextlib
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
import uvicorn

from app.limits import TimelyHttpToolsProtocol


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served(app: Any, settings: Any) -> Iterator[str]:
    """The app served as `safeshare serve` serves it: the header-timeout protocol and the
    keep-alive timeout from the settings."""
    protocol = type("Protocol", (TimelyHttpToolsProtocol,), {"header_timeout": settings.header_timeout_seconds})
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False, http=protocol,
                            timeout_keep_alive=settings.keep_alive_seconds)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn-served", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


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
