"""Read-only aggregates for leadership, each under the grid decision of `suppression.py`.

Keyed by `cases.received_month`, which outlives purges, so purged cases still count.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import clock
from app.cases.models import Case
from app.enums import About, Channel
from app.errors import Invalid
from app.locations.models import Location
from app.schemas import check_month
from app.stats import answers, rollup, suppression
from app.stats.disclosure import share_or_none
from app.stats.periods import Range, index_of, month_of, months_between
from app.stats.suppression import LinkedGrid

__all__ = ["periods", "theme_table", "location_table", "summary", "build_grids"]
from app.stats.schemas import (
    Bucket,
    FeedbackMeans,
    LocationRow,
    LocationTable,
    LocationTotals,
    PeriodFigures,
    Summary,
    ThemeRow,
    ThemeTable,
    ThemeTotals,
)
from app.themes.models import Theme

MAX_MONTHS = 600  # fifty years: far beyond any real question, small enough to answer quickly
UNTRIAGED = None  # the grid row of cases with no primary theme yet
UNKNOWN = None  # the grid row of cases with no location

# The summary's categorical tables: each a grid of (value by month) sharing the month totals.
CATEGORIES: dict[str, list[object]] = {
    "channel": [c.value for c in Channel],
    "anonymous": [True, False],
    "out_of_hours": [True, False],
    "about": [a.value for a in About],
}
MAX_CATEGORY_ROWS = max(len(v) for v in CATEGORIES.values())


def parse_month(value: str | None, field: str) -> str | None:
    if value is None or value == "":
        return None
    try:
        check_month(value)  # the one rule for months (app.schemas), for the API, the pages and the CLI
    except ValueError as exc:
        raise Invalid(f"{field} {exc}.", field=field) from None
    return value


def resolve_range(session: Session, from_month: str | None, to_month: str | None) -> Range:
    """Validate `from`/`to` (YYYY-MM); missing ends default to the first and last month with any case."""
    start = parse_month(from_month, "from")
    end = parse_month(to_month, "to")
    if start is not None and end is not None and start > end:
        raise Invalid("from must not be after to.", field="from")
    if start is None or end is None:
        first, last = session.execute(select(func.min(Case.received_month), func.max(Case.received_month))).one()
        this_month = clock.today().strftime("%Y-%m")
        if start is None:
            start = first or this_month
            if end is not None and start > end:
                start = end
        if end is None:
            end = last or this_month
            if end < start:
                end = start
    if index_of(end) - index_of(start) + 1 > MAX_MONTHS:
        raise Invalid(f"The range may cover at most {MAX_MONTHS} months.", field="to")
    return Range(start, end)


def periods(rng: Range, bucket: Bucket) -> list[tuple[str, list[str]]]:
    """The period labels and their months, clipped to the range."""
    months = rng.months
    if bucket == Bucket.ALL:
        return [(f"{rng.start}..{rng.end}", months)]
    grouped: dict[str, list[str]] = {}
    for m in months:
        if bucket == Bucket.MONTH:
            label = m
        elif bucket == Bucket.QUARTER:
            label = f"{m[:4]}-Q{(int(m[5:7]) - 1) // 3 + 1}"
        elif bucket == Bucket.FY:
            label = suppression.fy_label(m)
        else:
            label = m[:4]
        grouped.setdefault(label, []).append(m)
    return list(grouped.items())


# --- settling ---------------------------------------------------------------------------------
# A contact recorded, or first triaged, later than `rollup.WINDOW_TENTHS` (28 days) after it was
# received does not count in its month's rows. 28 days after the last moment of a month is still
# inside the following month, so by the first day of the month after next (`settles_on`) nothing
# can change which row a contact of that month is in.
LATE = "__late__"  # the grid row of contacts recorded late into a month that already had contacts
SMALL = "__small__"  # the grid row of every location with too few staff to be shown on its own


def settles_on(month: str) -> date:
    """The day from which `month` is settled and its cells are published: the month after next."""
    i = index_of(month) + 2
    return date(i // 12, i % 12 + 1, 1)


def opaque_months(months: Iterable[str], today: date | None = None) -> set[str]:
    """The months not yet settled: only their totals may be shown."""
    today = today or clock.today()
    return {m for m in months if today < settles_on(m)}


def _live_months(rows: Iterable[tuple[str, bool, int]]) -> set[str]:
    """Months with a contact recorded in time; other months count every contact as it stands (nothing
    was published for them to difference against).
    """
    return {month for month, late, n in rows if n and not late}


@dataclass
class Grids:
    """Every table of the service, answering from one decision over the grid of periods."""

    themes: LinkedGrid
    locations: LinkedGrid
    categories: dict[str, LinkedGrid]
    calls: dict[str, tuple[int, int]]
    small_locations: frozenset[str]

    def all(self) -> list[LinkedGrid]:
        return [self.themes, self.locations, *self.categories.values()]


def small_headcount(min_cell: int) -> int:
    """A location with fewer staff than this is never shown on its own (it could single a reporter out)."""
    return 5 * min_cell


def _dimension_counts(result: Sequence[tuple[str, str | None, bool, bool, int, int]], key: Any) -> dict[tuple[Any, str], int]:
    """Counts by (row key, month) of a dimension, keyed as the settling rules say (module docs)."""
    live = _live_months((m, late, n) for m, _v, late, _t, n, _x in result)
    counts: dict[tuple[Any, str], int] = defaultdict(int)
    for month, value, is_late, is_in_time, n, _minutes in result:
        if month not in live:
            row = key(value)
        elif is_late:
            row = LATE
        elif not is_in_time:
            row = key(None)
        else:
            row = key(value)
        counts[(row, month)] += n
    return counts


def _category_counts(
    loaded: rollup.Counts,
) -> tuple[dict[str, dict[tuple[object, str], int]], dict[str, tuple[int, int]]]:
    """The summary's categorical counts, and per month (phone calls out of hours, their minutes)."""
    # A month is live if it has a contact recorded in time (the same test as the themes table's).
    live = _live_months((m, late, n) for m, _v, late, _t, n, _x in loaded.rows["channel"])
    parse: dict[str, Any] = {"channel": str, "anonymous": lambda v: v == "1", "out_of_hours": lambda v: v == "1", "about": str}
    counts: dict[str, dict[tuple[object, str], int]] = {name: defaultdict(int) for name in CATEGORIES}
    for name in CATEGORIES:
        for month, value, is_late, _t, n, _minutes in loaded.rows[name]:
            row: object = LATE if (month in live and is_late) else parse[name](value)
            counts[name][(row, month)] += n
    calls: dict[str, tuple[int, int]] = {}
    for month, _v, is_late, _t, n, minutes in loaded.rows["calls"]:
        if month in live and is_late:
            continue
        calls_n, calls_min = calls.get(month, (0, 0))
        calls[month] = (calls_n + n, calls_min + minutes)
    return counts, calls


