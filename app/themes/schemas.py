from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

from app.auth.schemas import StrictModel

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,63}$")]
Text200 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Text2000 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]


class ThemeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    slug: str
    name: str
    description: str
    active: bool


class ThemeCreate(StrictModel):
    slug: Slug
    name: Text200
    description: Text2000 = ""


class ThemeUpdate(StrictModel):
    name: Text200 | None = None
    description: Text2000 | None = None
    active: bool | None = None
