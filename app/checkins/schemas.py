from __future__ import annotations

import uuid
from datetime import date

from pydantic import BaseModel, Field, StrictBool

from app.checkins.models import CheckIn
from app.checkins.service import is_overdue
from app.schemas import LongText, StrictModel, Timestamp


def _fields(row: CheckIn) -> dict[str, object]:
    return {
        "id": row.id, "case_id": row.case_id, "due_on": row.due_on, "completed_at": row.completed_at,
        "support_suitable": row.support_suitable, "overdue": is_overdue(row),
    }


class CheckInComplete(StrictModel):
    summary: LongText = Field(description="How the check-in went, in the HR contact's words (1 to 20,000 characters; stored encrypted).")
    support_suitable: StrictBool = Field(description="Whether the support the reporter is getting is suitable.")


class CheckInRead(BaseModel):
    """A check-in as listed across cases: dates and outcome, never the summary."""

    id: uuid.UUID
    case_id: uuid.UUID
    due_on: date
    completed_at: Timestamp | None
    support_suitable: bool | None
    overdue: bool = Field(description="Open and due before today.")

    @classmethod
    def of(cls, row: CheckIn) -> CheckInRead:
        return cls(**_fields(row))


class CaseCheckInRead(CheckInRead):
    """A check-in on its case's own list, with its decrypted summary."""

    summary: str | None
    cancelled_at: Timestamp | None = Field(description="Set when the HR contact changed or the case closed.")
    completed_by: uuid.UUID | None

    @classmethod
    def with_summary(cls, row: CheckIn, summary: str | None) -> CaseCheckInRead:
        return cls(**_fields(row), summary=summary, cancelled_at=row.cancelled_at, completed_by=row.completed_by_id)


class CheckInCompleted(CaseCheckInRead):
    """The completed check-in, and the date of the next one it booked."""

    next_due_on: date

    @classmethod
    def completed(cls, row: CheckIn, summary: str, *, next_due_on: date) -> CheckInCompleted:
        return cls(
            **_fields(row), summary=summary, cancelled_at=row.cancelled_at, completed_by=row.completed_by_id,
            next_due_on=next_due_on,
        )
