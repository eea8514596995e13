"""Per-month disclosure control for the referrals table, and the share rule every table uses.
Pure functions (docs/statistics.md, "Disclosure rules for the referrals table").
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

R = TypeVar("R", bound=Hashable)


@dataclass(frozen=True)
class ColumnDecision(Generic[R]):
    """What may be shown of one month's column: the hidden rows, and whether its total is hidden."""

    hidden: frozenset[R]
    total_hidden: bool


def is_small(n: int, min_cell: int) -> bool:
    """A count that must not be shown: above zero and under the threshold."""
    return 0 < n < min_cell


def _smallest(values: Mapping[R, int], exclude: Iterable[R], rank: Mapping[R, int]) -> list[R]:
    """The smallest non-zero cell not yet hidden, as a list of at most one row (a row key may be None)."""
    excluded = set(exclude)
    candidates = [r for r, n in values.items() if n > 0 and r not in excluded]
    if not candidates:
        return []
    return [min(candidates, key=lambda r: (values[r], rank.get(r, len(rank))))]


def suppress_column(
    values: Mapping[R, int], min_cell: int, order: Sequence[R] | None = None, public: Iterable[R] = ()
) -> ColumnDecision[R]:
    """Rules 1-3 for one month's column; `public` rows are always shown and never complementary."""
    rank = {r: i for i, r in enumerate(order if order is not None else list(values))}
    shown_always = set(public)
    hidden = {r for r, n in values.items() if is_small(n, min_cell) and r not in shown_always}
    total = sum(values.values())
    if is_small(total, min_cell):
        return ColumnDecision(frozenset(r for r, n in values.items() if n > 0 and r not in shown_always), True)
    while hidden and (len(hidden) < 2 or sum(values[r] for r in hidden) <= len(hidden)):
        extra = _smallest(values, hidden | shown_always, rank)
        if not extra:
            return ColumnDecision(frozenset(hidden), True)
        hidden.update(extra)
    return ColumnDecision(frozenset(hidden), False)


class Grid(Generic[R]):
    """Counts by (row, month) with the per-month decisions made once; sums derived under rule 5."""

    def __init__(
        self,
        counts: Mapping[tuple[R, str], int],
        rows: Sequence[R],
        min_cell: int,
        opaque: Iterable[str] = (),
        public: Iterable[R] = (),
    ) -> None:
        """`opaque`: months not yet settled, every cell withheld (zeros too), only the total shown."""
        self.rows = list(rows)
        self.opaque = frozenset(opaque)
        self.public = frozenset(public)
        self.min_cell = min_cell
        self._rank = {r: i for i, r in enumerate(self.rows)}
        self._counts: dict[tuple[R, str], int] = {k: v for k, v in counts.items() if v}
        self._columns: dict[str, dict[R, int]] = {}
        for (row, month), n in self._counts.items():
            self._columns.setdefault(month, {})[row] = n
        self._decisions: dict[str, ColumnDecision[R]] = {
            month: suppress_column(col, min_cell, self.rows, self.public) for month, col in self._columns.items()
        }
        for month in self.opaque:
            col = self._columns.get(month, {})
            self._decisions[month] = ColumnDecision(frozenset(self.rows), is_small(sum(col.values()), min_cell))
        self._extra_hidden_totals: set[str] = set()

    def months(self) -> list[str]:
        return sorted(self._columns)

    def keys(self) -> list[tuple[R, str]]:
        return list(self._counts)

    def count(self, row: R, month: str) -> int:
        """The true count (never publish this directly)."""
        return self._counts.get((row, month), 0)

    def true_total(self, month: str) -> int:
        """The true month total (never publish this directly)."""
        return sum(self._columns.get(month, {}).values())

    def hidden(self, row: R, month: str) -> bool:
        if month in self.opaque:
            return True
        decision = self._decisions.get(month)
        return decision is not None and row in decision.hidden

    def total_hidden(self, month: str) -> bool:
        decision = self._decisions.get(month)
        return decision is not None and decision.total_hidden

    def hidden_totals(self) -> set[str]:
        return {m for m, d in self._decisions.items() if d.total_hidden}

    def hide_totals(self, months: Iterable[str]) -> None:
        """Rule 4: hide these months' totals, and the smallest cell of a fully shown month with them."""
        for month in set(months):
            decision = self._decisions.get(month)
            if decision is None:
                continue  # no case that month: the total is 0 in every table
            if month in self.opaque:
                self._decisions[month] = ColumnDecision(decision.hidden, True)
                continue
            hidden = set(decision.hidden)
            if not hidden:
                hidden.update(_smallest(self._columns[month], self.public, self._rank))
            self._decisions[month] = ColumnDecision(frozenset(hidden), True)

    def cell(self, row: R, months: Iterable[str]) -> int | None:
        """The row summed over `months`, or None if any of those month cells is hidden."""
        months = list(months)
        if any(self.hidden(row, m) for m in months):
            return None
        return sum(self.count(row, m) for m in months)

    def total(self, months: Iterable[str]) -> int | None:
        """Every row summed over `months`, or None if any of those months' totals is hidden."""
        wanted = set(months)
        if any(self.total_hidden(m) for m in wanted):
            return None
        return sum(self.true_total(m) for m in wanted)


def share_grids_totals(grids: Iterable[Grid[Any]]) -> None:
    """Rule 4 across tables that count the same cases by month."""
    grids = list(grids)
    hidden: set[str] = set()
    for g in grids:
        hidden |= g.hidden_totals()
    for g in grids:
        g.hide_totals(hidden)


def share_or_none(part: int | None, whole: int | None, min_cell: int, ndigits: int = 4) -> float | None:
    """part / whole, or None when either is withheld or the whole is under `min_cell`."""
    if part is None or whole is None or whole < min_cell:
        return None
    return round(part / whole, ndigits)