def _themes(session: Session) -> list[Theme]:
    return list(session.scalars(select(Theme).order_by(Theme.position, Theme.slug)).all())


def _locations(session: Session) -> list[Location]:
    return list(session.scalars(select(Location).order_by(Location.position, Location.slug)).all())


def as_at() -> str:
    return clock.today().isoformat()


def last_settled_month(today: date | None = None) -> str:
    """The last month whose cells may be published (settled: the month after next has begun)."""
    today = today or clock.today()
    return month_of(index_of(today.strftime("%Y-%m")) - 2)


def case_extent(session: Session) -> tuple[str | None, str | None]:
    first, last = session.execute(select(func.min(Case.received_month), func.max(Case.received_month))).one()
    return first, last


def build_grids(
    session: Session, rng: Range, min_cell: int, themes: Sequence[Theme], locations: Sequence[Location],
) -> Grids:
    """Every table's grid, decided together over every settled month (cached by the counts)."""
    first, last = case_extent(session)
    settled_end = last_settled_month()
    small = frozenset(loc.slug for loc in locations if loc.headcount is not None and loc.headcount < small_headcount(min_cell))
    location_rows: list[str | None] = [loc.slug for loc in locations if loc.slug not in small]
    theme_rows: list[str | None] = [*(t.slug for t in themes), UNTRIAGED, LATE]
    if first is None:
        empty = suppression.Decision([])
        def blank(name: str, rows: list[Any], levels: frozenset[str] = frozenset(suppression.LEVELS)) -> LinkedGrid:
            return LinkedGrid(name, suppression.TableIn(rows, {}, frozenset([LATE]), levels=levels), empty, min_cell, None,
                              opaque_months(rng.months))
        return Grids(blank("themes", theme_rows), blank("locations", [*location_rows, SMALL, UNKNOWN, LATE]),
                     {name: blank(name, [*rows, LATE], suppression.COARSE) for name, rows in CATEGORIES.items()}, {}, small)
    end = max(last or first, rng.end, settled_end)
    load = months_between(min(first, rng.start), end)
    opaque = opaque_months(load)
    loaded = rollup.counts(session, [m for m in load if m >= first and m <= (last or first)], None, opaque)
    theme_counts = _dimension_counts(loaded.rows["theme"], lambda v: v)
    location_counts = _dimension_counts(loaded.rows["location"], lambda v: SMALL if v in small else v)
    category_counts, calls = _category_counts(loaded)
    tables: dict[str, suppression.TableIn] = {
        "themes": suppression.TableIn(theme_rows, theme_counts, frozenset([LATE]), frozenset([UNTRIAGED])),
        "locations": suppression.TableIn([*location_rows, SMALL, UNKNOWN, LATE], location_counts, frozenset([LATE]),
                                         frozenset([UNKNOWN])),
    }
    for name, rows in CATEGORIES.items():
        tables[name] = suppression.TableIn([*rows, LATE], category_counts[name], frozenset([LATE]),
                                           levels=suppression.COARSE)
    grid_end = min(settled_end, last or first)
    live = _live_months((m, late, n) for m, _v, late, _t, n, _x in loaded.rows["channel"])
    decision = suppression.decide_over_time(tables, first, grid_end, last, min_cell, min(live) if live else None)
    grids = {name: LinkedGrid(name, t, decision, min_cell, first, opaque, last) for name, t in tables.items()}
    return Grids(grids["themes"], grids["locations"], {name: grids[name] for name in CATEGORIES}, calls, small)


