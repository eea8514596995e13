"""Overload is a fast 503 with Retry-After, never a queue without end (over real sockets)."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.availability.conftest import raw_request, read_until_closed


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"concurrency_limit": 1, "keep_alive_seconds": 1}


def _post_head(host: str, length: int) -> bytes:
    return (f"POST /api/v1/reports HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {length}\r\nConnection: close\r\n\r\n").encode()


def test_one_request_too_many_is_a_503_with_retry_after_at_once(served: str) -> None:
    slow = raw_request(served)
    slow.sendall(_post_head(served, 100) + b'{"descr')  # in flight, waiting for the rest of its body
    time.sleep(0.1)
    r = httpx.get(f"http://{served}/api/v1/themes", timeout=5)
    assert r.status_code == 503
    assert r.headers["retry-after"] == "1"
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["cache-control"] == "no-store"  # the security headers are there too
    assert r.json()["status"] == 503
    slow.sendall(b'iption": "x"}' + b" " * 80)  # the rest of its body: it is answered and frees its place
    assert read_until_closed(slow, timeout=10)[0].startswith(b"HTTP/1.1 ")
    slow.close()
    assert httpx.get(f"http://{served}/api/v1/themes", timeout=5).status_code == 200


