"""The utility bench runs (its short mode), and the board paper's history keeps its headline figures."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_utility_bench_runs_and_the_board_reads_its_table() -> None:
    done = subprocess.run([sys.executable, "bench/stats/utility.py", "--quick"], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, env={"SAFESHARE_LOG_LEVEL": "WARNING", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-2000:]
    rows = {m[0]: [int(x) for x in m[1:]] for m in re.findall(
        r"^\| (\w+) \| (\d+) \| (\d+) \| \d+% \| (\d+) \| (\d+) \|$", done.stdout, re.M)}
    cells, exact, totals, totals_exact = rows["all"]
    assert cells == 14 and exact >= 8 and totals_exact == totals == 1  # since launch: 71 and the big themes
    assert rows["month"][2] == rows["month"][3] == 21  # every month's total
