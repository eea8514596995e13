"""Request and response shapes of the locations list (contract section 6)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints, field_validator

from app.enums import LocationKind
from app.locations.models import Location
from app.schemas import Name, StrictModel

# What a reporter or a triage sends instead of a slug when they would rather not say where.
PREFER_NOT_TO_SAY = "prefer_not_to_say"

NewSlug = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,63}$")]
# The largest headcount a location may be given (a whole national service fits).
MAX_HEADCOUNT = 10_000_000
Headcount = Annotated[int, Field(strict=True, ge=0, le=MAX_HEADCOUNT)]


class LocationRead(BaseModel):
    slug: str
    name: str
    kind: LocationKind
    headcount: int | None = Field(description="Staff at this location, if known (used to suppress small counts).")
    active: bool

    @classmethod
    def of(cls, location: Location) -> LocationRead:
        return cls(slug=location.slug, name=location.name, kind=location.kind, headcount=location.headcount,
                   active=location.active)


class LocationCreate(StrictModel):
    slug: NewSlug = Field(description="2 to 64 lower-case letters, digits or underscores, starting with a letter.")
    name: Name
    kind: LocationKind
    headcount: Headcount | None = None

    @field_validator("slug")
    @classmethod
    def _not_the_refusal(cls, slug: str) -> str:
        if slug == PREFER_NOT_TO_SAY:
            raise ValueError(f"'{PREFER_NOT_TO_SAY}' is kept for reporters who would rather not say")
        return slug


class LocationUpdate(StrictModel):
    """Only the fields given change; `headcount: null` forgets the headcount."""

    name: Name | None = None
    kind: LocationKind | None = None
    headcount: Headcount | None = None
    active: bool | None = None
