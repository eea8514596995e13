"""Fault injection with real processes (the short version of `bench/availability/faults.py`): the
database's writer dies at random moments during a stream of submissions, and no acknowledged
report is lost, no case is left half-written, and the service accepts reports again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.availability import faults
from tests.conftest import PG_ADMIN_URL

TRIALS = 3


def test_killing_the_database_mid_stream_loses_no_acknowledged_report(backend: Any, tmp_path: Path) -> None:
    # SQLite: the serving process, its only writer, is killed with SIGKILL and started again.
    # PostgreSQL: every backend serving the database is terminated (restarts: the bench only).
    result = faults.run(backend.name, TRIALS, workdir=tmp_path, clients=3, seed=7,
                        database_url=PG_ADMIN_URL if backend.name == "postgresql" else None)
    assert result["trials"] == TRIALS and result["never_served_again"] == 0
    assert result["acknowledged"] > 0
    assert result["acknowledged_lost"] == 0, result["lost_references"]
    assert result["partial_cases"] == 0, result["partial_references"]
    assert result["duplicates"] == 0
    assert result["audit_chain"]["intact"]
    assert result["sqlite_integrity_check"] == "ok"
    assert result["unexpected_statuses"] == {}, result["server_errors"]
