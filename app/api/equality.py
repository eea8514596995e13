"""Equality monitoring statistics and the workforce baseline (contract section 6)."""

from __future__ import annotations

from fastapi import APIRouter, Query

from app.equality import service
from app.equality.schemas import BaselineIn, BaselineOut, EqualityTable
from app.http.state import CurrentSettings
from app.http.transactions import CommitInThreadRoute, DbSession
from app.http.users import Admin, StatsReader
from app.schemas import Month
from app.stats.equality import equality_table

router = APIRouter(prefix="/api/v1/stats", tags=["statistics"], route_class=CommitInThreadRoute)

FROM = Query(default=None, alias="from", description="First month, YYYY-MM (default: the first month with any case).")
TO = Query(default=None, description="Last month, YYYY-MM (default: the last month with any case).")


@router.get("/equality", response_model=EqualityTable)
def equality(
    user: StatsReader, session: DbSession, settings: CurrentSettings,
    from_: Month | None = FROM, to: Month | None = TO,
) -> EqualityTable:
    """Equality monitoring answers over a range of months (leadership, safeguarding, admin), beside
    the workforce baseline.

    For each of the nine characteristics, one row per value and one for `prefer_not_to_say`:
    `count` respondents; `share` of those who gave a value (for `prefer_not_to_say`: of those who
    answered the question); `baseline_share` the workforce's; `ratio` = share / baseline (above 1:
    over-represented among the service's users) with a 95% interval (`ratio_low`, `ratio_high`,
    from the Wilson interval of the share). Withheld numbers are null, under the same
    month-by-month rule as `/stats/themes`. Answers are counted by the month the concern was
    received and appear once their batch is published (docs/statistics.md).
    """
    return equality_table(session, min_cell=settings.min_cell, from_month=from_, to_month=to)


@router.put("/equality/baseline", response_model=BaselineOut)
def put_baseline(body: BaselineIn, admin: Admin, session: DbSession) -> BaselineOut:
    """Replace the workforce baseline (admin): for each characteristic given, the share (0..1) of the
    workforce with each value; shares of one characteristic add up to at most 1 (the rest unknown).
    A characteristic or value left out has no baseline. Audited."""
    return BaselineOut.of(service.set_baseline(session, user=admin, data=body))
