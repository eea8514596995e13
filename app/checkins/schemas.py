from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, Field, StrictBool, StringConstraints, field_serializer

from app import clock
from app.auth.schemas import StrictModel
from app.checkins.models import CheckIn
from app.checkins.service import is_overdue

Summary = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20000)]


def _fields(row: CheckIn) -> dict[str, object]:
    return {
        "id": row.id, "case_id": row.case_id, "due_on": row.due_on, "completed_at": row.completed_at,
        "support_suitable": row.support_suitable, "overdue": is_overdue(row),
    }


class CheckInComplete(StrictModel):
    summary: Summary = Field(description="How the check-in went, in the HR contact's words (1 to 20,000 characters; stored encrypted).")
    support_suitable: StrictBool = Field(description="Whether the support the reporter is getting is suitable.")


class CheckInRead(BaseModel):
    """A check-in as listed across cases: dates and outcome, never the summary."""

    id: uuid.UUID
    case_id: uuid.UUID
    due_on: date
    completed_at: datetime | None
    support_suitable: bool | None
    overdue: bool = Field(description="Open and due before today.")

    @field_serializer("completed_at")
    def _ts(self, v: datetime | None) -> str | None:
        return clock.rfc3339(v)

    @classmethod
    def of(cls, row: CheckIn) -> "CheckInRead":
        return cls(**_fields(row))


class CaseCheckInRead(CheckInRead):
    """A check-in on its case's own list, with its decrypted summary."""

    summary: str | None
    cancelled_at: datetime | None = Field(description="Set when the HR contact changed or the case closed.")
    completed_by: uuid.UUID | None

    @field_serializer("cancelled_at")
    def _cancelled(self, v: datetime | None) -> str | None:
        return clock.rfc3339(v)

    @classmethod
    def with_summary(cls, row: CheckIn, summary: str | None, **extra: object) -> "CaseCheckInRead":
        return cls(
            **_fields(row), summary=summary, cancelled_at=row.cancelled_at, completed_by=row.completed_by_id, **extra
        )


class CheckInCompleted(CaseCheckInRead):
    """The completed check-in, and the date of the next one it booked."""

    next_due_on: date
