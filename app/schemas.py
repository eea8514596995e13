"""Shared building blocks of every request and response shape, each limit written once.

The API and the web forms validate through the same schemas: a page never accepts what the API refuses.
"""

from __future__ import annotations

import math
import re
import typing
import uuid
from datetime import date, datetime
from functools import cache
from typing import Annotated, Any

import annotated_types
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    ValidationInfo,
    field_validator,
)
from pydantic.json_schema import WithJsonSchema

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
MIN_YEAR, MAX_YEAR = 1900, 2999  # any date or month a request names (the date arithmetic stays in range)
MAX_INT = 2**31 - 1  # the largest whole number a request may carry (a database INTEGER holds it)
MAX_PAGE = 100_000  # page numbers of every list


# --- what any text may contain ------------------------------------------------------------------
# Control characters have no place in what people type, and NUL is refused by PostgreSQL; a lone
# surrogate is not text at all (it cannot be encoded to UTF-8). Free text keeps tab and line breaks.

_CONTROL_IN_LINE = re.compile("[\x00-\x1f\x7f-\x9f]")
_CONTROL_IN_FREE_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SURROGATE = re.compile("[\ud800-\udfff]")


class _FreeText:
    """Marks a text type whose values may hold tab and line breaks (see `check_text`)."""

    def __repr__(self) -> str:
        return "FREE_TEXT"


FREE_TEXT = _FreeText()


def text_problem(value: str, *, free_text: bool) -> str | None:
    """Why `value` cannot be stored as text, or None if it can."""
    if _SURROGATE.search(value):
        return "must be valid Unicode text (it holds a lone surrogate)"
    if (_CONTROL_IN_FREE_TEXT if free_text else _CONTROL_IN_LINE).search(value):
        return ("must not contain control characters other than tab and line breaks" if free_text
                else "must not contain control characters")
    return None


def check_text(value: str, *, free_text: bool = False) -> str:
    problem = text_problem(value, free_text=free_text)
    if problem is not None:
        raise ValueError(problem)
    return value


def _check_date(value: date) -> date:
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ValueError(f"must be between the years {MIN_YEAR} and {MAX_YEAR}")
    return value


def _day_text(value: Any) -> Any:
    # Only `YYYY-MM-DD`: pydantic would otherwise read a number as a Unix time.
    if not isinstance(value, (str, date)) or (isinstance(value, str) and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value)):
        raise ValueError("must be a day written YYYY-MM-DD, e.g. 2024-09-30")
    return value


def _check_month(value: str) -> str:
    check_month(value)
    return value


def check_month(value: str) -> None:
    """A month written YYYY-MM, between MIN_YEAR-01 and MAX_YEAR-12 (ValueError otherwise)."""
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", value):
        raise ValueError("must be a month written YYYY-MM, e.g. 2024-09")
    if not MIN_YEAR <= int(value[:4]) <= MAX_YEAR:
        raise ValueError(f"must be a month between {MIN_YEAR}-01 and {MAX_YEAR}-12")


# --- field types -------------------------------------------------------------------------------

LongText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_DESCRIPTION), FREE_TEXT]
"""Free text up to 20,000 characters, surrounding space removed, never empty."""

Comment = Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_COMMENT), FREE_TEXT]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_REASON), FREE_TEXT]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_NAME)]
Password = Annotated[str, Field(min_length=MIN_PASSWORD, max_length=MAX_PASSWORD)]
Slug = Annotated[str, StringConstraints(min_length=1, max_length=64), AfterValidator(check_text)]
Rating = Annotated[int, Field(strict=True, ge=RATING_MIN, le=RATING_MAX)]

# For query and path parameters (request bodies get the same checks from `StrictModel`).
Month = Annotated[str, AfterValidator(_check_month),
                  WithJsonSchema({"type": "string", "pattern": "^[0-9]{4}-(0[1-9]|1[0-2])$", "examples": ["2024-09"]})]
