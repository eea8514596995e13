"""Shapes of the anonymised statistics (contract section 5). `null` always means "withheld"."""

from __future__ import annotations

import enum

from pydantic import BaseModel, ConfigDict, Field

from app.schemas import AsAt, PublishedPeriods


class Bucket(str, enum.Enum):
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"
    FY = "fy"
    ALL = "all"


class _Out(BaseModel):
    model_config = ConfigDict(populate_by_name=True)


class ThemeRow(_Out):
    theme: str = Field(description="Theme slug.")
    name: str
    active: bool = Field(description="False for a retired theme (shown only while it has cases in the range).")
    counts: list[int | None] = Field(description="Cases with this primary theme received in each period; null = withheld.")
    total: int | None = Field(description="The row over the whole range; null = withheld.")


class ThemeTotals(_Out):
    counts: list[int | None] = Field(
        description="Every case received in each period, including those not yet triaged (so a column "
        "can exceed the sum of its rows by that period's untriaged cases); null = withheld."
    )
    total: int | None = Field(description="Every case received in the range; null = withheld.")
    untriaged: int | None = Field(
        description="Cases in the range with no primary theme yet, or first triaged more than 28 days after "
        "they were received (a month's rows are fixed once it is settled); null = withheld."
    )
    late: int | None = Field(
        default=0,
        description="Contacts recorded more than 28 days after they were received, into a month that already "
        "had contacts recorded in time: counted in the totals but in no theme row; null = withheld.",
    )


class ThemeTable(_Out):
    from_: str = Field(alias="from", description="First month, YYYY-MM.")
    to: str = Field(description="Last month, YYYY-MM.")
    bucket: Bucket
    min_cell: int = Field(description="Smallest count shown; smaller non-zero counts, and cells that would reveal them, are null.")
    periods: list[str] = Field(description="Period labels: 2023-01, 2023-Q1, 2023, 2023/24 (financial year, April to March), or 2023-01..2024-09 for the whole range.")
    rows: list[ThemeRow]
    totals: ThemeTotals
    published_periods: PublishedPeriods = []
    as_at: AsAt = None


class LocationRow(_Out):
    location: str = Field(description="Location slug.")
    name: str
    kind: str = Field(description="station, department, team or watch.")
    active: bool = Field(description="False for a retired location (shown only while it has cases in the range).")
    counts: list[int | None] = Field(
        description="Cases about this location received in each period; null = withheld (always null for a "
        "location whose headcount is too small to be shown on its own)."
    )
    total: int | None


class LocationTotals(_Out):
    counts: list[int | None] = Field(description="Every case received in each period (the same totals as the themes table).")
    total: int | None
    unknown: int | None = Field(
        description="Cases with no location (not given, prefer not to say, or not set within 28 days of receipt)."
    )
    small_locations: int | None = Field(
        default=0, description="Cases about any location with too few staff to be shown on its own, together."
    )
    late: int | None = Field(default=0, description="Contacts recorded late (see the themes table).")


class LocationTable(_Out):
    from_: str = Field(alias="from", description="First month, YYYY-MM.")
    to: str
    bucket: Bucket
    min_cell: int
    periods: list[str]
    rows: list[LocationRow]
    totals: LocationTotals
    published_periods: PublishedPeriods = []
    as_at: AsAt = None


class FeedbackMeans(_Out):
    listened_to: float | None
    kept_informed: float | None
    support_suitable: float | None
    would_recommend: float | None


class PeriodFigures(_Out):
    period: str = Field(description="A published grid period: 2023-01, 2023-Q1, 2023, 2023/24 or since launch.")
    contacts: int | None
    anonymous_share: float | None
    out_of_hours_share: float | None
    channel_shares: dict[str, float | None]


class Summary(_Out):
    from_: str = Field(alias="from")
    to: str
    min_cell: int
    contacts: int | None = Field(description="Cases received in the range.")
    anonymous_share: float | None = Field(description="Share (0..1) of contacts made anonymously.")
    out_of_hours_share: float | None = Field(description="Share (0..1) of contacts received outside office hours.")
    channel_shares: dict[str, float | None] = Field(description="Share of contacts by channel: web, phone, email, in_person.")
    about_shares: dict[str, float | None] = Field(description="Share of contacts about the reporter themself, a colleague, or other.")
    median_days_to_acknowledgement: float | None = Field(
        description="Median days from receipt to the first staff reply, over the acknowledged cases received in the range."
    )
    check_ins_on_time_share: float | None = Field(
        description="Share of check-ins due in the range (and not cancelled) completed on or before their due date; "
        "check-ins not yet due are left out."
    )
    feedback: FeedbackMeans = Field(description="Mean closing-survey ratings of the cases received in the range.")
    out_of_hours_call_minutes: int | None = Field(
        description="Total duration in minutes of phone contacts received outside office hours."
    )
    by_period: list[PeriodFigures] = Field(
        default_factory=list,
        description="The headline figures for each published period that makes up the range (see published_periods).",
    )
    answers_periods: dict[str, str | None] = Field(
        default_factory=dict,
        description="For the median, the check-in share and the feedback means: the whole quarters they cover "
        "(2024-Q1..2024-Q4), or null. They are computed over fixed pools of at least ten answers that lie "
        "wholly inside from..to and are over, so they can cover less than the range asked for.",
    )
    published_periods: PublishedPeriods = []
    as_at: AsAt = None


# --- referrals (app/stats/referrals.py) -------------------------------------------------------------


class ReferralKindRow(_Out):
    kind: str = Field(description="formal_investigation, police, local_authority_safeguarding, "
                      "occupational_health, regulator_notification, counselling or third_sector.")
    counts: list[int | None] = Field(description="Referrals of this kind made in each period; null = withheld.")
    total: int | None = Field(description="The row over the whole range; null = withheld.")


class ReferralStatus(_Out):
    """How the referrals made in the range stand today."""

    open: int | None = Field(description="Not completed, not yet due.")
    overdue: int | None = Field(description="Not completed, and the due date has passed.")
    completed_on_time: int | None = Field(description="Completed on or before the due date.")
    completed_late: int | None = Field(description="Completed after the due date.")


class ReferralTable(_Out):
    from_: str = Field(alias="from", description="First month, YYYY-MM.")
    to: str = Field(description="Last month, YYYY-MM.")
    bucket: Bucket
    min_cell: int
    periods: list[str]
    rows: list[ReferralKindRow]
    counts: list[int | None] = Field(description="Every referral made in each period; null = withheld.")
    total: int | None = Field(description="Every referral made in the range; null = withheld.")
    status: ReferralStatus

    published_periods: PublishedPeriods = []
    as_at: AsAt = None
