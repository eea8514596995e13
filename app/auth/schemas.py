"""Request and response shapes of staff accounts and sign-in."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, EmailStr, Field

from app.auth.models import User
from app.enums import Role
from app.schemas import MAX_EMAIL, MAX_PASSWORD, Name, Password, StrictModel, Timestamp


class LoginIn(StrictModel):
    email: Annotated[str, Field(min_length=1, max_length=MAX_EMAIL)]
    password: Annotated[str, Field(min_length=1, max_length=MAX_PASSWORD)]


class UserRead(BaseModel):
    id: uuid.UUID
    email: str
    name: str
    roles: list[Role]
    active: bool
    created_at: Timestamp

    @classmethod
    def of(cls, user: User) -> UserRead:
        return cls(
            id=user.id, email=user.email, name=user.name, roles=user.roles, active=user.active,
            created_at=user.created_at,
        )


class LoginOut(BaseModel):
    token: str
    expires_at: Timestamp
    user: UserRead

    @classmethod
    def of(cls, user: User, token: str, expires_at: datetime) -> LoginOut:
        return cls(token=token, expires_at=expires_at, user=UserRead.of(user))


class UserCreate(StrictModel):
    email: EmailStr
    name: Name
    roles: Annotated[list[Role], Field(min_length=1)]
    password: Password


class UserUpdate(StrictModel):
    roles: Annotated[list[Role], Field(min_length=1)] | None = None
    active: bool | None = None
    name: Name | None = None
