"""Every bench runs in the suite, in a short mode (tiny data, a second of load), so a bench that no
longer runs fails here rather than on the day someone needs its figures. The figures themselves
mean nothing at this size: only that each bench completes and its report is written. Already run
elsewhere: bench/attachments (tests/attachments/test_bench.py) and bench/availability/faults
(tests/availability/test_faults.py), bench/search (tests/console/test_search_bench.py),
bench/risk (tests/console/test_risk_words.py), bench/stats/board.py, utility.py and campaign.py
(tests/stats)."""

from __future__ import annotations

import argparse
import concurrent.futures
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CI


@pytest.fixture
def wrk() -> None:
    if shutil.which("wrk") is None:
        if CI:
            pytest.fail("wrk is required under CI=true (scripts/test installs it with apt)")
        pytest.skip("wrk is not installed")


def test_the_reporter_bench_runs_and_leaves_an_intact_audit_chain(backend: Any, wrk: None, tmp_path: Path) -> None:
    from bench.reporter import run as bench

    result = bench.run_backend(backend.name, duration=1, connections=2, rounds=1, receipts=3)
    assert result["submit"]["requests"] > 0 and result["submit"]["non_2xx"] == 0
    assert result["redeem"]["non_2xx"] == 0 and result["read_case"]["non_2xx"] == 0
    assert result["audit_chain"]["intact"] and result["audit_chain"]["entries"] > 0
    # the servers' CPU per request, measured beside the requests per second
    assert result["rounds"][0]["floor_cpu_ms"] > 0 and result["rounds"][0]["submit_cpu_ms"] > 0
    assert result["submit_vs_floor_by_cpu"] > 0
    out = tmp_path / "reporter.md"
    bench.write_markdown([result], argparse.Namespace(connections=2, duration=1), out)
    assert "anonymous submission" in out.read_text()


def test_the_console_bench_runs(backend: Any, wrk: None, tmp_path: Path) -> None:
    if backend.name != "postgresql":
        pytest.skip("the console bench runs on PostgreSQL only")
    from bench.console import run as bench

    result = bench.run(20, 1, 2, 1, sequence_runs=5)  # the pages are warmed before the clock starts
    assert result["cases"] == 20 and len(result["rounds"]) == 1
    assert all(x["requests"] > 0 and x["non_2xx"] == 0 for x in result["rounds"][0].values())
    out = tmp_path / "console.md"
    bench.write_markdown(result, argparse.Namespace(cases=20, duration=1, connections=2, rounds=1), out)
    assert out.read_text().strip()


def test_the_burst_bench_runs(backend: Any, tmp_path: Path) -> None:
    if backend.name != "sqlite":
        pytest.skip("one database is enough to see that it runs")
    from bench.availability import burst as bench

    args = argparse.Namespace(backends="sqlite", rounds=1, clients=5, duration=1,
                              safeshare=str(bench.VENV_BIN / "safeshare"), out=str(tmp_path / "burst"))
    # in a thread of its own: the bench calls asyncio.run, and this worker may hold a running loop
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        result = pool.submit(bench.run_backend, "sqlite", args).result()
    assert len(result["bursts"]["safeshare"]) == 1 and set(result["sustained"]) == {"floor", "safeshare"}
    bench.write_markdown([result], args, tmp_path / "burst.md")
    assert (tmp_path / "burst.md").read_text().strip()


def test_the_security_bench_runs_its_self_promotion_scenario(backend: Any) -> None:
    if backend.name != "sqlite":
        pytest.skip("one database is enough to see that it runs")
    from bench.security import run as bench

    serve = bench.Serve("sqlite")
    try:
        result = bench.self_promotion(serve)
    finally:
        serve.stop()
    assert result["patch_own_roles"]["status"] == 403 and result["get_cases_after"] == 403


def test_the_keys_bench_runs(tmp_path: Path) -> None:
    from bench.keys import run as bench

    result = bench.run(rounds=2, readers=2, argon2=(1, 8, 1), sign_in_rounds=1)
    assert result["database"]["wraps_per_case"] == 2
    out = tmp_path / "keys.md"
    bench.write_markdown(result, out)
    assert "opening a case key" in out.read_text()


def test_the_seal_locks_bench_runs(tmp_path: Path) -> None:
    from bench.keys import seal as bench

    result = bench.run(cases=3)
    assert result["sqlite"]["cases"] == result["postgresql"]["cases"] == 3
    out = tmp_path / "seal.md"
    bench.write_markdown(result, out)
    assert "| postgresql |" in out.read_text()


def test_the_statistics_and_equality_benches_run(backend: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if backend.name != "postgresql":
        pytest.skip("the statistics and equality benches load PostgreSQL only")
    import sys

    # 20,000 rows load in a second; fewer cases would be slower (small counts make the suppression
    # work hard) and no more telling.
    from bench.equality import run as equality
    from bench.stats import run as stats

    monkeypatch.setattr(sys, "argv", ["run.py", "--cases", "20000", "--runs", "1", "--periods", "1", "--out", str(tmp_path / "stats.md")])
    stats.main()
    assert "| " in (tmp_path / "stats.md").read_text()
    monkeypatch.setattr(sys, "argv", ["run.py", "--respondents", "20000", "--runs", "1", "--out", str(tmp_path / "equality.md")])
    equality.main()
    assert "Monthly counts identical to the raw GROUP BY: True" in (tmp_path / "equality.md").read_text()
