"""Statistics benchmark: N cases (default one million) over three years in PostgreSQL.

    .venv/bin/python bench/stats/run.py [--cases N] [--out FILE] [--admin-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

Creates a database of its own (safeshare_bench_stats_<random>), migrates it, loads the cases with
bench/stats/generate.py, builds the monthly roll-up (timed), and measures, for several periods,
the raw GROUP BY the themes table used to run, `theme_table`, `location_table` and `summary`
through the service, and the three endpoints over HTTP (a real uvicorn server on 127.0.0.1);
writes the markdown to --out (default bench/stats/results-<N>.md) and drops the database again,
whatever happens.
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx
import sqlalchemy as sa
import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from app import flows, migrate  # noqa: E402
from app.audit.service import Actor  # noqa: E402
from app.auth import service as auth  # noqa: E402
from app.config import load_settings  # noqa: E402
from app.enums import Role  # noqa: E402
from app.main import create_app  # noqa: E402
from app.stats import rollup, service  # noqa: E402
from app.stats.schemas import Bucket  # noqa: E402
from bench.stats import generate  # noqa: E402

PERIODS = [
    ("whole range (defaults: 36 months)", None, None),
    ("18 months 2023-07..2024-12", "2023-07", "2024-12"),
    ("one year 2024", "2024-01", "2024-12"),
    ("one quarter 2025-01..2025-03", "2025-01", "2025-03"),
    ("one month 2024-06", "2024-06", "2024-06"),
]
RUNS = 7
_RUNS = [RUNS]  # --runs
HERE = Path(__file__).resolve().parent


def timed(fn, runs: int | None = None) -> tuple[float, float]:
    runs = _RUNS[0] if runs is None else runs
    fn()  # warm-up
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    return statistics.median(samples), max(samples)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cases", type=int, default=1_000_000)
    p.add_argument("--out", default=None)
    p.add_argument("--periods", type=int, default=len(PERIODS), help="measure only the first N periods (the suite's short run: 1)")
    p.add_argument("--runs", type=int, default=RUNS, help="timed runs of each figure after one warm-up (the suite's short run: 1)")
    p.add_argument("--admin-url", default=os.environ.get("SAFESHARE_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"))
    a = p.parse_args()
    _RUNS[0] = a.runs
    del PERIODS[a.periods:]

    name = f"safeshare_bench_stats_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(a.admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = a.admin_url.rsplit("/", 1)[0] + f"/{name}"
    try:
        migrate.upgrade(url)
        load_s = generate.load(url, a.cases)
        print(f"loaded {a.cases} cases in {load_s:.1f} s", flush=True)
        lines = measure(url, a.cases, load_s)
        out = Path(a.out) if a.out else HERE / f"results-{a.cases}.md"
        out.write_text("\n".join(lines) + "\n")
        print("\n".join(lines))
    finally:
        with admin.connect() as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def measure(url: str, n_cases: int, load_s: float) -> list[str]:
    tmp = Path(tempfile.mkdtemp())
    settings = load_settings(database_url=url, key_file=tmp / "keys.json")
    app = create_app(settings)
    sessions = app.state.sessionmaker
    with sessions() as s, s.begin():
        auth.create_user(s, app.state.passwords, email="bench@example.org", name="Bench", roles=[Role.LEADERSHIP],
                         password="bench password 1234", by=Actor.system("bench"))
        flows.finish(s)  # the notices of the new accounts join the outbox
    began = time.perf_counter()
    with sessions() as s, s.begin():
        months = rollup.refresh(s)
    refresh_s = time.perf_counter() - began
    began = time.perf_counter()
    with sessions() as s, s.begin():
        rollup.refresh(s, ["2024-06"])
    one_month_s = time.perf_counter() - began

    def via_service(fn, f, t, b=None):
        with sessions() as s:
            if b is None:
                fn(s, min_cell=settings.min_cell, from_month=f, to_month=t)
            else:
                fn(s, min_cell=settings.min_cell, from_month=f, to_month=t, bucket=b)

    def raw_group_by(f, t):
        with sessions() as s:
            s.execute(sa.text(
                "SELECT received_month, primary_theme, count(*) FROM cases WHERE received_month BETWEEN :f AND :t "
                "GROUP BY received_month, primary_theme"), {"f": f or "2023-01", "t": t or "2025-12"}).all()

    # The suppression decision from cold (a new process: the whole chain of monthly decisions), then cached.
    from app.stats import suppression

    suppression._cache.clear()
    began = time.perf_counter()
    via_service(service.theme_table, None, None, Bucket.ALL)
    cold_s = time.perf_counter() - began

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    http = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60)
    token = http.post("/api/v1/auth/login", json={"email": "bench@example.org", "password": "bench password 1234"}).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}

    def via_http(path, f, t, b=None):
        params = {"bucket": b.value} if b else {}
        if f:
            params |= {"from": f, "to": t}
        r = http.get(path, params=params, headers=headers)
        r.raise_for_status()

    with sessions() as s:
        pg_version = s.execute(sa.text("show server_version")).scalar()

    out = [
        f"# Statistics benchmark: {n_cases:,} cases",
        "",
        f"{n_cases:,} cases over 36 months (2023-01..2025-12), 20 locations, PostgreSQL {pg_version}, "
        f"Python {platform.python_version()}, {os.cpu_count()} CPU(s) shared with other work; "
        f"generated in the database in {load_s:.0f} s. Roll-up built from scratch in {refresh_s:.1f} s "
        f"({len(months)} months); one month re-rolled in {one_month_s * 1000:.0f} ms. "
        f"Each figure: median and worst of {_RUNS[0]} runs after one warm-up, in ms. The first themes table "
        f"after a start (the suppression decisions of every settled month worked out and cached) took "
        f"{cold_s:.1f} s.",
        "",
        "Command (creates, loads, measures and drops its own database):",
        "",
        "```",
        f".venv/bin/python bench/stats/run.py --cases {n_cases}",
        "```",
        "",
        "| period | bucket | raw GROUP BY (old themes query) | themes | locations | themes HTTP | locations HTTP |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for label, f, t in PERIODS:
        rm, rx = timed(lambda f=f, t=t: raw_group_by(f, t))
        for b in Bucket:
            tm, tx = timed(lambda f=f, t=t, b=b: via_service(service.theme_table, f, t, b))
            lm, lx = timed(lambda f=f, t=t, b=b: via_service(service.location_table, f, t, b))
            thm, thx = timed(lambda f=f, t=t, b=b: via_http("/api/v1/stats/themes", f, t, b))
            lhm, lhx = timed(lambda f=f, t=t, b=b: via_http("/api/v1/stats/locations", f, t, b))
            row = (f"| {label} | {b.value} | {rm:.0f} / {rx:.0f} | {tm:.0f} / {tx:.0f} | {lm:.0f} / {lx:.0f} "
                   f"| {thm:.0f} / {thx:.0f} | {lhm:.0f} / {lhx:.0f} |")
            print(row, flush=True)
            out.append(row)
    out += ["", "Summary (median / worst, ms):", "",
            "| period | service | HTTP |", "| --- | ---: | ---: |"]
    for label, f, t in PERIODS:
        sm, sx = timed(lambda f=f, t=t: via_service(service.summary, f, t))
        hm, hx = timed(lambda f=f, t=t: via_http("/api/v1/stats/summary", f, t))
        row = f"| {label} | {sm:.0f} / {sx:.0f} | {hm:.0f} / {hx:.0f} |"
        print(row, flush=True)
        out.append(row)
    # One settled month changed and not yet refreshed (a late contact or a triage): counted raw.
    with sessions() as s, s.begin():
        rollup.mark_stale(s, ["2025-12"])
    out += ["", "With one settled month stale (2025-12 counted from raw rows, refresh not yet run), whole range:", "",
            "| table | service median / worst |", "| --- | ---: |"]
    for name, fn, b in (("themes", service.theme_table, Bucket.MONTH), ("locations", service.location_table, Bucket.MONTH),
                        ("summary", service.summary, None)):
        m, x = timed(lambda fn=fn, b=b: via_service(fn, None, None, b))
        out.append(f"| {name} | {m:.0f} / {x:.0f} |")
        print(out[-1], flush=True)
    # Utility: the share of non-zero cells shown (a shown number is exact: the tests prove it), whole range.
    out += ["", "Utility over the whole range: non-zero cells (raw counts) and how many are shown:", "",
            "| table | bucket | cells > 0 | shown | share |", "| --- | --- | ---: | ---: | ---: |"]
    with sessions() as s:
        raw = {"themes": s.execute(sa.text("SELECT received_month, primary_theme, count(*) FROM cases "
                                           "WHERE primary_theme IS NOT NULL GROUP BY 1, 2")).all(),
               "locations": s.execute(sa.text("SELECT received_month, location, count(*) FROM cases "
                                              "WHERE location IS NOT NULL GROUP BY 1, 2")).all()}
        rng = service.resolve_range(s, None, None)
        for name, fn, key in (("themes", service.theme_table, "theme"), ("locations", service.location_table, "location")):
            truth = {(row_key, month): n for month, row_key, n in raw[name]}
            for b in Bucket:
                table = fn(s, min_cell=settings.min_cell, from_month=None, to_month=None, bucket=b)
                spans = service.periods(rng, b)
                cells = shown = 0
                for row in table.rows:
                    for (_label, months), v in zip(spans, row.counts, strict=True):
                        if sum(truth.get((getattr(row, key), m), 0) for m in months):
                            cells += 1
                            shown += v is not None
                out.append(f"| {name} | {b.value} | {cells} | {shown} | {shown / cells if cells else 0:.1%} |")
                print(out[-1], flush=True)
    server.should_exit = True
    thread.join(timeout=10)
    app.state.engine.dispose()
    return out


if __name__ == "__main__":
    main()
