"""Two movers at once never publish the same answers twice (PostgreSQL: FOR UPDATE skips the rows
the first mover deleted; SQLite: the second waits for the write lock and finds the pool empty)."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from sqlalchemy import func, select

from app.equality import service
from app.equality.models import EqualityAnswer, EqualityPending
from app.equality.schemas import CHARACTERISTICS, EqualityIn


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"min_cell": 3}


def test_a_second_mover_waiting_on_the_first_moves_nothing(client, app) -> None:
    for _ in range(2):
        assert client.post("/api/v1/reports", json={"description": "x", "equality": {"sex": "male"}}).status_code == 201
    ring, sessions = app.state.keyring, app.state.sessionmaker
    second: dict[str, Any] = {}

    def mover() -> None:
        with sessions() as s, s.begin():
            second["moved"] = service.publish_due(s, ring, min_cell=1)  # the pool is "due" for it at once

    with sessions() as first, first.begin():
        service.pool(first, ring, answers=EqualityIn(sex="female"), month="2026-01", min_cell=3)
        thread = threading.Thread(target=mover)
        thread.start()
        time.sleep(0.5)  # the second mover is now waiting for our rows (or the write lock)
        assert thread.is_alive()
    thread.join(10)
    assert second == {"moved": 0}
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(EqualityPending)) == 0
        assert s.scalar(select(func.count()).select_from(EqualityAnswer)) == 3 * len(CHARACTERISTICS)
