"""Statistics utility: the share of non-zero cells the board can read exactly (issue 19).

    .venv/bin/python bench/stats/utility.py [--out bench/results/stats-utility.md] [--quick]

For the board paper's own history (71 contacts, January 2023 to September 2024, 3-6 a month, 14
themes) at min_cell 3, loaded two ways -- as history loaded before going live (one snapshot) and as
recorded month by month while the service ran (every month's decision held fixed) -- it asks the
themes and locations tables for every bucket over the default range and counts, per bucket, the
non-zero cells (theme x period, and each period's total) that come back exactly, against the true
counts. Run against another checkout (`--root`) to measure the code before a change.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ap.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[2], help="the checkout to measure")
ap.add_argument("--out", type=Path, default=None)
ap.add_argument("--quick", action="store_true", help="the suite's short run: the history only, no file written")
ARGS = ap.parse_args()
sys.path.insert(0, str(ARGS.root))

from sqlalchemy import create_engine, select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from app import clock, migrate  # noqa: E402
from app.enums import Channel  # noqa: E402
from app.stats import service  # noqa: E402
from app.stats.schemas import Bucket  # noqa: E402
from app.themes.models import Theme  # noqa: E402
from tests.stats.factory import add_case  # noqa: E402

MIN_CELL = 3
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from bench.stats.board import board_history  # noqa: E402


def load(db: Session, live: bool) -> dict[tuple[str, str], int]:
    slugs = set(db.scalars(select(Theme.slug)).all())
    rnd = random.Random(3)
    truth: dict[tuple[str, str], int] = {}
    for i, (month, theme) in enumerate(board_history()):
        theme = theme if theme in slugs else "other"
        day = 1 + i % 27
        if live:  # recorded as it came
            clock.set_frozen(datetime(int(month[:4]), int(month[5:7]), day, 12, tzinfo=UTC))
        add_case(db, month=month, theme=theme, day=day, channel=rnd.choice([Channel.WEB, Channel.PHONE]),
                 anonymous=rnd.random() < 0.4)
        truth[(theme, month)] = truth.get((theme, month), 0) + 1
    db.commit()
    return truth


def measure(db: Session, truth: dict[tuple[str, str], int]) -> list[tuple[str, int, int, int, int]]:
    clock.set_frozen(datetime(2024, 12, 2, 9, tzinfo=UTC))
    rows = []
    for bucket in Bucket:
        t = service.theme_table(db, min_cell=MIN_CELL, from_month="2023-01", to_month="2024-09", bucket=bucket)
        spans = service.periods(service.resolve_range(db, "2023-01", "2024-09"), bucket)
        cells = exact = totals = totals_exact = 0
        for row in t.rows:
            for (_label, months), shown in zip(spans, row.counts, strict=True):
                n = sum(truth.get((row.theme, m), 0) for m in months)
                if n:
                    cells += 1
                    exact += shown == n
        for (_label, months), shown in zip(spans, t.totals.counts, strict=True):
            n = sum(v for (_th, m), v in truth.items() if m in months)
            if n:
                totals += 1
                totals_exact += shown == n
        rows.append((bucket.value, cells, exact, totals, totals_exact))
    return rows


def run(live: bool) -> tuple[list[tuple[str, int, int, int, int]], float]:
    tmp = Path(tempfile.mkdtemp())
    url = f"sqlite:///{tmp / 'utility.db'}"
    migrate.upgrade(url)
    engine = create_engine(url)
    began = time.perf_counter()
    with Session(engine) as db:
        clock.set_frozen(datetime(2024, 12, 2, 9, tzinfo=UTC))
        truth = load(db, live)
        out = measure(db, truth)
    engine.dispose()
    clock.set_frozen(None)
    return out, time.perf_counter() - began


def main() -> None:
    lines = [f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on `{ARGS.root}`, min_cell {MIN_CELL}, "
             "the board paper's 71 contacts (2023-01..2024-09), as at 2024-12-02.", ""]
    for live in ([False] if ARGS.quick else [False, True]):
        result, took = run(live)
        lines += [f"**{'Recorded month by month (live)' if live else 'Loaded as history (one snapshot)'}** "
                  f"({took:.1f} s, solving included)", "",
                  "| bucket | theme cells > 0 | shown exactly | share | period totals > 0 | shown exactly |",
                  "| --- | ---: | ---: | ---: | ---: | ---: |"]
        for bucket, cells, exact, totals, totals_exact in result:
            lines.append(f"| {bucket} | {cells} | {exact} | {exact / cells if cells else 0:.0%} | {totals} | {totals_exact} |")
        lines.append("")
    text = "\n".join(lines)
    print(text)
    if ARGS.out and not ARGS.quick:
        ARGS.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
