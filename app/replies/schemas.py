"""Request and response shapes of reply templates."""

from __future__ import annotations

import re
import uuid
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field

from app.replies.models import ReplyTemplate
from app.schemas import LongText, Name, StrictModel, Timestamp

PLACEHOLDERS = {
    "reference": "the case's reference, e.g. SS-7K2M-Q9XD",
    "first_check_in": "the date of the case's first check-in (\"not booked yet\" when there is none)",
}
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


def unknown_placeholders(body: str) -> list[str]:
    """The `{names}` in a body that are not placeholders we fill."""
    return [m for m in dict.fromkeys(_PLACEHOLDER.findall(body)) if m not in PLACEHOLDERS]


def _known_placeholders(body: str) -> str:
    unknown = unknown_placeholders(body)
    if unknown:
        known = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
        raise ValueError(f"unknown placeholder {{{unknown[0]}}}: use {known}")
    return body


TemplateBody = Annotated[LongText, AfterValidator(_known_placeholders)]


class ReplyTemplateIn(StrictModel):
    name: Name = Field(description="What the team calls it (unique), e.g. 'First reply'.")
    body: TemplateBody = Field(
        description="The message, with placeholders filled when it is used: "
        + "; ".join(f"`{{{k}}}` {v}" for k, v in PLACEHOLDERS.items()) + "."
    )


class ReplyTemplateUpdate(StrictModel):
    name: Name | None = None
    body: TemplateBody | None = None


class ReplyTemplateRead(BaseModel):
    id: uuid.UUID
    name: str
    body: str
    created_at: Timestamp

    @classmethod
    def of(cls, row: ReplyTemplate) -> ReplyTemplateRead:
        return cls(id=row.id, name=row.name, body=row.body, created_at=row.created_at)
