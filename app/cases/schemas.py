"""Request and response shapes of the staff side of a case (contract section 4)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, Field, PlainSerializer, StringConstraints

from app import clock
from app.auth.schemas import StrictModel
from app.enums import About, Channel, Outcome, Risk, Status, Wish
from app.reports.schemas import ReportIn

# Every time leaves the API as RFC 3339 in UTC ("2026-01-31T22:15:00Z").
Timestamp = Annotated[datetime, PlainSerializer(clock.rfc3339, return_type=str)]
Body = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20000)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
ThemeSlug = Annotated[str, StringConstraints(min_length=1, max_length=64)]


# --- input -------------------------------------------------------------------------------------


class CaseCreate(ReportIn):
    """A contact received by phone, e-mail or in person, recorded by the safeguarding team."""

    channel: Literal["phone", "email", "in_person"] = Field(
        description="How the contact reached the team. Web reports come through `POST /api/v1/reports` instead."
    )
    received_at: AwareDatetime = Field(
        description="When the contact was received (RFC 3339 with a zone; not in the future). "
        "Decides whether the case counts as out of office hours."
    )
    duration_minutes: int | None = Field(
        default=None, ge=0, le=1440, description="How long the contact took, in minutes (0 to 1440); null if unknown."
    )


class CaseUpdate(StrictModel):
    """Triage. Only the fields given change; `null` is refused for `primary_theme`."""

    themes: Annotated[list[ThemeSlug], Field(max_length=20)] | None = Field(
        default=None, description="The case's themes (slugs). The primary theme is always kept among them."
    )
    primary_theme: ThemeSlug | None = Field(
        default=None,
        description="An active theme. Setting it triages a received case and acknowledges it if it was not yet.",
    )
    risk: Risk | None = None
    wishes: Annotated[list[Wish], Field(max_length=5)] | None = None


class HrContactIn(StrictModel):
    user_id: uuid.UUID = Field(description="A user who holds `hr`, is active and is not excluded from the case.")


class ExclusionIn(StrictModel):
    user_id: uuid.UUID
    reason: Reason = Field(description="Why (stored encrypted), e.g. 'named in the concern'.")


class TextIn(StrictModel):
    body: Body


class CloseIn(StrictModel):
    outcome: Outcome
    summary: Body = Field(description="What was done and why (stored encrypted; erased with the case).")


# --- output ------------------------------------------------------------------------------------


class Person(BaseModel):
    id: uuid.UUID
    name: str


class Deadlines(BaseModel):
    """The EU Whistleblowing Directive's deadlines (article 9(1)(b) and (f))."""

    acknowledge_by: Timestamp = Field(description="received_at + 7 days.")
    acknowledgement_overdue: bool = Field(description="Open, not acknowledged, and acknowledge_by has passed.")
    feedback_due: Timestamp = Field(
        description="3 months after the last word to the reporter: the later of the acknowledgement and the "
        "latest staff message (or, if never acknowledged, 3 months after acknowledge_by)."
    )
    feedback_overdue: bool = Field(description="Open and feedback_due has passed.")


class CaseSummary(Deadlines):
    """One row of the case list: no decrypted content."""

    id: uuid.UUID
    reference: str
    status: Status
    channel: Channel
    primary_theme: str | None
    risk: Risk
    hr_contact: Person | None
    received_at: Timestamp
    out_of_hours: bool
    acknowledged_at: Timestamp | None
    closed_at: Timestamp | None


class CasePage(BaseModel):
    items: list[CaseSummary]
    total: int


class CaseRead(CaseSummary):
    """The whole case. Reading it is audited (`case.read`)."""

    anonymous: bool
    reporter: dict[str, str | None] | None = Field(description="The reporter's identity; null when anonymous.")
    about: About
    description: str | None = Field(description="Null once the case has been erased after its retention date.")
    themes: list[str]
    suggested_themes: list[str] = Field(description="Computed from the description; never applied without a person.")
    reporter_themes: list[str] = Field(description="The themes the reporter picked themselves.")
    wishes: list[str]
    duration_minutes: int | None
    triaged_at: Timestamp | None
    outcome: Outcome | None
    summary: str | None = Field(description="The closing summary.")
    retain_until: date | None
    purged_at: Timestamp | None
    next_check_in: date | None


class CaseCreated(CaseRead):
    receipt: str = Field(
        description="Give this to the person once: it lets them follow up online. Never stored in clear."
    )


class ExclusionRead(BaseModel):
    id: uuid.UUID
    user: Person
    reason: str | None
    created_by: Person | None
    created_at: Timestamp


class NoteRead(BaseModel):
    id: uuid.UUID
    body: str
    author: Person | None
    created_at: Timestamp


class MessageRead(BaseModel):
    id: uuid.UUID
    from_: Literal["reporter", "staff"] = Field(serialization_alias="from")
    body: str
    author: Person | None = Field(description="The staff member who wrote it; null for the reporter.")
    created_at: Timestamp
