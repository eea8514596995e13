"""Request-scoped dependencies shared by every domain: session, settings, key ring, current user."""

from __future__ import annotations

from typing import Annotated, Callable

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from app.auth import service as auth
from app.auth.models import User
from app.config import Settings
from app.crypto.keyring import KeyRing
from app.db import get_session
from app.enums import Role
from app.errors import AppError, Forbidden, Unauthorized

DbSession = Annotated[Session, Depends(get_session, scope="function")]


# Plain attribute reads are `async def`: a sync dependency costs a trip through the thread pool.
async def _settings(request: Request) -> Settings:
    return request.app.state.settings


async def _keyring(request: Request) -> KeyRing:
    return request.app.state.keyring


CurrentSettings = Annotated[Settings, Depends(_settings)]
Keys = Annotated[KeyRing, Depends(_keyring)]


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def current_user(request: Request, session: DbSession) -> User:
    token = bearer_token(request)
    if token is None:
        raise Unauthorized()
    user = auth.user_for_token(session, token)
    if user is None:
        raise Unauthorized()
    request.state.user = user
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def require_role(*roles: Role) -> Callable[[User], User]:
    def check(user: CurrentUser) -> User:
        if not user.has(*roles):
            raise Forbidden("Your role does not allow this.")
        return user

    return check


Admin = Annotated[User, Depends(require_role(Role.ADMIN))]
Safeguarding = Annotated[User, Depends(require_role(Role.SAFEGUARDING))]
CaseWorker = Annotated[User, Depends(require_role(Role.SAFEGUARDING, Role.HR))]
StatsReader = Annotated[User, Depends(require_role(Role.LEADERSHIP, Role.SAFEGUARDING, Role.ADMIN))]


# The transport ceiling of the intake routes (a reporter's concern, a staff-recorded contact),
# above the app's 64 KiB: a 20,000-character description can be 120 KB of JSON once escaped.
# `intake_body_limit` then applies SAFESHARE_MAX_REPORT_BODY_BYTES, which a module-level route
# cannot read because each app has its own settings.
INTAKE_CEILING = 1024 * 1024


class ContentTooLarge(AppError):
    status, title, slug = 413, "Content Too Large", "content-too-large"


async def intake_body_limit(request: Request, settings: CurrentSettings) -> None:
    """Apply `SAFESHARE_MAX_REPORT_BODY_BYTES` to an intake route (413 problem above it)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > settings.max_report_body_bytes:
        raise ContentTooLarge("The request body is too large.")
    if len(await request.body()) > settings.max_report_body_bytes:
        raise ContentTooLarge("The request body is too large.")
