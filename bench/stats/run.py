"""Themes-query benchmark: one million cases over three years in PostgreSQL.

    .venv/bin/python bench/stats/run.py [--cases N] [--admin-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

Creates a database of its own (safeshare_bench_stats_<random>), migrates it, loads the cases with
bench/stats/generate.py, measures `app.stats.service.theme_table` and `GET /api/v1/stats/themes`
(a real uvicorn server on 127.0.0.1) for every bucket over several periods, writes
bench/stats/results.md, and drops the database again, whatever happens.
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

from app import migrate  # noqa: E402
from app.audit.service import Actor  # noqa: E402
from app.auth import service as auth  # noqa: E402
from app.config import load_settings  # noqa: E402
from app.enums import Role  # noqa: E402
from app.main import create_app  # noqa: E402
from app.stats import service  # noqa: E402
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
HERE = Path(__file__).resolve().parent


def timed(fn, runs: int = RUNS) -> tuple[float, float]:
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
    p.add_argument("--admin-url", default=os.environ.get("SAFESHARE_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"))
    a = p.parse_args()

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
        (HERE / "results.md").write_text("\n".join(lines) + "\n")
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

    def via_service(f, t, b):
        with sessions() as s:
            service.theme_table(s, min_cell=settings.min_cell, from_month=f, to_month=t, bucket=b)

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    http = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60)
    token = http.post("/api/v1/auth/login", json={"email": "bench@example.org", "password": "bench password 1234"}).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}

    def via_http(f, t, b, path="/api/v1/stats/themes"):
        params = {"bucket": b.value} if b else {}
        if f:
            params |= {"from": f, "to": t}
        r = http.get(path, params=params, headers=headers)
        r.raise_for_status()

    with sessions() as s:
        plan = "\n".join(r[0] for r in s.execute(sa.text(
            "EXPLAIN (ANALYZE, BUFFERS) SELECT received_month, primary_theme, count(*) FROM cases "
            "WHERE received_month BETWEEN '2023-01' AND '2025-12' GROUP BY received_month, primary_theme")))
        pg_version = s.execute(sa.text("show server_version")).scalar()

    out = [
        "# Themes query benchmark",
        "",
        f"{n_cases:,} cases over 36 months (2023-01..2025-12), PostgreSQL {pg_version}, "
        f"Python {platform.python_version()}, {os.cpu_count()} CPU(s) shared with other work; "
        f"loaded with COPY in {load_s:.0f} s. Each figure: median and worst of {RUNS} runs after one warm-up, in ms.",
        "",
        "Command (creates, loads, measures and drops its own database):",
        "",
        "```",
        f".venv/bin/python bench/stats/run.py --cases {n_cases}",
        "```",
        "",
        "| period | bucket | service median | service max | HTTP median | HTTP max |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for label, f, t in PERIODS:
        for b in Bucket:
            sm, sx = timed(lambda f=f, t=t, b=b: via_service(f, t, b))
            hm, hx = timed(lambda f=f, t=t, b=b: via_http(f, t, b))
            row = f"| {label} | {b.value} | {sm:.0f} | {sx:.0f} | {hm:.0f} | {hx:.0f} |"
            print(row, flush=True)
            out.append(row)
    out += ["", "Summary endpoint (not required to be fast; shown for reference):", "",
            "| period | HTTP median | HTTP max |", "| --- | ---: | ---: |"]
    for label, f, t in PERIODS:
        hm, hx = timed(lambda f=f, t=t: via_http(f, t, None, "/api/v1/stats/summary"), runs=3)
        out.append(f"| {label} | {hm:.0f} | {hx:.0f} |")
    out += ["", "Plan of the counting query over the whole range:", "", "```", plan, "```"]
    server.should_exit = True
    thread.join(timeout=10)
    app.state.engine.dispose()
    return out


if __name__ == "__main__":
    main()
