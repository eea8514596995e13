"""Slow password hashing never blocks the event loop or starves other requests.

A burst of sign-ins with argon2 at 32 MiB is sent to a live server while a reporter
asks for the theme list. The reporter's answer must not wait for the burst: the hashes run in
their own small pool of threads (SAFESHARE_SLOW_HASH_CONCURRENCY) with no database transaction
open, so neither the shared thread pool nor SQLite's write lock is held by a hash.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from app import flows
from app.audit.service import Actor
from app.auth import service as auth
from app.enums import Role

BURST = 44  # more than the shared thread pool's 40 threads


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {
        "argon2_time_cost": 2,
        "argon2_memory_kib": 32768,
        "argon2_parallelism": 1,
        "slow_hash_concurrency": 1,
        "login_max_failures": 1000,
    }


def test_a_burst_of_sign_ins_does_not_hold_up_other_requests(app: Any, live_server: str) -> None:
    with app.state.sessionmaker() as s, s.begin():
        auth.create_user(s, app.state.passwords, email="hr@example.org", name="HR", roles=[Role.HR],
                         password="correct horse battery staple", by=Actor.system("test"))
        flows.finish(s)  # the notices of the new accounts join the outbox
    finished: list[float] = []
    lock = threading.Lock()

    def sign_in(i: int) -> int:
        password = "correct horse battery staple" if i % 2 else "wrong password, sorry"
        r = httpx.post(f"{live_server}/api/v1/auth/login", json={"email": "hr@example.org", "password": password}, timeout=120)
        with lock:
            finished.append(time.monotonic())
        return r.status_code

    with ThreadPoolExecutor(BURST) as pool:
        futures = [pool.submit(sign_in, i) for i in range(BURST)]
        time.sleep(0.2)  # the burst is in: every sign-in is queued or hashing
        themes = httpx.get(f"{live_server}/api/v1/themes", timeout=120)
        answered = time.monotonic()
        with lock:
            done_before = len(finished)
        statuses = [f.result() for f in futures]
    assert themes.status_code == 200
    assert sorted(set(statuses)) == [200, 401]
    # One hash at a time (~0.06 s each here): most of the burst was still waiting when the theme
    # list came back. Were the hashes in the shared pool, its 40 threads would all be hashing
    # and the theme list would come back only after that whole first wave.
    assert done_before <= BURST // 4, (done_before, BURST)
    assert answered < max(finished)