def theme_table(
    session: Session, *, min_cell: int, from_month: str | None, to_month: str | None, bucket: Bucket = Bucket.MONTH
) -> ThemeTable:
    """Cases by primary theme and period, with suppression (contract section 5)."""
    rng = resolve_range(session, from_month, to_month)
    themes = _themes(session)
    grid = build_grids(session, rng, min_cell, themes, _locations(session)).themes

    buckets = periods(rng, bucket)
    all_months = rng.months
    present = {slug for (slug, _m) in grid.keys() if slug not in (UNTRIAGED, LATE)}
    rows = [
        ThemeRow(
            theme=t.slug,
            name=t.name,
            active=t.active,
            counts=[grid.cell(t.slug, ms) for _, ms in buckets],
            total=grid.cell(t.slug, all_months),
        )
        for t in themes
        if t.active or t.slug in present
    ]
    totals = ThemeTotals(
        counts=[grid.total(ms) for _, ms in buckets],
        total=grid.total(all_months),
        untriaged=grid.cell(UNTRIAGED, all_months),
        late=grid.cell(LATE, all_months),
    )
    return ThemeTable(
        from_=rng.start, to=rng.end, bucket=bucket, min_cell=min_cell,
        periods=[label for label, _ in buckets], rows=rows, totals=totals,
        published_periods=grid.published_periods(all_months), as_at=as_at(),
    )


