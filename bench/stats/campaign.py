"""The statistics' randomised tests over many seeds: the suite runs one seed of each.

    .venv/bin/python bench/stats/campaign.py [--seeds 10] [--out bench/results/stats-campaign.md]

Runs the roll-up's exactness test, the answer-differencing test and the grid attacker's small
service with SAFESHARE_STATS_SEEDS=N (seeds 0..N-1) on both databases, and writes what passed and
how long it took.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TESTS = [
    "tests/stats/test_rollup.py::test_the_roll_up_publishes_exactly_what_the_raw_rows_give",
    "tests/stats/test_differencing_snapshots.py::test_no_two_published_answer_figures_differ_by_fewer_than_ten_answers",
    "tests/stats/test_grid_attack.py",
]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--out", type=Path, default=ROOT / "bench/results/stats-campaign.md")
    args = ap.parse_args()
    env = {**os.environ, "SAFESHARE_STATS_SEEDS": str(args.seeds)}
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-n", "2", "--dist", "loadgroup", "-p", "no:randomly", *TESTS],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    took = time.monotonic() - started
    summary = (re.findall(r"^(?:=+ )?(\d+ (?:passed|failed).*?)(?: =+)?$", done.stdout, re.M) or ["no summary"])[-1]
    failures = re.findall(r"^FAILED .*$", done.stdout, re.M)
    text = (f"# Statistics campaign: {args.seeds} seeds\n\n"
            f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `bench/stats/campaign.py --seeds {args.seeds}`, "
            f"{took:.0f} s on this machine.\n\n" + "\n".join(f"- `{t}`" for t in TESTS)
            + f"\n\nResult: **{summary}**\n" + ("".join(f"\n    {f}" for f in failures) + "\n" if failures else ""))
    args.out.write_text(text)
    print(text)
    return done.returncode


if __name__ == "__main__":
    raise SystemExit(main())
