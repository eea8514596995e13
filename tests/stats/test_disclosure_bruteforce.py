"""No withheld month cell of the per-month `Grid` (app/stats/disclosure.py, which the referrals
table still uses) can be worked out from everything every query publishes. The themes, locations,
summary and equality answers are decided over the grid of periods instead and are attacked by
tests/stats/grid_attack.py (tests/stats/test_grid_attack.py, tests/stats/test_board_table.py).


For each fixture, every query is made: every (from, to) pair of months and every bucket. Every
number published (cells, row totals, period totals, grand totals, untriaged) becomes an equation
over the true month cells; tests/stats/attack.py then tries to pin down each withheld cell by
exact linear algebra and by an integer search that knows a withheld cell is never 0.
"""

from __future__ import annotations

import random
from collections import Counter

import pytest

from app.stats.disclosure import Grid, share_grids_totals
from app.stats.periods import Range, months_between
from app.stats.schemas import Bucket
from app.stats.service import periods
from tests.stats.attack import Attacker, equation

MONTHS = months_between("2024-11", "2025-04")  # six months across a year end: quarters and years clip
THEMES = ["t1", "t2", "t3", "t4"]


def all_queries(months: list[str]):
    for i, a in enumerate(months):
        for b in months[i:]:
            for bucket in Bucket:
                yield Range(a, b), bucket


def published_equations(grids: dict[str, Grid], months: list[str]) -> list:
    """Every number every query publishes, from the grids, as equations over (table, row, month)."""
    eqs = []
    for rng, bucket in all_queries(months):
        buckets = periods(rng, bucket)
        for name, g in grids.items():
            for row in g.rows:
                for _, ms in buckets + [("total", rng.months)]:
                    v = g.cell(row, ms)
                    if v is not None:
                        eqs.append(equation({(name, row, m): 1 for m in ms}, v))
            for _, ms in buckets + [("total", rng.months)]:
                v = g.total(ms)
                if v is not None:
                    eqs.append(equation({(name, r, m): 1 for r in g.rows for m in ms}, v))
    return eqs


def ties(grids: dict[str, Grid], months: list[str]) -> list:
    """What the attacker knows without any query: every table counts the same cases each month."""
    names = list(grids)
    out = []
    for other in names[1:]:
        for m in months:
            coefs = {(names[0], r, m): 1 for r in grids[names[0]].rows}
            coefs.update({(other, r, m): -1 for r in grids[other].rows})
            out.append(equation(coefs, 0))
    return out


def check(grids: dict[str, Grid], months: list[str]) -> None:
    truth = {(n, r, m): g.count(r, m) for n, g in grids.items() for r in g.rows for m in months}
    hidden = [(n, r, m) for n, g in grids.items() for r in g.rows for m in months if g.hidden(r, m)]
    attacker = Attacker(truth, published_equations(grids, months) + ties(grids, months))
    assert attacker.disclosed(hidden) == []
    # Nothing else is withheld from view: every other month cell is published.
    shown = {v for v in truth if v not in hidden}
    assert shown <= set(attacker.known)


def random_cases(rng: random.Random, n_rows: int, n_channels: int) -> list[tuple[str, str, str]]:
    cases = []
    for m in MONTHS:
        for t in THEMES[:n_rows]:
            for _ in range(rng.choice([0, 0, 0, 1, 1, 2, 3, 4, 6])):
                cases.append((t, f"c{rng.randrange(n_channels)}", m))
    return cases


@pytest.mark.parametrize("seed", range(30))
@pytest.mark.parametrize("min_cell", [2, 3, 5])
def test_no_withheld_cell_of_one_table_can_be_worked_out(seed: int, min_cell: int):
    rng = random.Random(seed * 10 + min_cell)
    counts = Counter((t, m) for t, _c, m in random_cases(rng, 4, 1))
    check({"themes": Grid(counts, THEMES, min_cell)}, MONTHS)


@pytest.mark.parametrize("seed", range(30))
def test_no_withheld_cell_can_be_worked_out_across_two_tables_of_the_same_cases(seed: int):
    rng = random.Random(1000 + seed)
    cases = random_cases(rng, 3, 3)
    themes = Grid(Counter((t, m) for t, _c, m in cases), THEMES[:3], 3)
    channels = Grid(Counter((c, m) for _t, c, m in cases), ["c0", "c1", "c2"], 3)
    share_grids_totals([themes, channels])
    check({"themes": themes, "channels": channels}, MONTHS)


# The same check end to end: the fixture goes into the database and every number comes from
# the HTTP API (themes table and the summary's contacts and channel shares).
FIXTURE = {
    # theme: counts for 2024-11 .. 2025-04; None is "not yet triaged"
    "bullying": [5, 1, 0, 4, 3, 7],
    "misconduct": [1, 0, 2, 6, 1, 4],
    "gambling": [0, 2, 0, 0, 1, 0],
    "mental_health": [4, 4, 1, 3, 0, 9],
    None: [0, 0, 1, 0, 2, 1],
}
CHANNELS = ["web", "phone", "email"]


class _PrimaryOnly(Grid):
    """A naive table: hides small cells but publishes every row and period total in full."""

    def cell(self, row, months):
        months = list(months)
        if len(months) == 1 and self.hidden(row, months[0]):
            return None
        return sum(self.count(row, m) for m in months)


def test_the_attacker_catches_a_naive_table_that_only_hides_small_cells():
    counts = {("t1", "2024-11"): 1, ("t1", "2024-12"): 5, ("t2", "2024-11"): 6}
    g = _PrimaryOnly(counts, THEMES, 3)
    truth = {("themes", r, m): g.count(r, m) for r in g.rows for m in MONTHS}
    attacker = Attacker(truth, published_equations({"themes": g}, MONTHS))
    assert ("themes", "t1", "2024-11") in attacker.disclosed([("themes", "t1", "2024-11")])


def test_the_attacker_knows_a_withheld_cell_is_never_zero():
    # Two hidden cells summing to 2 are both 1, although no equation isolates either.
    truth = {"a": 1, "b": 1, "c": 5}
    attacker = Attacker(truth, [equation({"c": 1}, 5), equation({"a": 1, "b": 1, "c": 1}, 7)])
    assert not attacker.linearly_determined("a")
    assert attacker.disclosed(["a", "b"]) == ["a", "b"]


# --- the themes and locations tables together (issue 15) ----------------------------------------

PLACES = ["p1", "p2", "p3"]


@pytest.mark.parametrize("seed", range(30))
def test_no_withheld_cell_can_be_worked_out_across_the_themes_and_locations_tables(seed: int):
    rng = random.Random(2000 + seed)
    cases = [(t, rng.choice(PLACES + [None]), m) for t, _c, m in random_cases(rng, 4, 1)]
    themes = Grid(Counter((t, m) for t, _p, m in cases), THEMES, 3)
    places = Grid(Counter((p, m) for _t, p, m in cases), [*PLACES, None], 3)
    share_grids_totals([themes, places])
    check({"themes": themes, "locations": places}, MONTHS)
