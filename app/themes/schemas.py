"""Request and response shapes of the theme list."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from app.schemas import MAX_REASON, Name, StrictModel
from app.themes.models import Theme

NewSlug = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,63}$")]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_REASON)]
# A word or short phrase that suggests the theme ("racist", "called me a *"): "*" is any one word.
Word = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=2, max_length=60)]
Words = Annotated[list[Word], Field(max_length=200)]


class ThemeRead(BaseModel):
    slug: str
    name: str
    description: str
    active: bool
    # The administrator's words that feed the theme suggester (beside the maintained list).
    words: list[str]

    @classmethod
    def of(cls, theme: Theme) -> ThemeRead:
        return cls(slug=theme.slug, name=theme.name, description=theme.description, active=theme.active,
                   words=list(theme.words or []))


class ThemeCreate(StrictModel):
    slug: NewSlug
    name: Name
    description: Description = ""
    words: Words = []


class ThemeUpdate(StrictModel):
    name: Name | None = None
    description: Description | None = None
    active: bool | None = None
    words: Words | None = None
