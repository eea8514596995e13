"""Referral counts by kind and status, month by month under `disclosure.py`'s rules."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import clock
from app.cases.models import Referral
from app.enums import ReferralKind
from app.errors import Invalid
from app.stats import service
from app.stats.disclosure import Grid, share_grids_totals
from app.stats.periods import Range, first_day, index_of, month_of
from app.stats.schemas import Bucket, ReferralKindRow, ReferralStatus, ReferralTable

STATUSES = ("open", "overdue", "completed_on_time", "completed_late")


def _range(session: Session, from_month: str | None, to_month: str | None) -> Range:
    """`from`/`to` as given; a missing end defaults to the first or last month with a referral (or this month)."""
    start, end = service.parse_month(from_month, "from"), service.parse_month(to_month, "to")
    if start is not None and end is not None and start > end:
        raise Invalid("from must not be after to.", field="from")
    this_month = clock.today().strftime("%Y-%m")
    if start is None:
        first = session.scalar(select(Referral.created_at).order_by(Referral.created_at).limit(1))
        start = min(first.strftime("%Y-%m") if first else this_month, end or this_month)
    if end is None:
        last = session.scalar(select(Referral.created_at).order_by(Referral.created_at.desc()).limit(1))
        end = max(last.strftime("%Y-%m") if last else this_month, start)
    if index_of(end) - index_of(start) + 1 > service.MAX_MONTHS:
        raise Invalid(f"The range may cover at most {service.MAX_MONTHS} months.", field="to")
    return Range(start, end)


def _first_moment(month: str) -> datetime:
    return datetime.combine(first_day(month), time(0), UTC)


def status_of(due_on: date, completed_on: date | None, today: date) -> str:
    if completed_on is not None:
        return "completed_on_time" if completed_on <= due_on else "completed_late"
    return "overdue" if due_on < today else "open"


def grids(session: Session, *, start: str, end: str, min_cell: int) -> tuple[Grid[str], Grid[str]]:
    """The kinds and status grids of the referrals made from `start` to `end`, sharing month totals."""
    after = _first_moment(month_of(index_of(end) + 1))
    rows = session.execute(
        select(Referral.created_at, Referral.kind, Referral.due_on, Referral.completed_on)
        .where(Referral.created_at >= _first_moment(start), Referral.created_at < after)
    ).all()
    today = clock.today()
    kinds: Counter[tuple[str, str]] = Counter()
    statuses: Counter[tuple[str, str]] = Counter()
    for created_at, kind, due_on, completed_on in rows:
        month = created_at.astimezone(UTC).strftime("%Y-%m")
        kinds[(kind.value, month)] += 1
        statuses[(status_of(due_on, completed_on, today), month)] += 1
    # A month is published once it has settled, like the cases' tables: the snapshots before and
    # after one referral never show which kind it was.
    opaque = service.opaque_months(Range(start, end).months, today)
    by_kind = Grid(dict(kinds), [k.value for k in ReferralKind], min_cell, opaque=opaque)
    by_status = Grid(dict(statuses), list(STATUSES), min_cell, opaque=opaque)
    share_grids_totals([by_kind, by_status])
    return by_kind, by_status


def referral_table(
    session: Session, *, min_cell: int, from_month: str | None, to_month: str | None, bucket: Bucket = Bucket.MONTH
) -> ReferralTable:
    """Referrals by kind and period, and how those made in the range stand today (withheld = null)."""
    rng = _range(session, from_month, to_month)
    by_kind, by_status = grids(session, start=rng.start, end=rng.end, min_cell=min_cell)
    months = rng.months
    buckets = service.periods(rng, bucket)
    return ReferralTable(
        from_=rng.start, to=rng.end, bucket=bucket, min_cell=min_cell, periods=[label for label, _ in buckets],
        rows=[ReferralKindRow(kind=k, counts=[by_kind.cell(k.value, ms) for _, ms in buckets],
                              total=by_kind.cell(k.value, months)) for k in ReferralKind],
        counts=[by_kind.total(ms) for _, ms in buckets],
        total=by_kind.total(months),
        status=ReferralStatus(**{s: by_status.cell(s, months) for s in STATUSES}),
    )
