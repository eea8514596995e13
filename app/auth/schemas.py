from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    field_serializer,
)

from app import clock
from app.enums import Role

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Password = Annotated[str, Field(min_length=12, max_length=1024)]


class StrictModel(BaseModel):
    """Input models refuse unknown fields: a typo is a 422, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


class LoginIn(StrictModel):
    email: Annotated[str, Field(min_length=1, max_length=320)]
    password: Annotated[str, Field(min_length=1, max_length=1024)]


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    name: str
    roles: list[Role]
    active: bool
    created_at: datetime

    @field_serializer("created_at")
    def _ts(self, v: datetime) -> str | None:
        return clock.rfc3339(v)


class LoginOut(BaseModel):
    token: str
    expires_at: str
    user: UserRead


class UserCreate(StrictModel):
    email: EmailStr
    name: Name
    roles: Annotated[list[Role], Field(min_length=1)]
    password: Password


class UserUpdate(StrictModel):
    roles: Annotated[list[Role], Field(min_length=1)] | None = None
    active: bool | None = None
    name: Name | None = None
