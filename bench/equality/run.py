"""Equality-table benchmark: N respondents (default one million, nine rows each) over three years in PostgreSQL.

    .venv/bin/python bench/equality/run.py [--respondents N] [--out FILE] [--admin-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

Creates a database of its own, migrates it, loads the published answers with one INSERT ... SELECT
over generate_series (random values, uniform over 36 months) and their monthly counts, as the
batches would have left them, then measures `app.stats.equality.equality_table` (which reads the
monthly counts) and, in the same run, the raw GROUP BY over every answer that it replaces, for
several periods. Writes bench/equality/results.md and drops the database, whatever happens.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from app import migrate  # noqa: E402
from app.db import make_engine, make_sessionmaker  # noqa: E402
from app.equality.schemas import CHARACTERISTICS, NOT_ANSWERED, PREFER_NOT_TO_SAY  # noqa: E402
from app.stats.equality import equality_table  # noqa: E402

PERIODS = [
    ("whole range (36 months)", "2023-01", "2025-12"),
    ("one year 2024", "2024-01", "2024-12"),
    ("one month 2024-06", "2024-06", "2024-06"),
]
RUNS = 7
_RUNS = [RUNS]  # --runs
HERE = Path(__file__).resolve().parent
RAW = sa.text(
    "SELECT month, characteristic, value, count(*) FROM equality_answers "
    "WHERE month BETWEEN :a AND :b GROUP BY month, characteristic, value"
)


def timed(fn, runs: int | None = None) -> tuple[float, float]:
    runs = _RUNS[0] if runs is None else runs
    fn()  # warm-up
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    return statistics.median(samples), max(samples)


def load(url: str, n: int) -> float:
    values = ", ".join(
        f"('{key}', ARRAY[{', '.join(repr(v) for v in (*vals, PREFER_NOT_TO_SAY, NOT_ANSWERED))}])"
        for key, vals in CHARACTERISTICS.items()
    )
    t = time.perf_counter()
    engine = make_engine(url)
    with engine.begin() as c:
        c.execute(sa.text(f"""
            INSERT INTO equality_answers (id, month, characteristic, value)
            SELECT gen_random_uuid(), to_char(date '2023-01-01' + ((r.i::bigint * 7919) % 36)::int * interval '1 month', 'YYYY-MM'),
                   k.key, k.vals[1 + floor(random() * array_length(k.vals, 1))::int]
            FROM generate_series(1, :n) AS r(i) CROSS JOIN (VALUES {values}) AS k(key, vals)
        """), {"n": n})
        c.execute(sa.text("""
            INSERT INTO equality_counts (month, characteristic, value, respondents)
            SELECT month, characteristic, value, count(*) FROM equality_answers GROUP BY month, characteristic, value
        """))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.execute(sa.text("VACUUM ANALYZE equality_answers"))
        c.execute(sa.text("VACUUM ANALYZE equality_counts"))
    engine.dispose()
    return time.perf_counter() - t


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--respondents", type=int, default=1_000_000)
    p.add_argument("--out", default=str(HERE / "results.md"))
    p.add_argument("--runs", type=int, default=RUNS, help="timed runs of each figure after one warm-up (the suite's short run: 1)")
    p.add_argument("--admin-url", default=os.environ.get("SAFESHARE_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"))
    a = p.parse_args()
    _RUNS[0] = a.runs
    name = f"safeshare_bench_equality_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(a.admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = a.admin_url.rsplit("/", 1)[0] + f"/{name}"
    try:
        migrate.upgrade(url)
        load_s = load(url, a.respondents)
        print(f"loaded {a.respondents:,} respondents in {load_s:.1f} s", flush=True)
        sessions = make_sessionmaker(make_engine(url))
        lines = [
            "# Equality table: monthly counts vs the raw GROUP BY",
            "",
            f"{a.respondents:,} respondents ({a.respondents * len(CHARACTERISTICS):,} published answers) over 36 months, "
            f"PostgreSQL, {platform.machine()} {os.cpu_count()} CPUs shared with other work; median (max) of {_RUNS[0]} runs, ms.",
            "",
            "| period | `equality_table` (monthly counts, with suppression) | raw GROUP BY over every answer |",
            "| --- | ---: | ---: |",
        ]
        for label, f, t in PERIODS:
            def table(f: str = f, t: str = t) -> None:
                with sessions() as s:
                    equality_table(s, min_cell=3, from_month=f, to_month=t)

            def raw(f: str = f, t: str = t) -> None:
                with sessions() as s:
                    s.execute(RAW, {"a": f, "b": t}).all()

            (tm, tx), (rm, rx) = timed(table), timed(raw, runs=min(3, _RUNS[0]))
            lines.append(f"| {label} | {tm:.1f} ({tx:.1f}) | {rm:.0f} ({rx:.0f}) |")
            print(lines[-1], flush=True)
        with sessions() as s:
            same = dict(((m, c, v), n) for m, c, v, n in s.execute(RAW, {"a": "2023-01", "b": "2025-12"})) == dict(
                ((m, c, v), n) for m, c, v, n in s.execute(sa.text("SELECT month, characteristic, value, respondents FROM equality_counts")))
        lines += ["", f"Monthly counts identical to the raw GROUP BY: {same}. Load: {load_s:.0f} s."]
        Path(a.out).write_text("\n".join(lines) + "\n")
        print("\n".join(lines))
    finally:
        with admin.connect() as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
