"""Anonymised statistics (contract section 5), for leadership, safeguarding and admin."""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, Query
from fastapi.responses import Response

from app.http.state import CurrentSettings, Sessions
from app.http.transactions import CommitInThreadRoute, DbSession
from app.http.users import StatsReader
from app.schemas import Month
from app.stats import rollup, service
from app.stats.export import csv_response
from app.stats.schemas import Bucket, LocationTable, Summary, ThemeTable

router = APIRouter(prefix="/api/v1/stats", tags=["statistics"], route_class=CommitInThreadRoute)

FROM = Query(default=None, alias="from", description="First month, YYYY-MM (default: the first month with any case).")
TO = Query(default=None, description="Last month, YYYY-MM (default: the last month with any case).")
BUCKET = Query(default=Bucket.MONTH, description="Period size: month, quarter, year, or all (the whole range).")


@router.get("/themes", response_model=ThemeTable)
def themes(
    user: StatsReader, session: DbSession, settings: CurrentSettings, sessions: Sessions, background: BackgroundTasks,
    from_: Month | None = FROM, to: Month | None = TO, bucket: Bucket = BUCKET,
) -> ThemeTable:
    """Cases by primary theme and period (leadership, safeguarding, admin).

    A count above zero and under `min_cell` is null, and so is every other number that would let
    it be worked out: a second cell of the same month, a month's total, and any period, row total
    or total that contains a withheld month cell. The decisions are made month by month, once,
    so comparing the answers to different queries reveals nothing more. `totals.counts` counts
    every case received, including the `untriaged` ones (which are in no row).
    """
    table = service.theme_table(session, min_cell=settings.min_cell, from_month=from_, to_month=to, bucket=bucket)
    _keep_current(session, sessions, background)
    return table


def _keep_current(session: DbSession, sessions: Sessions, background: BackgroundTasks) -> None:
    """After answering, bring the roll-up up to date in a transaction of its own (GETs only read)."""
    if rollup.needs_refresh(session):
        background.add_task(rollup.refresh_separately, sessions)


@router.get(
    "/themes.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "The themes table as CSV."}},
)
def themes_csv(
    user: StatsReader, session: DbSession, settings: CurrentSettings,
    from_: Month | None = FROM, to: Month | None = TO, bucket: Bucket = BUCKET,
) -> Response:
    """The themes table as CSV: `theme,name,<each period>,total`, one row per theme, then a `total`
    row (every case received) and an `untriaged` row (its total only). Withheld cells are empty."""
    table = service.theme_table(session, min_cell=settings.min_cell, from_month=from_, to_month=to, bucket=bucket)
    return csv_response(table)


@router.get("/locations", response_model=LocationTable)
def locations(
    user: StatsReader, session: DbSession, settings: CurrentSettings, sessions: Sessions, background: BackgroundTasks,
    from_: Month | None = FROM, to: Month | None = TO, bucket: Bucket = BUCKET,
) -> LocationTable:
    """Cases by location and period (leadership, safeguarding, admin), in the shape of `/stats/themes`.

    The same month-by-month decisions as the themes table, made over both tables (and the
    summary's) together, so a withheld cell of one cannot be worked out from the other's margins.
    `totals.unknown` counts contacts with no location. A location whose headcount is under
    5 × `min_cell` is listed with every count withheld; its cases are counted with the other small
    locations' in `totals.small_locations`.
    """
    table = service.location_table(session, min_cell=settings.min_cell, from_month=from_, to_month=to, bucket=bucket)
    _keep_current(session, sessions, background)
    return table


@router.get("/summary", response_model=Summary)
def summary(
    user: StatsReader, session: DbSession, settings: CurrentSettings, sessions: Sessions, background: BackgroundTasks,
    from_: Month | None = FROM, to: Month | None = TO,
) -> Summary:
    """Contacts, their mix (anonymous, out of hours, channel, who the concern is about), median days
    to acknowledgement, check-ins done on time, mean feedback ratings and out-of-hours phone time.

    Shares use the same month-by-month suppression as the themes table; a share, mean or median
    over fewer than `min_cell` cases is null, and so is the phone time if any month in the range
    had between 1 and `min_cell - 1` such calls. Everything is by the month the case was received,
    except check-ins, which are by their due date.
    """
    result = service.summary(session, min_cell=settings.min_cell, from_month=from_, to_month=to)
    _keep_current(session, sessions, background)
    return result
