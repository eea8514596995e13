"""Load N synthetic cases (default one million) spread over three years into a PostgreSQL database.

    .venv/bin/python bench/stats/generate.py postgresql+psycopg://postgres@127.0.0.1:5432/DBNAME [--cases N]

The database must already be migrated (bench/stats/run.py creates, migrates, loads, measures and
drops one for you). The rows are made by PostgreSQL itself (one INSERT ... SELECT over
generate_series, in chunks of a million), so five million take minutes, not an hour; then
VACUUM ANALYZE, as autovacuum would do. Only the statistical columns are filled: texts stay null,
as after a retention purge. 20 locations (two with a headcount too small to show) are created;
a case has a location 70% of the time. 2% stay untriaged; 3% were recorded more than 28 days late.
"""

from __future__ import annotations

import argparse
import time

import psycopg

from app.themes.defaults import DEFAULT_THEMES

START = "2023-01-01"
MONTHS = 36
# Relative frequency of each default theme; homophobia is kept rare so that some cells are small.
WEIGHTS = [9, 12, 5, 14, 16, 15, 4, 6, 3, 2, 3, 5, 0.004, 6]
LOCATIONS = 20
CHUNK = 1_000_000


def libpq_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def _theme_case() -> str:
    """SQL: a theme slug drawn by WEIGHTS from r (uniform 0..1)."""
    total = sum(WEIGHTS)
    acc = 0.0
    whens = []
    for (slug, _name), w in zip(DEFAULT_THEMES, WEIGHTS, strict=True):
        acc += w / total
        whens.append(f"WHEN r.t < {acc:.8f} THEN '{slug}'")
    return "CASE " + " ".join(whens) + f" ELSE '{DEFAULT_THEMES[-1][0]}' END"


INSERT = """
INSERT INTO cases (id, created_at, reference, channel, status, anonymous, about, reporter_themes,
                   primary_theme, location, risk, wishes, received_at, received_month,
                   out_of_hours, duration_minutes, acknowledged_at, triaged_at)
SELECT gen_random_uuid(),
       r.received + CASE WHEN r.late < 0.03 THEN interval '40 days' ELSE interval '5 minutes' END,
       'B' || lpad(g::text, 10, '0'),
       r.channel, CASE WHEN r.u < 0.02 THEN 'received' ELSE 'closed' END,
       random() < 0.6,
       CASE WHEN r.a < 0.60 THEN 'self' WHEN r.a < 0.95 THEN 'colleague' ELSE 'other' END,
       '[]',
       CASE WHEN r.u < 0.02 THEN NULL ELSE {theme} END,
       CASE WHEN r.l < 0.7 THEN 'loc' || lpad((floor(r.l / 0.7 * {locations}))::int::text, 2, '0') END,
       'standard', '[]', r.received, to_char(r.received, 'YYYY-MM'),
       random() < 0.3,
       CASE WHEN r.channel = 'phone' THEN 5 + floor(random() * 56)::int END,
       CASE WHEN random() < 0.9 THEN r.received + random() * interval '120 hours' END,
       CASE WHEN r.u < 0.02 THEN NULL ELSE r.received + random() * interval '3 days' END
FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS g,
LATERAL (SELECT timestamptz '{start} 00:00:00+00' + (random() + g * 0) * interval '{months} months' AS received,
                random() + g * 0 AS t, random() + g * 0 AS u, random() + g * 0 AS l, random() + g * 0 AS a,
                random() + g * 0 AS late,
                (ARRAY['web','web','web','web','web','web','web','phone','phone','email'])[1 + floor(random() * 10 + g * 0)::int]
                    || '' AS channel) AS r
"""


def load(url: str, n: int) -> float:
    began = time.perf_counter()
    sql = INSERT.format(theme=_theme_case(), locations=LOCATIONS, start=START, months=MONTHS)
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO locations (slug, name, kind, headcount, active, position) VALUES (%s, %s, 'station', %s, true, %s)",
                [(f"loc{i:02d}", f"Station {i}", 6 if i < 2 else 40 + i, i) for i in range(LOCATIONS)],
            )
            for first in range(0, n, CHUNK):
                cur.execute(sql, {"first": first, "last": min(n, first + CHUNK) - 1})
                print(f"  {min(n, first + CHUNK):,} cases", flush=True)
        conn.execute("VACUUM ANALYZE cases")
    return time.perf_counter() - began


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("url")
    p.add_argument("--cases", type=int, default=1_000_000)
    a = p.parse_args()
    print(f"loaded {a.cases} cases in {load(a.url, a.cases):.1f} s")
