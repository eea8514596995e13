"""Read-only aggregates for leadership, under the disclosure rules of app/stats/disclosure.py.

Everything is keyed by the month in which a case was received (`cases.received_month`), which
survives retention purges, so purged cases still count. Counting is done in SQL (GROUP BY month
and category); suppression and bucketing happen in Python over at most a few thousand groups.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.orm import Session

from app import clock, dialect
from app.cases.models import Case, Feedback
from app.checkins.models import CheckIn
from app.enums import About, Channel
from app.errors import Invalid
from app.schemas import check_month
from app.stats.disclosure import Grid, share_grids_totals, share_or_none
from app.stats.schemas import (
    Bucket,
    FeedbackMeans,
    Summary,
    ThemeRow,
    ThemeTable,
    ThemeTotals,
)
from app.themes.models import Theme

MAX_MONTHS = 600  # fifty years: far beyond any real question, small enough to answer quickly
UNTRIAGED = None  # the grid row of cases with no primary theme yet

# The summary's categorical tables: each a grid of (value by month) sharing the month totals.
CATEGORIES: dict[str, list[object]] = {
    "channel": [c.value for c in Channel],
    "anonymous": [True, False],
    "out_of_hours": [True, False],
    "about": [a.value for a in About],
}
MAX_CATEGORY_ROWS = max(len(v) for v in CATEGORIES.values())


@dataclass(frozen=True)
class Range:
    start: str
    end: str

    @property
    def months(self) -> list[str]:
        return months_between(self.start, self.end)


def _index(month: str) -> int:
    return int(month[:4]) * 12 + int(month[5:7]) - 1


def _month(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def months_between(start: str, end: str) -> list[str]:
    return [_month(i) for i in range(_index(start), _index(end) + 1)]


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
    if _index(end) - _index(start) + 1 > MAX_MONTHS:
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
        else:
            label = m[:4]
        grouped.setdefault(label, []).append(m)
    return list(grouped.items())


def _theme_grid(session: Session, rng: Range, min_cell: int, themes: Sequence[Theme]) -> Grid[str | None]:
    rows = session.execute(
        select(Case.received_month, Case.primary_theme, func.count())
        .where(Case.received_month.between(rng.start, rng.end))
        .group_by(Case.received_month, Case.primary_theme)
    ).all()
    counts = {(theme, month): n for month, theme, n in rows}
    return Grid(counts, [t.slug for t in themes] + [UNTRIAGED], min_cell)


def _category_grids(session: Session, months: Iterable[str], min_cell: int) -> tuple[dict[str, Grid[object]], dict[str, tuple[int, int]]]:
    """The summary's categorical grids for `months`, and per month (phone calls out of hours, their minutes)."""
    months = sorted(set(months))
    if not months:
        return {name: Grid({}, rows, min_cell) for name, rows in CATEGORIES.items()}, {}
    ooh_phone = and_(Case.channel == Channel.PHONE, Case.out_of_hours.is_(True))
    month_filter = (
        Case.received_month.between(months[0], months[-1])
        if len(months) == _index(months[-1]) - _index(months[0]) + 1
        else Case.received_month.in_(months)
    )
    result = session.execute(
        select(
            Case.received_month, Case.channel, Case.anonymous, Case.out_of_hours, Case.about, func.count(),
            func.sum(case((ooh_phone, func.coalesce(Case.duration_minutes, 0)), else_=0)),
        )
        .where(month_filter)
        .group_by(Case.received_month, Case.channel, Case.anonymous, Case.out_of_hours, Case.about)
    ).all()
    counts: dict[str, dict[tuple[object, str], int]] = {name: defaultdict(int) for name in CATEGORIES}
    calls: dict[str, tuple[int, int]] = {}
    for month, channel, anonymous, ooh, about, n, minutes in result:
        channel_value = Channel(channel).value
        counts["channel"][(channel_value, month)] += n
        counts["anonymous"][(bool(anonymous), month)] += n
        counts["out_of_hours"][(bool(ooh), month)] += n
        counts["about"][(About(about).value, month)] += n
        if channel_value == Channel.PHONE.value and ooh:
            calls_n, calls_min = calls.get(month, (0, 0))
            calls[month] = (calls_n + n, calls_min + int(minutes or 0))
    grids = {name: Grid(counts[name], CATEGORIES[name], min_cell) for name in CATEGORIES}
    return grids, calls


def _themes(session: Session) -> list[Theme]:
    return list(session.scalars(select(Theme).order_by(Theme.position, Theme.slug)).all())


