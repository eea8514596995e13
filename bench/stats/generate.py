"""Load N synthetic cases (default one million) spread over three years into a PostgreSQL database.

    .venv/bin/python bench/stats/generate.py postgresql+psycopg://postgres@127.0.0.1:5432/DBNAME [--cases N]

The database must already be migrated (bench/stats/run.py creates, migrates, loads, measures and
drops one for you). Rows go in through COPY (psycopg), then VACUUM ANALYZE, as autovacuum would do.
Only the statistical columns are filled: texts stay null, as after a retention purge.
"""

from __future__ import annotations

import argparse
import random
import time
import uuid
from datetime import UTC, datetime, timedelta

import psycopg

from app.themes.defaults import DEFAULT_THEMES

START_YEAR = 2023
MONTHS = 36
# Relative frequency of each default theme; homophobia is kept rare so that some cells are small.
WEIGHTS = [9, 12, 5, 14, 16, 15, 4, 6, 3, 2, 3, 5, 0.004, 6]
CHANNELS = (["web"] * 70) + (["phone"] * 18) + (["email"] * 9) + (["in_person"] * 3)
ABOUT = (["self"] * 60) + (["colleague"] * 35) + (["other"] * 5)


def libpq_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def rows(n: int, seed: int = 5):
    rng = random.Random(seed)
    slugs = [s for s, _ in DEFAULT_THEMES]
    start = datetime(START_YEAR, 1, 1, tzinfo=UTC)
    span = (datetime(START_YEAR + MONTHS // 12, 1, 1, tzinfo=UTC) - start).total_seconds()
    for i in range(n):
        received = start + timedelta(seconds=rng.random() * span)
        month = received.strftime("%Y-%m")
        untriaged = rng.random() < 0.02
        theme = None if untriaged else rng.choices(slugs, WEIGHTS)[0]
        channel = rng.choice(CHANNELS)
        ooh = rng.random() < 0.3
        ack = received + timedelta(hours=rng.uniform(1, 120)) if rng.random() < 0.9 else None
        yield (
            uuid.UUID(int=rng.getrandbits(128), version=4), received, f"B{i:09d}", channel,
            "received" if untriaged else "closed", rng.random() < 0.6, rng.choice(ABOUT), "[]", "[]", theme,
            "standard", "[]", received, month, ooh, rng.randint(5, 60) if channel == "phone" else None, ack,
        )


def load(url: str, n: int) -> float:
    began = time.perf_counter()
    with psycopg.connect(libpq_url(url), autocommit=False) as conn:
        with conn.cursor() as cur:
            with cur.copy(
                "COPY cases (id, created_at, reference, channel, status, anonymous, about, reporter_themes, "
                "suggested_themes, primary_theme, risk, wishes, received_at, received_month, out_of_hours, "
                "duration_minutes, acknowledged_at) FROM STDIN"
            ) as copy:
                for row in rows(n):
                    copy.write_row(row)
        conn.commit()
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE cases")
    return time.perf_counter() - began


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("url")
    p.add_argument("--cases", type=int, default=1_000_000)
    a = p.parse_args()
    print(f"loaded {a.cases} cases in {load(a.url, a.cases):.1f} s")
