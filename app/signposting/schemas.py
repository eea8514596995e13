"""Request and response shapes of the support directory."""

from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import BaseModel, Field

from app.schemas import MAX_THEMES, Comment, Name, Reason, Slug, StrictModel, Timestamp
from app.signposting.models import SupportEntry

MAX_SENT = 10


class SupportEntryIn(StrictModel):
    name: Name = Field(description="The organisation (unique), e.g. 'StepChange Debt Charity'.")
    helps_with: Reason = Field(description="What they help with, in a line the reporter will read.")
    contact: Reason = Field(description="How to reach them: phone, website, hours.")
    themes: Annotated[list[Slug], Field(max_length=MAX_THEMES)] = Field(
        default_factory=list, description="Theme slugs it fits (active themes); listed first on a case with one.")


class SupportEntryUpdate(StrictModel):
    name: Name | None = None
    helps_with: Reason | None = None
    contact: Reason | None = None
    themes: Annotated[list[Slug], Field(max_length=MAX_THEMES)] | None = None


class SupportEntryRead(BaseModel):
    id: uuid.UUID
    name: str
    helps_with: str
    contact: str
    themes: list[str]
    created_at: Timestamp

    @classmethod
    def of(cls, row: SupportEntry) -> SupportEntryRead:
        return cls(id=row.id, name=row.name, helps_with=row.helps_with, contact=row.contact,
                   themes=list(row.themes), created_at=row.created_at)


class SignpostIn(StrictModel):
    entry_ids: Annotated[list[uuid.UUID], Field(min_length=1, max_length=MAX_SENT)] = Field(
        description="The support directory's entries to send (1 to 10).")
    message: Comment | None = Field(default=None, description="A line of your own above the list (optional).")
