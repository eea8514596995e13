"""The monthly roll-up: raw counting queries, their cached results by month, and staleness
(docs/statistics.md, "Performance: the monthly roll-up").

A reader uses the cache for fresh months and the very same query on raw rows for the others, so
the two agree. Staleness is marked by explicit `mark_stale` calls in the changing transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, case, delete, func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from app import clock, db, dialect
from app.cases.feedback import RATING_KEYS as RATINGS
from app.cases.models import Case, Feedback
from app.db import table_of
from app.stats.models import StatsCell, StatsFresh, StatsStale
from app.stats.periods import index_of, month_of

WINDOW_TENTHS = 280  # a contact recorded, or first triaged, more than 28 days after receipt
ACK_WINDOW_TENTHS = 900  # an acknowledgement more than 90 days after receipt is not timed
REFRESH_LOCK = 7302153
log = logging.getLogger("safeshare.stats")
CATEGORY_SEP = "|"


# --- the raw queries ------------------------------------------------------------------------------

def _in_months(column: Any, months: Sequence[str]) -> ColumnElement[bool]:
    ordered = sorted(months)
    clause: ColumnElement[bool]
    if len(ordered) == index_of(ordered[-1]) - index_of(ordered[0]) + 1:
        clause = column.between(ordered[0], ordered[-1])
    else:
        clause = column.in_(ordered)
    return clause


def recorded_late(session: Session) -> ColumnElement[bool]:
    return dialect.tenths_of_days_between(session, Case.created_at, Case.received_at) > WINDOW_TENTHS


def triaged_in_time(session: Session) -> ColumnElement[bool]:
    tenths = dialect.tenths_of_days_between(session, Case.triaged_at, Case.received_at)
    return and_(Case.triaged_at.is_not(None), tenths <= WINDOW_TENTHS)


DIMENSIONS = {"theme": Case.primary_theme, "location": Case.location}


def _raw_dimension(session: Session, dimension: str, months: Sequence[str]) -> list[tuple[str, str | None, bool, bool, int]]:
    column = DIMENSIONS[dimension]
    late = recorded_late(session).label("late")
    in_time = triaged_in_time(session).label("in_time")
    rows = session.execute(
        select(Case.received_month, column, late, in_time, func.count())
        .where(_in_months(Case.received_month, months))
        .group_by(Case.received_month, column, late, in_time)
    ).all()
    return [(m, v, bool(lt), bool(t), int(n)) for m, v, lt, t, n in rows]


def _raw_category(session: Session, months: Sequence[str]) -> list[tuple[str, str, bool, int, int]]:
    """(month, "channel|anonymous|out_of_hours|about", late, n, minutes of out-of-hours phone calls)."""
    ooh_phone = and_(Case.channel == "phone", Case.out_of_hours.is_(True))
    late = recorded_late(session).label("late")
    rows = session.execute(
        select(
            Case.received_month, Case.channel, Case.anonymous, Case.out_of_hours, Case.about, late, func.count(),
            func.sum(case((ooh_phone, func.coalesce(Case.duration_minutes, 0)), else_=0)),
        )
        .where(_in_months(Case.received_month, months))
        .group_by(Case.received_month, Case.channel, Case.anonymous, Case.out_of_hours, Case.about, late)
    ).all()
    out = []
    for m, channel, anonymous, ooh, about, lt, n, minutes in rows:
        channel_value = getattr(channel, "value", channel)
        about_value = getattr(about, "value", about)
        key = CATEGORY_SEP.join([str(channel_value), str(int(bool(anonymous))), str(int(bool(ooh))), str(about_value)])
        out.append((m, key, bool(lt), int(n), int(minutes or 0)))
    return out


def _raw_ack(session: Session, months: Sequence[str]) -> list[tuple[str, int, int]]:
    """(month, tenths of a day to acknowledgement, n) over contacts recorded in time, acknowledged in 90 days."""
    tenths = dialect.tenths_of_days_between(session, Case.acknowledged_at, Case.received_at)
    rows = session.execute(
        select(Case.received_month, tenths, func.count())
        .where(
            _in_months(Case.received_month, months),
            Case.acknowledged_at.is_not(None),
            dialect.tenths_of_days_between(session, Case.created_at, Case.received_at) <= WINDOW_TENTHS,
            tenths <= ACK_WINDOW_TENTHS,
        )
        .group_by(Case.received_month, tenths)
    ).all()
    return [(m, max(0, int(t)), int(n)) for m, t, n in rows]


def _month_starts(months: Sequence[str]) -> list[tuple[str, datetime, datetime]]:
    out = []
    for m in sorted(months):
        i = index_of(m)
        nxt = month_of(i + 1)
        out.append((m, datetime(int(m[:4]), int(m[5:7]), 1, tzinfo=UTC), datetime(int(nxt[:4]), int(nxt[5:7]), 1, tzinfo=UTC)))
    return out


def _raw_feedback(session: Session, months: Sequence[str]) -> list[tuple[str, int, tuple[int, int, int, int]]]:
    """(month the feedback was given, n, sums of the four ratings)."""
    bounds = _month_starts(months)
    if not bounds:
        return []
    bucket = case(*((and_(Feedback.created_at >= a, Feedback.created_at < b), m) for m, a, b in bounds), else_=None)
    cols = [getattr(Feedback, r) for r in RATINGS]
    rows = session.execute(
        select(bucket, func.count(), *[func.sum(c) for c in cols])
        .where(Feedback.created_at >= bounds[0][1], Feedback.created_at < bounds[-1][2])
        .group_by(bucket)
    ).all()
    out = []
    for r in rows:
        if r[0] is None:
            continue
        a, b, c, d = (int(v or 0) for v in r[2:])
        out.append((str(r[0]), int(r[1]), (a, b, c, d)))
    return out


# --- reading: the roll-up where fresh, raw rows elsewhere --------------------------------------

def fresh_months(session: Session, months: Iterable[str]) -> set[str]:
    wanted = sorted(set(months))
    if not wanted:
        return set()
    fresh = set(session.scalars(select(StatsFresh.month).where(_in_months(StatsFresh.month, wanted))).all())
    stale = set(session.scalars(select(StatsStale.month)).all())
    return fresh - stale


def _cells(session: Session, dimension: str, months: Iterable[str]) -> list[Any]:
    """(month, value, late, in_time, n, minutes) rows: plain tuples, not ORM objects (thousands of rows)."""
    months = sorted(months)
    if not months:
        return []
    c = StatsCell
    return list(session.execute(
        select(c.month, c.value, c.late, c.in_time, c.n, c.minutes)
        .where(c.dimension == dimension, _in_months(c.month, months))
    ).all())


def _split(session: Session, months: Iterable[str]) -> tuple[list[str], list[str]]:
    months = sorted(set(months))
    fresh = fresh_months(session, months)
    return [m for m in months if m in fresh], [m for m in months if m not in fresh]


CATEGORY_DIMENSIONS = ("channel", "anonymous", "out_of_hours", "about")


def _split_categories(rows: Iterable[tuple[str, str, bool, int, int]]) -> list[tuple[str, str, str, bool, int, int]]:
    """(dimension, month, value, late, n, minutes): one margin per category plus out-of-hours calls."""
    out: dict[tuple[str, str, str, bool], list[int]] = {}
    for month, key, late, n, minutes in rows:
        channel, anonymous, ooh, about = key.split(CATEGORY_SEP)
        for dim, value in zip(CATEGORY_DIMENSIONS, (channel, anonymous, ooh, about), strict=True):
            out.setdefault((dim, month, value, late), [0, 0])[0] += n
        if channel == "phone" and ooh == "1":
            acc = out.setdefault(("calls", month, "", late), [0, 0])
            acc[0] += n
            acc[1] += minutes
    return [(d, m, v, lt, n, mins) for (d, m, v, lt), (n, mins) in out.items()]


@dataclass
class Counts:
    """What the count tables need for a range of months: per dimension, (month, value, late, in_time, n, minutes)."""

    rows: dict[str, list[tuple[str, str | None, bool, bool, int, int]]]


def counts(
    session: Session, months: Sequence[str], dimensions: Sequence[str] | None = None, opaque: Iterable[str] = ()
) -> Counts:
    """Theme, location and category counts for `months`, the roll-up for fresh months, raw for others.

    Of an unfresh `opaque` month only the total is counted (index-only): the current month is usually stale.
    """
    names = tuple(dimensions) if dimensions is not None else ("theme", "location", *CATEGORY_DIMENSIONS, "calls")
    if not months:
        return Counts({name: [] for name in names})
    cached, raw = _split(session, months)
    hidden_only = [m for m in raw if m in set(opaque)]
    raw = [m for m in raw if m not in set(hidden_only)]
    out: dict[str, list[tuple[str, str | None, bool, bool, int, int]]] = {name: [] for name in names}
    if cached:
        c = StatsCell
        # On the connection: thousands of plain tuples, without the ORM's result processing (half the time)
        for d, m, v, lt, t, n, mins in session.connection().execute(
            select(c.dimension, c.month, c.value, c.late, c.in_time, c.n, c.minutes)
            .where(c.dimension.in_(names), _in_months(c.month, cached))
        ).all():
            out[d].append((m, v or None, lt, t, n, mins))
    if raw:
        for dimension in DIMENSIONS:
            if dimension in out:
                out[dimension] += [(m, v, lt, t, n, 0) for m, v, lt, t, n in _raw_dimension(session, dimension, raw)]
        if "channel" in out:
            for d, m, v, lt, n, mins in _split_categories(_raw_category(session, raw)):
                out[d].append((m, v, lt, False, n, mins))
    if hidden_only:
        totals = session.execute(
            select(Case.received_month, func.count()).where(_in_months(Case.received_month, hidden_only))
            .group_by(Case.received_month)
        ).all()
        first_value = {"channel": "web", "anonymous": "1", "out_of_hours": "0", "about": "self"}
        for m, n in totals:
            for name in names:
                if name != "calls":
                    out[name].append((m, first_value.get(name), False, False, int(n), 0))
    return Counts(out)


def ack_rows(session: Session, months: Sequence[str]) -> list[tuple[str, int, int]]:
    cached, raw = _split(session, months)
    out = [(c.month, int(c.value), c.n) for c in _cells(session, "ack", cached)]
    return out + (_raw_ack(session, raw) if raw else [])


def feedback_rows(session: Session, months: Sequence[str]) -> list[tuple[str, int, tuple[int, int, int, int]]]:
    cached, raw = _split(session, months)
    by_month: dict[str, dict[str, int]] = {}
    for c in _cells(session, "feedback", cached):
        by_month.setdefault(c.month, {})[c.value] = c.n
    out = [(m, v.get("n", 0), (v.get(RATINGS[0], 0), v.get(RATINGS[1], 0), v.get(RATINGS[2], 0), v.get(RATINGS[3], 0)))
           for m, v in by_month.items()]
    return out + (_raw_feedback(session, raw) if raw else [])


# --- refreshing ------------------------------------------------------------------------------------

def _universe(session: Session) -> list[str]:
    first = session.execute(select(func.min(Case.received_month))).scalar()
    if first is None:
        return []
    last = max(clock.today().strftime("%Y-%m"), session.execute(select(func.max(Case.received_month))).scalar() or first)
    return [month_of(i) for i in range(index_of(first), index_of(last) + 1)]


def all_months(session: Session) -> list[str]:
    """Every month from the first with any case to this one."""
    return _universe(session)


def needs_refresh(session: Session) -> list[str]:
    """The months with data that are stale or were never rolled up."""
    universe = _universe(session)
    if not universe:
        return []
    return sorted(set(universe) - fresh_months(session, universe))


def refresh(session: Session, months: Sequence[str] | None = None) -> list[str]:
    """Recompute the roll-up of `months` (default: stale or missing), in a transaction of its own.

    The stale marker is removed first, so a concurrent change is counted or leaves its marker behind.
    """
    dialect.serialise(session, REFRESH_LOCK)
    todo = sorted(set(months)) if months is not None else needs_refresh(session)
    if not todo:
        return []
    session.execute(delete(StatsStale).where(_in_months(StatsStale.month, todo)))
    session.execute(delete(StatsCell).where(_in_months(StatsCell.month, todo)))
    session.execute(delete(StatsFresh).where(_in_months(StatsFresh.month, todo)))
    cells: list[dict[str, Any]] = []

    def cell(dimension: str, month: str, value: str, late: bool, in_time: bool, n: int, minutes: int = 0) -> None:
        cells.append({"dimension": dimension, "month": month, "value": value, "late": late, "in_time": in_time,
                      "n": n, "minutes": minutes})

    for dimension in DIMENSIONS:
        for m, v, lt, t, n in _raw_dimension(session, dimension, todo):
            cell(dimension, m, v or "", lt, t, n)
    for d, m, v, lt, n, minutes in _split_categories(_raw_category(session, todo)):
        cell(d, m, v, lt, False, n, minutes)
    for m, tenths, n in _raw_ack(session, todo):
        cell("ack", m, str(tenths), False, False, n)
    for m, n, sums in _raw_feedback(session, todo):
        cell("feedback", m, "n", False, False, n)
        for r, s in zip(RATINGS, sums, strict=True):
            cell("feedback", m, r, False, False, s)
    for start in range(0, len(cells), 1000):
        session.execute(insert(StatsCell), cells[start:start + 1000])
    now = clock.now()
    session.execute(insert(StatsFresh), [{"month": m, "refreshed_at": now} for m in todo])
    return todo


# --- marking stale, in the transaction of the change -----------------------------------------

def mark_stale(session: Session, months: Iterable[str | None]) -> None:
    """These months are counted from raw rows until the next refresh (in the caller's transaction)."""
    for month in sorted({m for m in months if m}):
        session.execute(*stale_mark(session, month))


def stale_mark(session: Session, month: str) -> tuple[Any, dict[str, Any]]:
    """`mark_stale` for one month as a statement and its parameters, also for a caller that runs it
    along its own write (`app.cases.intake.store`: one round trip on PostgreSQL)."""
    return _mark_statement(dialect.name_of(session)), {"stale_month": month}


@cache
def _mark_statement(dialect_name: str) -> Any:
    """INSERT INTO stats_stale (month) VALUES (:stale_month) ON CONFLICT DO NOTHING, built once
    (the parameter named apart from the columns of a statement it may run inside)."""
    table = table_of(StatsStale)
    return dialect.insert(dialect_name, table).values(month=bindparam("stale_month", type_=table.c.month.type)) \
        .on_conflict_do_nothing()


def mark_case(session: Session, case: Case) -> None:
    mark_stale(session, [case.received_month])


def refresh_separately(sessions: sessionmaker[Session]) -> None:
    """Bring the roll-up up to date after a GET answered; a failure is logged, never raised."""
    try:
        with db.separately(sessions) as session:
            refreshed = refresh(session)
        if refreshed:
            log.info("statistics roll-up refreshed for %d month(s)", len(refreshed))
    except Exception:  # noqa: BLE001 - a background refresh must never fail a request
        log.warning("statistics roll-up refresh failed; the raw rows are counted meanwhile", exc_info=True)
