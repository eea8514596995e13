"""The board paper's own history (issue 19): 71 contacts, January 2023 to September 2024, 3-6 a
month, by theme. Shared by the board-table tests and bench/stats/utility.py."""

from __future__ import annotations

import random

BOARD = {"domestic_abuse": 10, "financial_concern": 10, "misconduct": 9, "mental_health": 8, "other": 8,
         "bullying": 7, "line_manager": 4, "matrimonial": 4, "substance_misuse": 3,
         "gambling": 2, "promotion_process": 2, "industrial_action": 2, "misogyny": 1, "homophobia": 1}
MONTHS = [f"{2023 + i // 12}-{i % 12 + 1:02d}" for i in range(21)]  # 2023-01 .. 2024-09


def board_history(seed: int = 7) -> list[tuple[str, str]]:
    """(month, theme) for each of the 71 contacts: at least 3 a month, the rest spread at random."""
    rnd = random.Random(seed)
    themes = [t for t, n in BOARD.items() for _ in range(n)]
    rnd.shuffle(themes)
    sizes = [3] * len(MONTHS)
    for _ in range(len(themes) - 3 * len(MONTHS)):
        sizes[rnd.randrange(len(MONTHS))] += 1
    out, it = [], iter(themes)
    for month, k in zip(MONTHS, sizes, strict=True):
        out += [(month, next(it)) for _ in range(k)]
    return out
