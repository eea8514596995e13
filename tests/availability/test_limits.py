"""Slow clients are cut off: headers, bodies and idle connections each have a deadline. Driven over
real sockets against uvicorn configured as `safeshare serve` does."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.availability.conftest import raw_request, read_until_closed


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"header_timeout_seconds": 0.5, "body_timeout_seconds": 0.5, "keep_alive_seconds": 1}


def _post_head(host: str, length: int) -> bytes:
    return (f"POST /api/v1/reports HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {length}\r\n\r\n").encode()


def test_a_body_trickled_too_slowly_is_answered_408_and_the_connection_closed(served: str) -> None:
    sock = raw_request(served)
    sock.sendall(_post_head(served, 1000))
    start = time.monotonic()
    sent = 0
    try:
        while time.monotonic() - start < 3:
            sock.sendall(b" ")
            sent += 1
            time.sleep(0.1)
    except OSError:
        pass  # the server closed the connection while we were still trickling
    data, _ = read_until_closed(sock, timeout=5)
    assert data.startswith(b"HTTP/1.1 408"), data[:200]
    assert b"application/problem+json" in data
    assert sent < 25  # cut off after about half a second, not after the three seconds we tried


def test_unfinished_headers_are_answered_408_and_the_connection_closed(served: str) -> None:
    sock = raw_request(served)
    sock.sendall(f"GET /api/v1/themes HTTP/1.1\r\nHost: {served}\r\nUser-Agent: slow".encode())
    data, took = read_until_closed(sock, timeout=5)
    assert data.startswith(b"HTTP/1.1 408"), data[:200]
    assert took < 3


def test_a_silent_connection_is_closed(served: str) -> None:
    sock = raw_request(served)
    data, took = read_until_closed(sock, timeout=5)
    assert data.startswith(b"HTTP/1.1 408") and took < 3


def test_an_idle_keep_alive_connection_is_closed_after_the_keep_alive_timeout(served: str) -> None:
    sock = raw_request(served)
    sock.sendall(f"GET /api/v1/themes HTTP/1.1\r\nHost: {served}\r\n\r\n".encode())
    data, took = read_until_closed(sock, timeout=5)
    assert data.startswith(b"HTTP/1.1 200")
    assert 0.5 < took < 3  # kept open for the keep-alive timeout (1 s), then closed


def test_a_client_that_keeps_its_connection_busy_is_served_request_after_request(served: str) -> None:
    with httpx.Client(base_url=f"http://{served}", timeout=5) as c:
        for _ in range(3):
            assert c.get("/api/v1/themes").status_code == 200
            time.sleep(0.6)  # longer than the header timeout, shorter than keep-alive
