"""Referral counts in the statistics (contract section 6): the roles of `/stats/summary`."""

from __future__ import annotations

from fastapi import APIRouter, Query

from app.http.state import CurrentSettings
from app.http.transactions import CommitInThreadRoute, DbSession
from app.http.users import StatsReader
from app.schemas import Month
from app.stats import referrals
from app.stats.schemas import Bucket, ReferralTable

router = APIRouter(prefix="/api/v1/stats", tags=["statistics"], route_class=CommitInThreadRoute)


@router.get("/referrals", response_model=ReferralTable)
def referral_counts(
    user: StatsReader, session: DbSession, settings: CurrentSettings,
    from_: Month | None = Query(default=None, alias="from",
                                description="First month, YYYY-MM (default: the first month with a referral)."),
    to: Month | None = Query(default=None, description="Last month, YYYY-MM (default: the last month with a referral)."),
    bucket: Bucket = Query(default=Bucket.MONTH, description="Period size: month, quarter, year, or all."),
) -> ReferralTable:
    """Referrals by kind and by the period they were made in, and how those made in the range stand
    today: open, overdue, completed on time or late (leadership, safeguarding, admin). Withheld
    like the themes table: a count above zero and under `min_cell` is null, and so is every number
    that would let it be worked out; the kinds and the status counts share each month's total."""
    return referrals.referral_table(session, min_cell=settings.min_cell, from_month=from_, to_month=to, bucket=bucket)
