"""Shared building blocks of every request and response shape, and the limits they enforce.

Each limit is written once, here: the API's schemas and the web forms both validate through
the schemas that use these types, so a page can never accept what the API refuses.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, StringConstraints

from app import clock

# --- limits ------------------------------------------------------------------------------------

MAX_DESCRIPTION = 20_000  # a concern, a message, a note, a check-in summary, a closing summary
MAX_COMMENT = 5_000  # the reporter's feedback comment
MAX_REASON = 2_000  # a short explanation: why a user is excluded from a case, what a theme covers
MAX_NAME = 200  # a person's or a theme's name
MAX_EMAIL = 320  # RFC 5321's longest address
MAX_PASSWORD = 1_024
MIN_PASSWORD = 12
MAX_THEMES = 20  # themes on one case or one report
MAX_WISHES = 5
RATING_MIN, RATING_MAX = 1, 5


# --- field types -------------------------------------------------------------------------------

LongText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_DESCRIPTION)]
"""Free text up to 20,000 characters, surrounding space removed, never empty."""

Comment = Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_COMMENT)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_REASON)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_NAME)]
Password = Annotated[str, Field(min_length=MIN_PASSWORD, max_length=MAX_PASSWORD)]
Slug = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Rating = Annotated[int, Field(strict=True, ge=RATING_MIN, le=RATING_MAX)]

# Every time leaves the API as RFC 3339 in UTC ("2026-01-31T22:15:00Z").
Timestamp = Annotated[datetime, PlainSerializer(clock.rfc3339, return_type=str)]


class StrictModel(BaseModel):
    """Input models refuse unknown fields: a typo is a 422, not silently ignored."""

    model_config = ConfigDict(extra="forbid")
