"""Request and response shapes of saved views (`/api/v1/me/views`)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints

from app.enums import Risk, Status
from app.saved_views.models import SavedView
from app.schemas import Name, Slug, StrictModel, Timestamp

MAX_SEARCH = 200
Choice = Annotated[str, StringConstraints(strip_whitespace=True, max_length=40)]


class ViewFilters(StrictModel):
    """The queue's filters, as `GET /api/v1/cases` takes them (every field optional)."""

    status: Annotated[list[Status], Field(max_length=len(Status))] = Field(default_factory=list)
    theme: Slug | None = None
    risk: Risk | None = None
    hr_contact: Choice | None = Field(default=None, description="A user id, `none` or `inactive`.")
    owner: Choice | None = Field(default=None, description="`me`, a user id, `none` or `inactive`.")
    overdue: bool = False
    open_referral: bool = False

    def query(self) -> dict[str, Any]:
        """As the queue's query parameters (only those set)."""
        found: dict[str, Any] = {
            "status": [s.value for s in self.status], "theme": self.theme, "risk": self.risk.value if self.risk else None,
            "hr_contact": self.hr_contact, "owner": self.owner,
            "overdue": "true" if self.overdue else None, "open_referral": "true" if self.open_referral else None,
        }
        return {k: v for k, v in found.items() if v}


class SavedViewIn(StrictModel):
    name: Name = Field(description="What you call it (unique among your views), e.g. 'My open cases'.")
    filters: ViewFilters = Field(default_factory=ViewFilters)
    q: Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_SEARCH)] | None = Field(
        default=None, description="Words to search inside the cases (`GET /api/v1/cases?q=`): stored sealed.")
    default: bool = Field(default=False, description="Open the queue on this view (replaces your earlier default).")


class SavedViewRead(BaseModel):
    id: uuid.UUID
    name: str
    filters: ViewFilters
    q: str | None
    default: bool
    created_at: Timestamp

    @classmethod
    def of(cls, row: SavedView, q: str | None) -> SavedViewRead:
        return cls(id=row.id, name=row.name, filters=ViewFilters.model_validate(row.filters), q=q,
                   default=row.is_default, created_at=row.created_at)
