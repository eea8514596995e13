"""Figures over answers, published only over fixed pools of at least `answer_min(min_cell)` answers
(docs/statistics.md, "Differencing over time and between ranges").
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session

from app import clock
from app.cases.feedback import RATING_KEYS
from app.cases.models import Case
from app.checkins.models import CheckIn
from app.stats import rollup
from app.stats.periods import Range, first_day, index_of, month_of, quarter_label, quarter_start

A = TypeVar("A")


def answer_min(min_cell: int) -> int:
    """The fewest answers a published figure may rest on."""
    return max(10, min_cell)


@dataclass(frozen=True)
class Quarter:
    first_month: str

    @property
    def label(self) -> str:
        return quarter_label(self.first_month)

    @property
    def last_month(self) -> str:
        return month_of(index_of(self.first_month) + 2)

    @property
    def start(self) -> date:
        return first_day(self.first_month)

    @property
    def after(self) -> date:
        return first_day(month_of(index_of(self.first_month) + 3))


def settled_quarters(first: date | None) -> list[Quarter]:
    """Every calendar quarter from the one holding `first` to the last one that is over."""
    if first is None:
        return []
    today = clock.today()
    q = Quarter(quarter_start(f"{first.year:04d}-{first.month:02d}"))
    out = []
    while q.after <= today:
        out.append(q)
        q = Quarter(month_of(index_of(q.first_month) + 3))
    return out


def _bucket(column: Any, quarters: Sequence[Quarter], as_datetime: bool) -> ColumnElement[Any]:
    """SQL: the index of the quarter `column` falls in (portable: a CASE over the quarters' bounds)."""
    def bound(d: date) -> Any:
        return datetime(d.year, d.month, d.day, tzinfo=UTC) if as_datetime else d
    return case(*((column < bound(q.after), i) for i, q in enumerate(quarters)), else_=len(quarters))


@dataclass
class Pool(Generic[A]):
    first: Quarter
    last: Quarter
    n: int
    value: A


def pools(quarters: Sequence[Quarter], per_quarter: dict[int, tuple[int, A]], minimum: int,
          add: Callable[[A, A], A], empty: Callable[[], A]) -> list[Pool[A]]:
    """Consecutive quarters pooled until each pool holds at least `minimum` answers; the unfinished tail is dropped."""
    out: list[Pool[A]] = []
    start: int | None = None
    n, acc = 0, empty()
    for i, q in enumerate(quarters):
        if start is None:
            start = i
        qn, qv = per_quarter.get(i, (0, empty()))
        n, acc = n + qn, add(acc, qv)
        if n >= minimum:
            out.append(Pool(quarters[start], q, n, acc))
            start, n, acc = None, 0, empty()
    return out


def inside(all_pools: Sequence[Pool[A]], rng: Range) -> list[Pool[A]]:
    return [p for p in all_pools if rng.start <= p.first.first_month and p.last.last_month <= rng.end]


def span(chosen: Sequence[Pool[Any]]) -> str | None:
    if not chosen:
        return None
    return f"{chosen[0].first.label}..{chosen[-1].last.label}"


def _first(session: Session, column: Any, *where: Any) -> date | None:
    value = session.execute(select(func.min(column)).where(*where)).scalar()
    if value is None:
        return None
    return value.date() if isinstance(value, datetime) else value


# --- the three figures ------------------------------------------------------------------------

def median_of_histogram(histogram: list[tuple[int, int]], min_cell: int) -> float | None:
    """The median day count from (tenths of a day, how many) pairs."""
    total = sum(n for _, n in histogram)
    if total < min_cell or total == 0:
        return None
    wanted = [(total - 1) // 2, total // 2]  # the middle one, or the middle two
    found: list[int] = []
    seen = 0
    for tenth, n in sorted(histogram):
        while wanted and wanted[0] < seen + n:
            found.append(tenth)
            wanted.pop(0)
        seen += n
    return round(sum(found) / len(found) / 10, 1)


def _first_month(session: Session) -> date | None:
    first = session.execute(select(func.min(Case.received_month))).scalar()
    return first_day(first) if first else None


def _by_quarter(quarters: Sequence[Quarter], month: str) -> int | None:
    for i, q in enumerate(quarters):
        if q.first_month <= month <= q.last_month:
            return i
    return None


def median_days_to_acknowledgement(session: Session, rng: Range, min_cell: int) -> tuple[float | None, str | None]:
    """Median days from receipt to the first staff reply over the pools inside `rng`; a quarter counts
    once all its contacts are past the 90 days.
    """
    quarters = [q for q in settled_quarters(_first_month(session))
                if Quarter(month_of(index_of(q.first_month) + 3)).after <= clock.today()]
    if not quarters:
        return None, None
    months = [month_of(i) for i in range(index_of(quarters[0].first_month), index_of(quarters[-1].last_month) + 1)]
    per: dict[int, tuple[int, dict[int, int]]] = {}
    for month, tenths, n in rollup.ack_rows(session, months):
        i = _by_quarter(quarters, month)
        if i is None:
            continue
        count, hist = per.get(i, (0, {}))
        hist[tenths] = hist.get(tenths, 0) + n
        per[i] = (count + n, hist)

    def add(a: dict[int, int], b: dict[int, int]) -> dict[int, int]:
        out = dict(a)
        for k, v in b.items():
            out[k] = out.get(k, 0) + v
        return out

    chosen = inside(pools(quarters, per, answer_min(min_cell), add, dict), rng)
    if not chosen:
        return None, None
    merged: dict[int, int] = {}
    for p in chosen:
        merged = add(merged, p.value)
    return median_of_histogram(sorted(merged.items()), answer_min(min_cell)), span(chosen)


def check_ins_on_time(session: Session, rng: Range, min_cell: int) -> tuple[float | None, str | None]:
    """Share of check-ins due in the pools inside `rng` done by their due day.

    One undone past its due day is late even if cancelled later, so no settled quarter changes.
    """
    quarters = settled_quarters(_first(session, CheckIn.due_on))
    if not quarters:
        return None, None
    rows = session.execute(
        select(CheckIn.due_on, CheckIn.completed_at, CheckIn.cancelled_at)
        .where(CheckIn.due_on < quarters[-1].after, CheckIn.due_on >= quarters[0].start)
    ).all()
    per: dict[int, tuple[int, tuple[int, int]]] = defaultdict(lambda: (0, (0, 0)))
    bounds = [q.after for q in quarters]
    for due_on, done, cancelled in rows:
        if cancelled is not None and cancelled.date() <= due_on:
            continue
        i = next(k for k, b in enumerate(bounds) if due_on < b)
        on_time = int(done is not None and done.date() <= due_on)
        n, (a, b) = per[i]
        per[i] = (n + 1, (a + on_time, b + 1))
    chosen = inside(pools(quarters, dict(per), answer_min(min_cell),
                          lambda x, y: (x[0] + y[0], x[1] + y[1]), lambda: (0, 0)), rng)
    if not chosen:
        return None, None
    on_time_n = sum(p.value[0] for p in chosen)
    total = sum(p.value[1] for p in chosen)
    return round(on_time_n / total, 2), span(chosen)


def feedback_means(session: Session, rng: Range, min_cell: int) -> tuple[dict[str, float | None], str | None]:
    """Mean ratings of the feedback given in the pools inside `rng`."""
    none: dict[str, float | None] = dict.fromkeys(RATING_KEYS)
    quarters = settled_quarters(_first_month(session))
    if not quarters:
        return none, None
    months = [month_of(i) for i in range(index_of(quarters[0].first_month), index_of(quarters[-1].last_month) + 1)]
    per: dict[int, tuple[int, tuple[int, ...]]] = {}
    for month, n, sums in rollup.feedback_rows(session, months):
        i = _by_quarter(quarters, month)
        if i is None:
            continue
        count, acc = per.get(i, (0, (0, 0, 0, 0)))
        per[i] = (count + n, tuple(x + y for x, y in zip(acc, sums, strict=True)))
    chosen = inside(pools(quarters, per, answer_min(min_cell),
                          lambda x, y: tuple(a + b for a, b in zip(x, y, strict=True)), lambda: (0, 0, 0, 0)), rng)
    if not chosen:
        return none, None
    n = sum(p.n for p in chosen)
    totals = [sum(p.value[k] for p in chosen) for k in range(len(RATING_KEYS))]
    return {r: round(v / n, 1) for r, v in zip(RATING_KEYS, totals, strict=True)}, span(chosen)
