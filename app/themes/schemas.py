"""Request and response shapes of the theme list."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, StringConstraints

from app.schemas import MAX_REASON, Name, StrictModel
from app.themes.models import Theme

NewSlug = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,63}$")]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_REASON)]


class ThemeRead(BaseModel):
    slug: str
    name: str
    description: str
    active: bool

    @classmethod
    def of(cls, theme: Theme) -> ThemeRead:
        return cls(slug=theme.slug, name=theme.name, description=theme.description, active=theme.active)


class ThemeCreate(StrictModel):
    slug: NewSlug
    name: Name
    description: Description = ""


class ThemeUpdate(StrictModel):
    name: Name | None = None
    description: Description | None = None
    active: bool | None = None