"""A month, `YYYY-MM`, between 1900-01 and 2999-12."""
Day = Annotated[date, BeforeValidator(_day_text), AfterValidator(_check_date)]
"""A day, `YYYY-MM-DD`, between the years 1900 and 2999."""
Moment = Annotated[AwareDatetime, AfterValidator(_check_date)]
"""A time with its zone (RFC 3339), between the years 1900 and 2999."""
Page = Annotated[int, annotated_types.Interval(ge=1, le=MAX_PAGE)]
"""A page number, from 1."""

# Every time leaves the API as RFC 3339 in UTC ("2026-01-31T22:15:00Z"), and says so in the
# OpenAPI document (`format: date-time`), so a generated client reads it as a time, not a string.
Timestamp = Annotated[datetime, PlainSerializer(clock.rfc3339, return_type=str),
                      WithJsonSchema({"type": "string", "format": "date-time", "examples": ["2026-01-31T22:15:00Z"]})]


class StrictModel(BaseModel):
    """The base of every input model: what no request may carry, checked for every field.

    Unknown fields, control characters (outside `FREE_TEXT`), lone surrogates, out-of-range dates,
    integers and non-finite numbers are 422s, so no client input makes the database fail with a 500.
    """

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _storable(cls, value: Any, info: ValidationInfo) -> Any:
        problem = _first_problem(value, free_text=info.field_name in _free_text_fields(cls))
        if problem is not None:
            raise ValueError(problem)
        return value


def _first_problem(value: Any, *, free_text: bool) -> str | None:
    if isinstance(value, str):
        return text_problem(value, free_text=free_text)
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return None if -MAX_INT <= value <= MAX_INT else f"must be between {-MAX_INT} and {MAX_INT}"
    if isinstance(value, float):
        return None if math.isfinite(value) else "must be a finite number"
    if isinstance(value, date):  # datetimes too
        return None if MIN_YEAR <= value.year <= MAX_YEAR else f"must be between the years {MIN_YEAR} and {MAX_YEAR}"
    if isinstance(value, dict):
        items: list[Any] = [*value.keys(), *value.values()]
    elif isinstance(value, (list, tuple, set, frozenset)):
        items = list(value)
    else:
        return None  # nested models check their own fields
    for item in items:
        problem = _first_problem(item, free_text=free_text)
        if problem is not None:
            return problem
    return None


@cache
def _free_text_fields(model: type[BaseModel]) -> frozenset[str]:
    return frozenset(name for name, field in model.model_fields.items()
                     if any(m is FREE_TEXT for m in field.metadata) or _allows_line_breaks(field.annotation))


def _allows_line_breaks(annotation: Any) -> bool:
    """Whether a type is free text (carries FREE_TEXT), through Optional and list."""
    if typing.get_origin(annotation) is Annotated:
        if any(m is FREE_TEXT for m in annotation.__metadata__):
            return True
        return _allows_line_breaks(typing.get_args(annotation)[0])
    return any(_allows_line_breaks(arg) for arg in typing.get_args(annotation))


# --- files -------------------------------------------------------------------------------------

MAX_FILES_PER_MESSAGE = 5  # files shown on one message or note (app.attachments)

AttachmentIds = Annotated[list[uuid.UUID], Field(max_length=MAX_FILES_PER_MESSAGE)]
"""Files already uploaded to the case (`POST .../attachments`) to show on a message or note."""


class FileRef(BaseModel):
    """A file shown on a message or a note (`app.attachments`): enough to list and fetch it."""

    id: uuid.UUID
    filename: str = Field(description="The name it is stored under (empty once withdrawn).")
    content_type: str
    size: int = Field(description="Bytes, as stored (after cleaning).")
    withdrawn: bool = Field(default=False, description="Withdrawn by its sender: the content is gone.")


# The two fields every statistics answer carries (contract section 7), written once.
PublishedPeriods = Annotated[list[str], Field(
    description="The grid periods whose published numbers make up the range (2023-01, 2023-Q1, 2023, "
    "2023/24, or 2023-01..2024-09 since launch); when the range is not a union of them, the largest "
    "published ones inside it, or else the nearest published period around it. Numbers that are not "
    "sums of published grid cells are null.")]
AsAt = Annotated[date | None, Field(description="The date the figures are as at (the contract's name; a date).")]