def theme_table(
    session: Session, *, min_cell: int, from_month: str | None, to_month: str | None, bucket: Bucket = Bucket.MONTH
) -> ThemeTable:
    """Cases by primary theme and period, with suppression (contract section 5)."""
    rng = resolve_range(session, from_month, to_month)
    themes = _themes(session)
    grid = _theme_grid(session, rng, min_cell, themes)
    # A category table (channel, ...) with R rows can need a month's total hidden only if every
    # non-zero cell is 1, i.e. the month has at most R cases: only those months are re-read.
    small_months = [m for m in grid.months() if min_cell <= grid.true_total(m) <= MAX_CATEGORY_ROWS]
    category_grids, _ = _category_grids(session, small_months, min_cell) if small_months else ({}, {})
    share_grids_totals([grid, *category_grids.values()])

    buckets = periods(rng, bucket)
    all_months = rng.months
    present = {slug for (slug, _m) in grid.keys() if slug is not None}
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
    )
    return ThemeTable(
        from_=rng.start, to=rng.end, bucket=bucket, min_cell=min_cell,
        periods=[label for label, _ in buckets], rows=rows, totals=totals,
    )


def _month_bounds(rng: Range) -> tuple[date, date]:
    first = date(int(rng.start[:4]), int(rng.start[5:7]), 1)
    end_index = _index(rng.end) + 1
    after = date(end_index // 12, end_index % 12 + 1, 1)
    return first, after


def summary(session: Session, *, min_cell: int, from_month: str | None, to_month: str | None) -> Summary:
    """Contacts and their mix, responsiveness and feedback over a range of months, under the same suppression."""
    rng = resolve_range(session, from_month, to_month)
    months = rng.months
    theme_grid = _theme_grid(session, rng, min_cell, _themes(session))
    grids, calls = _category_grids(session, months, min_cell)
    share_grids_totals([theme_grid, *grids.values()])

    contacts = theme_grid.total(months)

    def share(name: str, value: object) -> float | None:
        return share_or_none(grids[name].cell(value, months), contacts, min_cell)

    # Phone time out of hours is a sum over calls: a month with 1..min_cell-1 such calls would give
    # one call's length away by differencing, so any range containing such a month is withheld.
    call_counts = [calls.get(m, (0, 0))[0] for m in months]
    if any(0 < n < min_cell for n in call_counts):
        call_minutes = None
    else:
        call_minutes = sum(calls.get(m, (0, 0))[1] for m in months)

    in_range = Case.received_month.between(rng.start, rng.end)
    return Summary(
        from_=rng.start, to=rng.end, min_cell=min_cell,
        contacts=contacts,
        anonymous_share=share("anonymous", True),
        out_of_hours_share=share("out_of_hours", True),
        channel_shares={c.value: share("channel", c.value) for c in Channel},
        about_shares={a.value: share("about", a.value) for a in About},
        median_days_to_acknowledgement=_median_days_to_ack(session, in_range, min_cell),
        check_ins_on_time_share=_check_ins_on_time(session, rng, min_cell),
        feedback=_feedback_means(session, in_range, min_cell),
        out_of_hours_call_minutes=call_minutes,
    )


def _median_days_to_ack(session: Session, in_range: ColumnElement[bool], min_cell: int) -> float | None:
    # A histogram in tenths of a day instead of every acknowledged case (or a full sort):
    # a few hundred rows back, and the median to the tenth of a day (rounded down).
    tenths = dialect.tenths_of_days_between(session, Case.acknowledged_at, Case.received_at)
    histogram = session.execute(
        select(tenths, func.count()).where(in_range, Case.acknowledged_at.is_not(None)).group_by(tenths)
    ).all()
    return _median_of_histogram([(max(0, int(t)), n) for t, n in histogram], min_cell)


def _median_of_histogram(histogram: list[tuple[int, int]], min_cell: int) -> float | None:
    """The median day count from (tenths of a day, how many) pairs."""
    total = sum(n for _, n in histogram)
    if total < min_cell:
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


def _check_ins_on_time(session: Session, rng: Range, min_cell: int) -> float | None:
    first, after = _month_bounds(rng)
    today = clock.today()
    rows = session.execute(
        select(CheckIn.due_on, CheckIn.completed_at).where(
            CheckIn.cancelled_at.is_(None),
            CheckIn.due_on >= first,
            CheckIn.due_on < after,
            # A check-in not yet done and not yet due is neither on time nor late.
            or_(CheckIn.completed_at.is_not(None), CheckIn.due_on < today),
        )
    ).all()
    if len(rows) < min_cell:
        return None
    on_time = sum(1 for due, done in rows if done is not None and done.date() <= due)
    return round(on_time / len(rows), 4)


def _feedback_means(session: Session, in_range: ColumnElement[bool], min_cell: int) -> FeedbackMeans:
    cols = [Feedback.listened_to, Feedback.kept_informed, Feedback.support_suitable, Feedback.would_recommend]
    row = session.execute(
        select(func.count(), *[func.avg(c) for c in cols]).join(Case, Case.id == Feedback.case_id).where(in_range)
    ).one()
    n = row[0]
    means = [None if n < min_cell or v is None else round(float(v), 2) for v in row[1:]]
    return FeedbackMeans(**dict(zip(["listened_to", "kept_informed", "support_suitable", "would_recommend"], means, strict=True)))

