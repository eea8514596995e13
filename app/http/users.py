"""Who is asking and what they may do: one dependency per capability of the permission table.

Pages use the very same ones as the API, so a page is never more permissive than its API twin.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Depends, Request

from app.auth import service as auth
from app.auth.models import User
from app.auth.permissions import Capability, may
from app.enums import Role
from app.errors import Forbidden, Unauthorized, raises
from app.http import cookies
from app.http.state import CurrentSettings, sessions_of, settings_of
from app.http.transactions import DbSession

STAFF_COOKIE = "ss_staff"


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def is_page(request: Request) -> bool:
    """A browser page, not the JSON API (which lives under /api/ and takes bearer tokens only)."""
    return not request.url.path.startswith("/api/")


def staff_token(request: Request) -> str | None:
    """The staff token: the bearer header; pages also take the sign-in cookie, which the API never reads."""
    token = bearer_token(request)
    if token is None and is_page(request):
        token = cookies.read(request, STAFF_COOKIE)
    return token


def client_host(request: Request) -> str | None:
    """The client's address (the forwarded one from trusted proxies), for throttling only: never stored."""
    return request.client.host if request.client else None


@dataclass(frozen=True)
class Viewer:
    """Who is signed in, as plain values still readable after the rollback that expires loaded rows."""

    id: uuid.UUID
    email: str
    name: str
    roles: tuple[Role, ...]

    @classmethod
    def of(cls, user: User) -> Viewer:
        return cls(user.id, user.email, user.name, tuple(user.roles))

    def may(self, capability: Capability) -> bool:
        return may(self.roles, capability)


class PasswordChangeRequired(Forbidden):
    title, slug = "Password change needed", "password-change-required"


class TotpSetupRequired(Forbidden):
    title, slug = "Two-factor set-up needed", "totp-setup-required"


@raises(Unauthorized, security="staff")
def signed_in_user(request: Request, session: DbSession) -> User:
    """The user behind the staff token, whatever they must do first (401 once idle)."""
    token = staff_token(request)
    writes = request.method not in ("GET", "HEAD", "OPTIONS")
    idle = timedelta(minutes=settings_of(request).staff_idle_minutes)
    makers = sessions_of(request)
    user = auth.user_for_token(session, token, touch=writes, idle=idle, touch_apart=makers) if token else None
    if user is None:
        raise Unauthorized()
    request.state.viewer = Viewer.of(user)
    return user


SignedInUser = Annotated[User, Depends(signed_in_user)]
"""Any signed-in user, even one who must first change their password or set up two-factor
sign-in: only for what such a user may do (read `/auth/me`, sign out)."""


@raises(Unauthorized, Forbidden, security="staff")
def current_user(request: Request, session: DbSession, settings: CurrentSettings) -> User:
    """The signed-in user, fully: 403 while they must change their password or set up two-factor."""
    user = signed_in_user(request, session)
    if user.password_change_required:
        raise PasswordChangeRequired("Change your password first: your account has a one-time password.")
    if auth.totp_setup_required(user, settings):
        raise TotpSetupRequired("Set up two-factor sign-in first: your role requires it.")
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def _may_change_password(user: SignedInUser, settings: CurrentSettings) -> User:
    # Password first: a user with a one-time password changes it before anything else.
    if not user.password_change_required and auth.totp_setup_required(user, settings):
        raise TotpSetupRequired("Set up two-factor sign-in first: your role requires it.")
    return user


def _may_set_up_totp(user: SignedInUser) -> User:
    if user.password_change_required:
        raise PasswordChangeRequired("Change your password first: your account has a one-time password.")
    return user


PasswordOwner = Annotated[User, Depends(_may_change_password)]
"""A signed-in user who may change their password now (also one who must)."""

TotpOwner = Annotated[User, Depends(_may_set_up_totp)]
"""A signed-in user who may set up two-factor sign-in now (also one who must)."""


def require(capability: Capability) -> Any:
    """A route dependency: the current user, if one of their roles has `capability` (else 403)."""

    @raises(Forbidden)
    def check(user: CurrentUser) -> User:
        if not user.may(capability):
            raise Forbidden("Your role does not allow this.")
        return user

    return check


Admin = Annotated[User, Depends(require(Capability.ADMINISTER))]
Safeguarding = Annotated[User, Depends(require(Capability.READ_EVERY_CASE))]
Confirmer = Annotated[User, Depends(require(Capability.CONFIRM_APPROVALS))]
"""The second person who confirms a grant or reset of a case-reading account."""
CaseWorker = Annotated[User, Depends(require(Capability.WORK_ON_CASES))]
SecondPerson = Annotated[User, Depends(require(Capability.SEE_APPROVALS))]
"""Who sees, and may cancel, what waits for a second person (grants and resets)."""
StatsReader = Annotated[User, Depends(require(Capability.READ_STATISTICS))]
SupportReader = Annotated[User, Depends(require(Capability.READ_SUPPORT_DIRECTORY))]
