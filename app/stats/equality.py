"""The equality monitoring table beside the workforce baseline (docs/statistics.md, "Equality monitoring")."""

from __future__ import annotations

import math

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.equality import service as equality
from app.equality.models import EqualityCount
from app.equality.schemas import (
    CHARACTERISTICS,
    NOT_ANSWERED,
    PREFER_NOT_TO_SAY,
    EqualityCharacteristic,
    EqualityRow,
    EqualityTable,
)
from app.stats import suppression
from app.stats.disclosure import share_or_none
from app.stats.periods import months_between
from app.stats.service import as_at, last_settled_month, opaque_months, resolve_range
from app.stats.suppression import LinkedGrid

Z95 = 1.959964  # the 97.5th percentile of the standard normal: a two-sided 95% interval


def wilson(count: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval for a proportion `count / n` (n > 0)."""
    p = count / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def grids(session: Session, months: list[str], min_cell: int) -> dict[str, LinkedGrid]:
    """One table per characteristic, decided together (they share their monthly totals)."""
    # The monthly counts kept by each batch: at most (values + 2) x 9 rows a month, whatever the volume.
    result = session.execute(
        select(EqualityCount.month, EqualityCount.characteristic, EqualityCount.value, EqualityCount.respondents)
    ).all()
    counts: dict[str, dict[tuple[str, str], int]] = {key: {} for key in CHARACTERISTICS}
    seen: list[str] = []
    for month, key, value, n in result:
        if key in counts:
            counts[key][(value, month)] = n
            seen.append(month)
    # A month's answers can still arrive until its pool has moved (at the latest early next month):
    # its cells are published only once it has settled, like the cases' tables, so the answers
    # before and after a late batch never give away the respondents in it.
    first, last = (min(seen), max(seen)) if seen else (None, None)
    settled_end = last_settled_month()
    tables = {
        key: suppression.TableIn([*values, PREFER_NOT_TO_SAY, NOT_ANSWERED], counts[key], frozenset(),
                                 frozenset([PREFER_NOT_TO_SAY, NOT_ANSWERED]), suppression.COARSE)
        for key, values in CHARACTERISTICS.items()
    }
    opaque = opaque_months(months_between(min(first or months[0], months[0]), max(last or months[-1], months[-1])))
    grid_end = min(settled_end, last or settled_end)
    # answers come in as the service runs: live from the first month with any
    decision = (suppression.decide_over_time(tables, first, grid_end, last, min_cell, first) if first
                else suppression.Decision([]))
    return {key: LinkedGrid(key, t, decision, min_cell, first, opaque, last) for key, t in tables.items()}


def _ratio(value: float | None, base: float | None) -> float | None:
    if value is None or not base:
        return None
    return round(value / base, 3)


def equality_table(session: Session, *, min_cell: int, from_month: str | None, to_month: str | None) -> EqualityTable:
    """Respondents by characteristic and answer over the range, with shares, the baseline and ratios."""
    rng = resolve_range(session, from_month, to_month)
    months = rng.months
    by_key = grids(session, months, min_cell)
    baseline = equality.baseline(session)
    characteristics = []
    for key, values in CHARACTERISTICS.items():
        g = by_key[key]
        total = g.total(months)
        unanswered = g.cell(NOT_ANSWERED, months)
        declined = g.cell(PREFER_NOT_TO_SAY, months)
        answered = None if total is None or unanswered is None else total - unanswered
        gave_value = None if answered is None or declined is None else answered - declined
        rows = []
        for value in values:
            count = g.cell(value, months)
            share = share_or_none(count, gave_value, min_cell)
            base = baseline.get(key, {}).get(value)
            low = high = None
            if share is not None and count is not None and gave_value:
                low, high = wilson(count, gave_value)
            rows.append(EqualityRow(
                value=value, count=count, share=share, baseline_share=base, ratio=_ratio(share, base),
                ratio_low=_ratio(low, base), ratio_high=_ratio(high, base),
            ))
        rows.append(EqualityRow(
            value=PREFER_NOT_TO_SAY, count=declined, share=share_or_none(declined, answered, min_cell),
            baseline_share=None, ratio=None, ratio_low=None, ratio_high=None,
        ))
        respondents = gave_value if gave_value is not None and gave_value >= min_cell or gave_value == 0 else None
        characteristics.append(EqualityCharacteristic(key=key, respondents=respondents, rows=rows))
    first = next(iter(by_key.values()))
    return EqualityTable(from_=rng.start, to=rng.end, min_cell=min_cell, characteristics=characteristics,
                         published_periods=first.published_periods(months), as_at=as_at())
