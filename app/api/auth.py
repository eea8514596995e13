"""Staff sign-in and accounts (contract section 4)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Query, Request, Response

from app.api.dependencies import (
    Admin,
    CurrentUser,
    DbSession,
    Hasher,
    SignInFlow,
    SlowHashLimiter,
    bearer_token,
)
from app.api.transactions import CommitInThreadRoute
from app.auth import service
from app.auth.schemas import LoginIn, LoginOut, UserCreate, UserRead, UserUpdate
from app.concurrency import run_slow
from app.enums import Role
from app.errors import Forbidden

router = APIRouter(prefix="/api/v1", tags=["staff"], route_class=CommitInThreadRoute)


@router.post("/auth/login", response_model=LoginOut)
async def login(body: LoginIn, sign_in: SignInFlow) -> LoginOut:
    """Exchange e-mail and password for a staff bearer token.

    Any failure is the same 401, whether or not the e-mail exists. After repeated failures for
    one e-mail address or from one client, further attempts get 429 with Retry-After.
    """
    signed_in = await sign_in(email=body.email, password=body.password)
    return LoginOut.of(signed_in.user, signed_in.token, signed_in.expires_at)


@router.post("/auth/logout", status_code=204)
def logout(request: Request, user: CurrentUser, session: DbSession) -> Response:
    """Revoke the token used for this request."""
    service.end_session(session, user=user, token=bearer_token(request) or "")
    return Response(status_code=204)


@router.get("/auth/me", response_model=UserRead)
def me(user: CurrentUser) -> UserRead:
    """The signed-in staff user."""
    return UserRead.of(user)


@router.get("/users", response_model=list[UserRead], responses={403: {}})
def list_users(
    user: CurrentUser, session: DbSession,
    role: Role | None = Query(default=None, description="Only the accounts that hold this role."),
) -> list[UserRead]:
    """Staff accounts. An admin sees all of them (or those with `?role=`). A safeguarding user sees
    the HR contacts, to choose one to assign: their list is `?role=hr` whether or not they say so,
    and asking for another role is 403. Any other role: 403."""
    if not user.has(Role.ADMIN):
        if not user.has(Role.SAFEGUARDING):
            raise Forbidden("Your role does not allow this.")
        if role not in (None, Role.HR):
            raise Forbidden("Safeguarding users may list HR contacts only (role=hr, the default for them).")
        role = Role.HR
    return [UserRead.of(u) for u in service.list_users(session, role=role)]


@router.post("/users", response_model=UserRead, status_code=201)
async def create_user(
    body: UserCreate, admin: Admin, session: DbSession, passwords: Hasher, limiter: SlowHashLimiter
) -> UserRead:
    """Create a staff account (admin)."""
    user = await run_slow(
        limiter, service.create_user, session, passwords, email=str(body.email), name=body.name, roles=body.roles,
        password=body.password, by=service.actor(admin),
    )
    return UserRead.of(user)


@router.patch("/users/{user_id}", response_model=UserRead)
def update_user(user_id: uuid.UUID, body: UserUpdate, admin: Admin, session: DbSession) -> UserRead:
    """Change a user's roles, name or whether the account is active (admin). Deactivating signs them out."""
    user = service.update_user(
        session, user_id=user_id, roles=body.roles, active=body.active, name=body.name, by=service.actor(admin)
    )
    return UserRead.of(user)
