"""Referral counts for the statistics: by kind and by month the referral was made, and how they
stand (open, overdue, completed on time, completed late), under the one disclosure rule of
`app.stats.disclosure`.

The two tables count the same referrals month by month, so they share each month's total (rule
4): a count withheld in one cannot be rebuilt from the other's. Referrals are few beside cases,
so the rows of the range are read once and grouped here. A referral's standing changes as it is
completed, so the status table is as of today; the kinds table never changes once a month is over.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import clock
from app.cases.models import Referral
from app.enums import ReferralKind
from app.errors import Invalid
from app.schemas import check_month
from app.stats.disclosure import Grid, share_grids_totals
from app.stats.schemas import Bucket, ReferralKindRow, ReferralStatus, ReferralTable

MAX_MONTHS = 600
STATUSES = ("open", "overdue", "completed_on_time", "completed_late")


def _index(month: str) -> int:
    return int(month[:4]) * 12 + int(month[5:7]) - 1


def _month(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _first_day(month: str) -> datetime:
    return datetime.combine(date(int(month[:4]), int(month[5:7]), 1), time(0), UTC)


def _months(start: str, end: str) -> list[str]:
    return [_month(i) for i in range(_index(start), _index(end) + 1)]


def _checked(value: str | None, field: str) -> str | None:
    if value is None or value == "":
        return None
    try:
        check_month(value)
    except ValueError as exc:
        raise Invalid(f"{field} {exc}.", field=field) from None
    return value


def _range(session: Session, from_month: str | None, to_month: str | None) -> tuple[str, str]:
    """`from`/`to` as given; a missing end defaults to the first or last month with a referral (or this month)."""
    start, end = _checked(from_month, "from"), _checked(to_month, "to")
    if start is not None and end is not None and start > end:
        raise Invalid("from must not be after to.", field="from")
    this_month = clock.today().strftime("%Y-%m")
    if start is None:
        first = session.scalar(select(Referral.created_at).order_by(Referral.created_at).limit(1))
        start = min(first.strftime("%Y-%m") if first else this_month, end or this_month)
    if end is None:
        last = session.scalar(select(Referral.created_at).order_by(Referral.created_at.desc()).limit(1))
        end = max(last.strftime("%Y-%m") if last else this_month, start)
    if _index(end) - _index(start) + 1 > MAX_MONTHS:
        raise Invalid(f"The range may cover at most {MAX_MONTHS} months.", field="to")
    return start, end


def _periods(months: list[str], bucket: Bucket) -> list[tuple[str, list[str]]]:
    if bucket == Bucket.ALL:
        return [(f"{months[0]}..{months[-1]}", months)]
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


def status_of(due_on: date, completed_on: date | None, today: date) -> str:
    if completed_on is not None:
        return "completed_on_time" if completed_on <= due_on else "completed_late"
    return "overdue" if due_on < today else "open"


def grids(session: Session, *, start: str, end: str, min_cell: int) -> tuple[Grid[str], Grid[str]]:
    """The kinds grid and the status grid of the referrals made from `start` to `end`, their
    month totals shared (rule 4)."""
    after = _first_day(_month(_index(end) + 1))
    rows = session.execute(
        select(Referral.created_at, Referral.kind, Referral.due_on, Referral.completed_on)
        .where(Referral.created_at >= _first_day(start), Referral.created_at < after)
    ).all()
    today = clock.today()
    kinds: Counter[tuple[str, str]] = Counter()
    statuses: Counter[tuple[str, str]] = Counter()
    for created_at, kind, due_on, completed_on in rows:
        month = created_at.astimezone(UTC).strftime("%Y-%m")
        kinds[(kind.value, month)] += 1
        statuses[(status_of(due_on, completed_on, today), month)] += 1
    by_kind = Grid(dict(kinds), [k.value for k in ReferralKind], min_cell)
    by_status = Grid(dict(statuses), list(STATUSES), min_cell)
    share_grids_totals([by_kind, by_status])
    return by_kind, by_status


def referral_table(
    session: Session, *, min_cell: int, from_month: str | None, to_month: str | None, bucket: Bucket = Bucket.MONTH
) -> ReferralTable:
    """Referrals by kind and period, and how those made in the range stand today (withheld = null)."""
    start, end = _range(session, from_month, to_month)
    by_kind, by_status = grids(session, start=start, end=end, min_cell=min_cell)
    months = _months(start, end)
    buckets = _periods(months, bucket)
    return ReferralTable(
        from_=start, to=end, bucket=bucket, min_cell=min_cell, periods=[label for label, _ in buckets],
        rows=[ReferralKindRow(kind=k, counts=[by_kind.cell(k.value, ms) for _, ms in buckets],
                              total=by_kind.cell(k.value, months)) for k in ReferralKind],
        counts=[by_kind.total(ms) for _, ms in buckets],
        total=by_kind.total(months),
        status=ReferralStatus(**{s: by_status.cell(s, months) for s in STATUSES}),
    )