def location_table(
    session: Session, *, min_cell: int, from_month: str | None, to_month: str | None, bucket: Bucket = Bucket.MONTH
) -> LocationTable:
    """Cases by location and period, under the same decisions as the themes table; small locations
    are withheld and counted together in `totals.small_locations`.
    """
    rng = resolve_range(session, from_month, to_month)
    locations = _locations(session)
    grids = build_grids(session, rng, min_cell, _themes(session), locations)
    grid = grids.locations
    buckets = periods(rng, bucket)
    all_months = rng.months
    present = {slug for (slug, _m) in grid.keys()}
    rows = []
    for loc in locations:
        if not (loc.active or loc.slug in present or (loc.slug in grids.small_locations and SMALL in present)):
            continue
        if loc.slug in grids.small_locations:
            counts: list[int | None] = [None for _ in buckets]
            total: int | None = None
        else:
            counts = [grid.cell(loc.slug, ms) for _, ms in buckets]
            total = grid.cell(loc.slug, all_months)
        rows.append(LocationRow(location=loc.slug, name=loc.name, kind=loc.kind.value, active=loc.active,
                                counts=counts, total=total))
    totals = LocationTotals(
        counts=[grid.total(ms) for _, ms in buckets],
        total=grid.total(all_months),
        unknown=grid.cell(UNKNOWN, all_months),
        small_locations=grid.cell(SMALL, all_months),
        late=grid.cell(LATE, all_months),
    )
    return LocationTable(
        from_=rng.start, to=rng.end, bucket=bucket, min_cell=min_cell,
        periods=[label for label, _ in buckets], rows=rows, totals=totals,
        published_periods=grid.published_periods(all_months), as_at=as_at(),
    )


def summary(session: Session, *, min_cell: int, from_month: str | None, to_month: str | None) -> Summary:
    """Contacts and their mix, responsiveness and feedback over a range of months, under the same suppression."""
    rng = resolve_range(session, from_month, to_month)
    months = rng.months
    grids_all = build_grids(session, rng, min_cell, _themes(session), _locations(session))
    grids, calls = grids_all.categories, grids_all.calls
    contacts = grids_all.themes.total(months)

    # Shares are of the contacts in the rows: contacts recorded late are in no category row, so a
    # late one changes no share of a settled month.
    late = grids["channel"].cell(LATE, months)
    in_rows = None if contacts is None or late is None else contacts - late

    def share(name: str, value: object, over: list[str] | None = None, whole: int | None = None) -> float | None:
        if over is None:
            return share_or_none(grids[name].cell(value, months), in_rows, min_cell)
        return share_or_none(grids[name].cell(value, over), whole, min_cell)

    by_period = []
    for label, piece in grids_all.themes.pieces(months):
        n = grids_all.themes.total(piece)
        late_n = grids["channel"].cell(LATE, piece)
        whole = None if n is None or late_n is None else n - late_n
        by_period.append(PeriodFigures(
            period=label, contacts=n, anonymous_share=share("anonymous", True, piece, whole),
            out_of_hours_share=share("out_of_hours", True, piece, whole),
            channel_shares={c.value: share("channel", c.value, piece, whole) for c in Channel},
        ))

    # Phone time out of hours is a sum over calls: a month with 1..min_cell-1 such calls would give
    # one call's length away by differencing, and so would a month still taking calls (not
    # settled): any range containing such a month is withheld.
    call_counts = [calls.get(m, (0, 0))[0] for m in months]
    if any(0 < n < min_cell for n in call_counts) or opaque_months(months):
        call_minutes = None
    else:
        call_minutes = sum(calls.get(m, (0, 0))[1] for m in months)

    ack, ack_span = answers.median_days_to_acknowledgement(session, rng, min_cell)
    on_time, on_time_span = answers.check_ins_on_time(session, rng, min_cell)
    means, feedback_span = answers.feedback_means(session, rng, min_cell)
    return Summary(
        from_=rng.start, to=rng.end, min_cell=min_cell,
        contacts=contacts,
        anonymous_share=share("anonymous", True),
        out_of_hours_share=share("out_of_hours", True),
        channel_shares={c.value: share("channel", c.value) for c in Channel},
        about_shares={a.value: share("about", a.value) for a in About},
        median_days_to_acknowledgement=ack,
        check_ins_on_time_share=on_time,
        feedback=FeedbackMeans(**means),
        out_of_hours_call_minutes=call_minutes,
        answers_periods={
            "median_days_to_acknowledgement": ack_span,
            "check_ins_on_time_share": on_time_span,
            "feedback": feedback_span,
        },
        by_period=by_period, published_periods=grids_all.themes.published_periods(months), as_at=as_at(),
    )
