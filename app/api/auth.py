"""Staff sign-in, the signed-in user's own security, and accounts (contract sections 4 and 6)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Query, Request, Response

from app.api.dependencies import (
    Admin,
    CurrentSettings,
    CurrentUser,
    DbSession,
    Hasher,
    Keys,
    LoginThrottle,
    PasswordOwner,
    Safeguarding,
    SignedInUser,
    SignInFlow,
    SlowHashLimiter,
    TotpOwner,
    keep_device,
    staff_token,
)
from app.api.paging import Paged
from app.api.transactions import CommitInThreadRoute
from app.auth import service
from app.auth.schemas import (
    CodeIn,
    LoginIn,
    LoginOut,
    MeOut,
    PasswordChangeIn,
    PasswordResetOut,
    RecoveryCodesOut,
    SessionOut,
    TotpResetOut,
    TotpSetupOut,
    UserCreate,
    UserRead,
    UserUpdate,
)
from app.concurrency import run_slow
from app.enums import Role
from app.errors import Forbidden

router = APIRouter(prefix="/api/v1", tags=["staff"], route_class=CommitInThreadRoute)


@router.post("/auth/login", response_model=LoginOut)
async def login(body: LoginIn, request: Request, response: Response, sign_in: SignInFlow,
                settings: CurrentSettings) -> LoginOut:
    """Exchange e-mail, password and (with two-factor sign-in) a code for a staff bearer token.

    `totp` is the current 6-digit code or an unused recovery code; anything else there is 422.
    A wrong password or unknown e-mail is the same 401. A right password with a missing or wrong
    code is 401 with a problem `type` ending in `/totp-required`; a code works once.

    Failures are throttled with a growing `Retry-After` (429): per client, and per account for
    clients that have not signed in to it before. Every success sets a long-lived, HttpOnly
    device cookie for the account: a client that sends it back is slowed by its own failures
    only, so nobody can lock the owner out by failing elsewhere.

    While `password_change_required` or `totp_setup_required` is true, the token may only do
    what clears it (change the password first, then set up two-factor sign-in), read
    `/auth/me` and log out: anything else is 403.
    """
    signed_in = await sign_in(email=body.email, password=body.password, totp=body.totp)
    keep_device(request, response, signed_in)
    return LoginOut.of(signed_in.user, signed_in.token, signed_in.expires_at, settings)


@router.post("/auth/logout", status_code=204)
def logout(request: Request, user: SignedInUser, session: DbSession) -> Response:
    """Revoke the token used for this request."""
    service.end_session(session, user=user, token=staff_token(request) or "")
    return Response(status_code=204)


@router.get("/auth/me", response_model=MeOut)
def me(user: SignedInUser, settings: CurrentSettings) -> MeOut:
    """The signed-in staff user, and what they must do before anything else (if anything)."""
    return MeOut.of_user(user, settings)


@router.post("/auth/password", status_code=204)
async def change_password(
    body: PasswordChangeIn, request: Request, user: PasswordOwner, session: DbSession, settings: CurrentSettings,
    keys: Keys, passwords: Hasher, throttle: LoginThrottle, limiter: SlowHashLimiter,
) -> Response:
    """Change your own password. Every other session of yours ends; this one goes on.

    403 if `current_password` is wrong (counted like a failed sign-in, so a stolen session
    cannot guess it); 422 if the new one is shorter than 12 characters, one of the common
    passwords shipped with Safe Share, or the same as the current one.
    """
    await run_slow(
        limiter, service.change_password, session, passwords, throttle, keys, settings, user=user,
        current_password=body.current_password, new_password=body.new_password, keep_token=staff_token(request),
    )
    return Response(status_code=204)


@router.post("/auth/totp/setup", response_model=TotpSetupOut)
def start_totp_setup(user: TotpOwner, session: DbSession, keys: Keys) -> TotpSetupOut:
    """Start setting up two-factor sign-in: a new secret for your authenticator app, not active
    until confirmed. 409 if two-factor sign-in is already on (remove it first)."""
    setup = service.start_totp_setup(session, keys, user=user)
    return TotpSetupOut(secret=setup.secret, otpauth_uri=setup.otpauth_uri)


@router.post("/auth/totp/confirm", response_model=RecoveryCodesOut)
def confirm_totp(body: CodeIn, user: TotpOwner, session: DbSession, keys: Keys) -> RecoveryCodesOut:
    """Turn two-factor sign-in on with the code your app shows now. Returns ten single-use
    recovery codes, shown this once. 422 for a wrong code; 409 if no set-up was started."""
    return RecoveryCodesOut(recovery_codes=service.confirm_totp(session, keys, user=user, code=body.code))


@router.delete("/auth/totp", status_code=204)
def disable_totp(body: CodeIn, user: CurrentUser, session: DbSession, keys: Keys, settings: CurrentSettings,
                 throttle: LoginThrottle) -> Response:
    """Turn your two-factor sign-in off, with a current code or a recovery code.

    409 if your roles require two-factor sign-in (`SAFESHARE_REQUIRE_2FA_ROLES`) or it is off;
    403 for a wrong code (counted like a failed sign-in).
    """
    service.disable_totp(session, throttle, keys, settings, user=user, code=body.code)
    return Response(status_code=204)


@router.get("/auth/sessions", response_model=list[SessionOut])
def list_sessions(request: Request, user: CurrentUser, session: DbSession, paging: Paged) -> list[SessionOut]:
    """Your sessions that still work, newest first; `current` marks the one making this request."""
    token = staff_token(request)
    current = service.token_hash(token) if token else None
    return [SessionOut.of(row, current_hash=current) for row in paging.window(service.live_sessions(session, user=user))]


@router.delete("/auth/sessions/{session_id}", status_code=204,
               responses={404: {"description": "No such session of yours, or it has ended."}})
def end_session(session_id: uuid.UUID, user: CurrentUser, session: DbSession) -> Response:
    """End one of your sessions (404 if it is not yours or has ended)."""
    service.end_session_by_id(session, user=user, session_id=session_id)
    return Response(status_code=204)


@router.get("/users", response_model=list[UserRead], responses={403: {}})
def list_users(
    user: CurrentUser, session: DbSession, paging: Paged,
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
    return [UserRead.of(u) for u in paging.window(service.list_users(session, role=role))]


@router.post("/users", response_model=UserRead, status_code=201,
             responses={409: {"description": "A user with this e-mail address already exists."}})
async def create_user(
    body: UserCreate, admin: Admin, session: DbSession, passwords: Hasher, limiter: SlowHashLimiter
) -> UserRead:
    """Create a staff account (admin). The password must be at least 12 characters and not a
    common one. A grant of `safeguarding` or `hr` is audited and e-mailed to the safeguarding users."""
    user = await run_slow(
        limiter, service.create_user, session, passwords, email=str(body.email), name=body.name, roles=body.roles,
        password=body.password, by=service.actor(admin),
    )
    return UserRead.of(user)


@router.patch("/users/{user_id}", response_model=UserRead,
              responses={404: {}, 409: {"description": "This would leave no active administrator."}})
def update_user(user_id: uuid.UUID, body: UserUpdate, admin: Admin, session: DbSession) -> UserRead:
    """Change a user's roles, name or whether the account is active (admin). Deactivating signs them out.

    Nobody changes their own roles or activation (403). Removing or demoting the last active
    administrator is 409. A grant of `safeguarding` or `hr` is audited and e-mailed to the
    safeguarding users.
    """
    user = service.update_user(
        session, user_id=user_id, roles=body.roles, active=body.active, name=body.name, by=service.actor(admin)
    )
    return UserRead.of(user)


@router.post("/users/{user_id}/password-reset", response_model=PasswordResetOut, responses={404: {}})
async def reset_password(
    user_id: uuid.UUID, admin: Admin, session: DbSession, settings: CurrentSettings, passwords: Hasher,
    limiter: SlowHashLimiter,
) -> PasswordResetOut:
    """Give someone a one-time password (admin), to be changed at their next sign-in; their
    two-factor sign-in stays on and every session of theirs ends. 403 for your own account.
    Audited, and e-mailed to the owner (and, for a case-reading account, the safeguarding users)."""
    one_time, expires = await run_slow(
        limiter, service.reset_password, session, passwords, settings, user_id=user_id, by=admin,
    )
    return PasswordResetOut(one_time_password=one_time, expires_at=expires)


@router.post("/users/{user_id}/totp-reset", response_model=TotpResetOut,
             responses={404: {}, 409: {"description": "The account has no two-factor sign-in."}})
def reset_totp(user_id: uuid.UUID, admin: Admin, session: DbSession) -> TotpResetOut:
    """Reset someone's two-factor sign-in (admin); they set it up again at their next sign-in.

    For an account that holds `safeguarding` or `hr`, the reset waits (`awaiting_confirmation`)
    until a safeguarding user other than the requester confirms it: no administrator can take
    over a case-reading account alone. Its sessions end at once either way. 403 for your own
    account; 409 if it has no two-factor sign-in. Audited and e-mailed.
    """
    row = service.request_totp_reset(session, user_id=user_id, by=service.actor(admin), by_user=admin)
    return TotpResetOut.of(row)


@router.post("/users/{user_id}/totp-reset/confirm", response_model=TotpResetOut,
             responses={404: {}, 409: {"description": "No reset is waiting."}})
def confirm_totp_reset(user_id: uuid.UUID, user: Safeguarding, session: DbSession) -> TotpResetOut:
    """Confirm a waiting two-factor reset (safeguarding): it takes effect now. 403 for the person
    who asked for it and for the account's owner; 409 if none is waiting."""
    return TotpResetOut.of(service.confirm_totp_reset(session, user_id=user_id, by=user))
