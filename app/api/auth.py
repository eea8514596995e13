"""Staff sign-in, the signed-in user's own security, and accounts (contract sections 4 and 6)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from app.api.paging import Paged
from app.auth import keys as person_keys
from app.auth import service
from app.auth.permissions import Capability
from app.auth.schemas import (
    CodeIn,
    KeyGrantIn,
    KeyGrantOut,
    LoginIn,
    LoginOut,
    MeOut,
    PasswordChangeIn,
    PasswordRecoverIn,
    PasswordResetOut,
    PasswordResetWaiting,
    ReauthIn,
    RecoveryCodesOut,
    RecoveryKeyOut,
    RestoreIn,
    RestoreOut,
    RoleGrantPending,
    SessionOut,
    TotpRemoveIn,
    TotpResetOut,
    TotpSetupOut,
    UserCreate,
    UserRead,
    UserUpdate,
    WaitingOut,
)
from app.cases import keyholders
from app.concurrency import run_slow
from app.enums import Role
from app.errors import Forbidden
from app.http import signin
from app.http.recovery import PasswordRecovery
from app.http.signin import SignInFlow, keep_device
from app.http.state import CurrentSettings, Hasher, Keys, LoginThrottle, SlowHashLimiter
from app.http.transactions import CommitInThreadRoute, DbSession
from app.http.users import (
    Admin,
    Confirmer,
    CurrentUser,
    PasswordOwner,
    Safeguarding,
    SecondPerson,
    SignedInUser,
    TotpOwner,
    staff_token,
)

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
    return LoginOut.of(signed_in.user, signed_in.token, signed_in.expires_at, settings, signed_in.recovery_key)


@router.post("/auth/logout", status_code=204)
def logout(request: Request, user: SignedInUser, session: DbSession) -> Response:
    """Revoke the token used for this request."""
    service.end_session(session, user=user, token=staff_token(request) or "")
    return Response(status_code=204)


@router.get("/auth/me", response_model=MeOut)
def me(user: SignedInUser, settings: CurrentSettings, session: DbSession) -> MeOut:
    """The signed-in staff user, and what they must do before anything else (if anything)."""
    return MeOut.of_user(user, settings, service.pending_roles(session, user_id=user.id))


REAUTH_ANSWERS: dict[int | str, dict[str, Any]] = {
    403: {"description": "`current_password` is missing or wrong (`wrong-password`), or the account must first do "
                         "something else."},
    429: {"description": "Too many wrong passwords or codes: wait `Retry-After` seconds."},
}


@router.post("/auth/password", status_code=204, responses=REAUTH_ANSWERS)
async def change_password(
    body: PasswordChangeIn, request: Request, user: PasswordOwner, session: DbSession, settings: CurrentSettings,
    keys: Keys, passwords: Hasher, throttle: LoginThrottle, limiter: SlowHashLimiter,
) -> Response:
    """Change your own password. Every other session of yours ends and every device cookie of
    your account is revoked; this session goes on.

    `current_password` may be left out within 5 minutes of signing in with your password. 403 if
    it is wrong or missing (counted like a failed sign-in, so a stolen session cannot guess it);
    422 if the new one is shorter than 12 characters, one of the common passwords shipped with
    Safe Share, or the same as the current one.
    """
    await run_slow(
        limiter, signin.change_password, signin.Door(session, passwords, throttle, keys, settings), user=user,
        current_password=body.current_password, new_password=body.new_password, keep_token=staff_token(request),
    )
    return Response(status_code=204)


@router.post("/auth/password/recover", response_model=RecoveryKeyOut, responses={
    401: {"description": "The account has two-factor sign-in and `totp` is missing, not right or used already "
                         "(`totp-required`)."},
    403: {"description": "The e-mail address and recovery key do not go together (`recovery-refused`: the same "
                         "answer for an unknown address), or the account has no two-factor sign-in "
                         "(`recovery-needs-two-factor`)."},
    429: {"description": "Too many failed attempts: wait `Retry-After` seconds."}})
async def recover_password(body: PasswordRecoverIn, recover: PasswordRecovery) -> RecoveryKeyOut:
    """Forgot your password: set a new one with your recovery key and your second factor, with no
    administrator involved (issue 27). No token needed.

    The recovery key must open your account's private key, and `totp` must be a current code or an
    unused recovery code: an account without two-factor sign-in, or without a key pair, asks an
    administrator instead (403). Your key pair and every case key you hold stay yours; your
    private key is sealed under the new password, your recovery key is replaced (the answer
    carries the new one, shown this once: the one you sent opens nothing any more), and every
    session and device cookie of the account ends. The new password follows the rules of a
    password change (422). An unknown address and a wrong recovery key are the same 403, counted
    like a failed sign-in (429 with `Retry-After` after too many). Audited
    (`auth.password.recovered`) and e-mailed to you (and, for a case-reading account, to the
    safeguarding users). Then sign in with the new password.
    """
    return RecoveryKeyOut(recovery_key=await recover(email=body.email, recovery_key=body.recovery_key, totp=body.totp,
                                                     new_password=body.new_password))


@router.post("/auth/recovery-key", response_model=RecoveryKeyOut,
             responses={409: {"description": "This session holds no key pair (`no-person-key`): sign in again."}})
def reissue_recovery_key(user: CurrentUser, session: DbSession) -> RecoveryKeyOut:
    """A new recovery key for your key pair (issue 27), shown this once: the earlier one no longer
    opens anything. Audited (`auth.recovery_key.reissued`)."""
    return RecoveryKeyOut(recovery_key=person_keys.reissue_recovery_key(session, user=user))


@router.post("/auth/recovery-key/restore", response_model=RestoreOut, responses={
    403: {"description": "The recovery key does not open the earlier key pair (`wrong-recovery-key`)."},
    409: {"description": "Nothing waits for a recovery key, or this session holds no key pair (`no-person-key`)."}})
def restore_access(body: RestoreIn, user: CurrentUser, session: DbSession) -> RestoreOut:
    """After a password reset someone else made: your recovery key brings back every case key your
    earlier key pair held, without anyone else (issue 27). Audited (`keys.recovered`)."""
    return RestoreOut(cases=person_keys.restore_access(session, user=user, recovery_key=body.recovery_key))


@router.post("/key-grants", response_model=KeyGrantOut, responses={
    409: {"description": "The account has no key pair yet, may not read cases, or this session holds no key."}})
def grant_keys(body: KeyGrantIn, user: Safeguarding, session: DbSession, keys: Keys) -> KeyGrantOut:
    """Grant another safeguarding or HR account the keys of every case you hold that they may see
    (issue 27: access comes from someone who has it). A safeguarding grantee's key is certified: new
    cases are wrapped to it too. Audited (`keys.granted`); 403 for yourself."""
    done = keyholders.grant(session, keys, by=user, user_id=body.user_id)
    return KeyGrantOut(user_id=done.grantee.id, cases=done.cases)


@router.post("/auth/totp/setup", response_model=TotpSetupOut,
             responses={**REAUTH_ANSWERS, 409: {"description": "Two-factor sign-in is already on."}})
async def start_totp_setup(
    request: Request, user: TotpOwner, session: DbSession, keys: Keys, settings: CurrentSettings, passwords: Hasher,
    throttle: LoginThrottle, limiter: SlowHashLimiter, body: ReauthIn | None = None,
) -> TotpSetupOut:
    """Start setting up two-factor sign-in: a new secret for your authenticator app, not active
    until confirmed. Takes `{"current_password"}` unless you signed in with your password in the
    last 5 minutes (403 when missing or wrong): a stolen session cannot enrol its own
    authenticator. 409 if two-factor sign-in is already on (remove it first)."""
    setup = await run_slow(
        limiter, signin.start_totp_setup, signin.Door(session, passwords, throttle, keys, settings), user=user,
        token=staff_token(request), current_password=body.current_password if body else None,
    )
    return TotpSetupOut(secret=setup.secret, otpauth_uri=setup.otpauth_uri)


@router.post("/auth/totp/confirm", response_model=RecoveryCodesOut)
def confirm_totp(body: CodeIn, user: TotpOwner, session: DbSession, keys: Keys) -> RecoveryCodesOut:
    """Turn two-factor sign-in on with the code your app shows now. Returns ten single-use
    recovery codes, shown this once. 422 for a wrong code; 409 if no set-up was started."""
    return RecoveryCodesOut(recovery_codes=service.confirm_totp(session, keys, user=user, code=body.code))


@router.delete("/auth/totp", status_code=204,
               responses={**REAUTH_ANSWERS, 409: {"description": "Your roles require it, or it is off."}})
async def disable_totp(
    request: Request, body: TotpRemoveIn, user: CurrentUser, session: DbSession, keys: Keys, settings: CurrentSettings,
    passwords: Hasher, throttle: LoginThrottle, limiter: SlowHashLimiter,
) -> Response:
    """Turn your two-factor sign-in off, with a current code or a recovery code, and
    `current_password` unless you signed in with your password in the last 5 minutes.

    409 if your roles require two-factor sign-in (`SAFESHARE_REQUIRE_2FA_ROLES`) or it is off;
    403 for a wrong code or a wrong or missing password (counted like a failed sign-in).
    """
    await run_slow(
        limiter, signin.disable_totp, signin.Door(session, passwords, throttle, keys, settings), user=user, code=body.code,
        token=staff_token(request), current_password=body.current_password,
    )
    return Response(status_code=204)


@router.get("/auth/sessions", response_model=list[SessionOut])
def list_sessions(request: Request, user: CurrentUser, session: DbSession, paging: Paged) -> list[SessionOut]:
    """Your sessions that still work, newest first; `current` marks the one making this request."""
    token = staff_token(request)
    current = service.token_hash(token) if token else None
    return [SessionOut.of(row, current_hash=current) for row in paging.window(service.live_sessions(session, user=user))]


@router.delete("/auth/sessions", status_code=204)
def end_all_sessions(request: Request, user: CurrentUser, session: DbSession) -> Response:
    """Sign out everywhere: every other session of yours ends and every device cookie of your
    account is revoked (a browser that had one is then throttled like any stranger's)."""
    service.end_all_sessions(session, user=user, keep=staff_token(request))
    return Response(status_code=204)


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
    and asking for another role is 403. Any other role: 403. `pending_roles` are grants waiting
    for a safeguarding user's confirmation."""
    if not user.may(Capability.ADMINISTER):
        if not user.may(Capability.READ_EVERY_CASE):
            raise Forbidden("Your role does not allow this.")
        if role not in (None, Role.HR):
            raise Forbidden("Safeguarding users may list HR contacts only (role=hr, the default for them).")
        role = Role.HR
    waiting = {w.user.id: w.roles for w in service.waiting_for_a_second_person(session) if w.kind == "role_grant"}
    return [UserRead.of(u, waiting.get(u.id)) for u in paging.window(service.list_users(session, role=role))]


@router.post("/users", response_model=UserRead, status_code=201,
             responses={409: {"description": "A user with this e-mail address already exists."}})
async def create_user(
    body: UserCreate, admin: Admin, session: DbSession, passwords: Hasher, limiter: SlowHashLimiter,
    settings: CurrentSettings,
) -> UserRead:
    """Create a staff account (admin). Roles that read no case (`admin`, `leadership`) are the
    account's at once; `hr` and `safeguarding` come back in `pending_roles` and take effect only
    when a safeguarding user other than you confirms them (`POST /users/{id}/role-grant/confirm`,
    within 7 days). The owner gets a single-use enrolment link by e-mail (72 hours) to choose their
    own password; a `password` given here is one-time. Every grant (and every new administrator)
    is audited and e-mailed to the safeguarding users."""
    user, waiting = await run_slow(
        limiter, service.create_account, session, passwords, settings, email=str(body.email), name=body.name,
        roles=body.roles, password=body.password, by=admin,
    )
    return UserRead.of(user, waiting)


@router.patch("/users/{user_id}", response_model=UserRead,
              responses={202: {"model": RoleGrantPending, "description": "A grant of `hr` or `safeguarding` waits "
                               "for a safeguarding user's confirmation; the rest of the change is made."},
                         404: {}, 409: {"description": "This would leave no active administrator."}})
def update_user(user_id: uuid.UUID, body: UserUpdate, admin: Admin, session: DbSession, settings: CurrentSettings) -> Any:
    """Change a user's roles, name or whether the account is active (admin). Deactivating signs
    them out and revokes their device cookies.

    Removals and roles that read no case apply at once (200). A grant of `safeguarding` or `hr`
    answers 202 `{"status": "pending", "pending_roles": [...]}` and takes effect only when a
    safeguarding user other than you confirms it. Nobody changes their own roles or activation
    (403). Removing or demoting the last active administrator is 409. Every role change is
    audited and e-mailed to the safeguarding users.
    """
    user, waiting = service.change_account(
        session, user_id=user_id, roles=body.roles, active=body.active, name=body.name, by=admin, settings=settings,
    )
    if waiting:
        out = RoleGrantPending(pending_roles=waiting, user=UserRead.of(user, waiting))
        return JSONResponse(out.model_dump(mode="json"), status_code=202)
    return UserRead.of(user)


@router.post("/users/{user_id}/role-grant/confirm", response_model=UserRead,
             responses={404: {}, 409: {"description": "No role grant is waiting."}})
def confirm_role_grant(user_id: uuid.UUID, user: Confirmer, session: DbSession) -> UserRead:
    """Confirm a waiting grant of `hr` or `safeguarding` (safeguarding): the roles are the
    account's now. 403 for the person who asked for it and for the account's owner; 409 if none
    is waiting (or it lapsed after 7 days)."""
    return UserRead.of(service.confirm_role_grant(session, user_id=user_id, by=user))


@router.post("/users/{user_id}/role-grant/cancel", status_code=204,
             responses={404: {}, 409: {"description": "No role grant is waiting."}})
def cancel_role_grant(user_id: uuid.UUID, user: SecondPerson, session: DbSession) -> Response:
    """Cancel a waiting role grant (admin or safeguarding): it can never take effect."""
    service.cancel_waiting(session, user_id=user_id, kind=service.ROLE_GRANT, by=user)
    return Response(status_code=204)


@router.get("/account-approvals", response_model=list[WaitingOut])
def waiting_approvals(user: SecondPerson, session: DbSession, paging: Paged) -> list[WaitingOut]:
    """Role grants, password resets and two-factor resets waiting for a safeguarding user's
    confirmation (admin, safeguarding), oldest first."""
    return [
        WaitingOut(kind=w.kind, user_id=w.user.id, email=w.user.email, pending_roles=w.roles,
                   requested_by=w.requested_by_id, requested_at=w.requested_at, expires_at=w.expires_at)
        for w in paging.window(service.waiting_for_a_second_person(session))
    ]


@router.post("/users/{user_id}/password-reset", response_model=PasswordResetOut,
             responses={202: {"model": PasswordResetWaiting, "description": "The account read cases in the last "
                              "90 days: the reset waits for a safeguarding user's confirmation."}, 404: {}})
async def reset_password(
    user_id: uuid.UUID, admin: Admin, session: DbSession, settings: CurrentSettings, passwords: Hasher,
    limiter: SlowHashLimiter,
) -> Any:
    """Give someone a one-time password (admin), to be changed at their next sign-in; their
    two-factor sign-in stays on, every session of theirs ends and their device cookies are
    revoked. 403 for your own account. Audited, and e-mailed to the owner (and, for a
    case-reading account, the safeguarding users).

    For an account that held `hr` or `safeguarding` in the last 90 days the answer is 202
    `{"status": "awaiting_confirmation"}`: a safeguarding user other than you confirms it
    (`password-reset/confirm`) and the one-time password is shown to them, never to you."""
    done = await run_slow(limiter, service.reset_password, session, passwords, settings, user_id=user_id, by=admin)
    if done.waiting is not None:
        return JSONResponse(PasswordResetWaiting.of(done.waiting).model_dump(mode="json"), status_code=202)
    assert done.one_time_password is not None and done.expires_at is not None
    return PasswordResetOut(one_time_password=done.one_time_password, expires_at=done.expires_at)


@router.post("/users/{user_id}/password-reset/confirm", response_model=PasswordResetOut,
             responses={404: {}, 409: {"description": "No password reset is waiting."}})
async def confirm_password_reset(
    user_id: uuid.UUID, user: Confirmer, session: DbSession, settings: CurrentSettings, passwords: Hasher,
    limiter: SlowHashLimiter,
) -> PasswordResetOut:
    """Confirm a waiting password reset (safeguarding): it takes effect now, and the one-time
    password is yours to give to the owner by a trusted route. 403 for the person who asked for
    it and for the account's owner; 409 if none is waiting."""
    one_time, expires = await run_slow(
        limiter, service.confirm_password_reset, session, passwords, settings, user_id=user_id, by=user,
    )
    return PasswordResetOut(one_time_password=one_time, expires_at=expires)


@router.post("/users/{user_id}/password-reset/cancel", status_code=204,
             responses={404: {}, 409: {"description": "No password reset is waiting."}})
def cancel_password_reset(user_id: uuid.UUID, user: SecondPerson, session: DbSession) -> Response:
    """Cancel a waiting password reset (admin or safeguarding)."""
    service.cancel_waiting(session, user_id=user_id, kind=service.PASSWORD_RESET, by=user)
    return Response(status_code=204)


@router.post("/users/{user_id}/totp-reset", response_model=TotpResetOut,
             responses={404: {}, 409: {"description": "The account has no two-factor sign-in."}})
def reset_totp(user_id: uuid.UUID, admin: Admin, session: DbSession) -> TotpResetOut:
    """Reset someone's two-factor sign-in (admin); they set it up again at their next sign-in.

    For an account that held `safeguarding` or `hr` in the last 90 days, the reset waits
    (`awaiting_confirmation`, 7 days) until a safeguarding user other than the requester
    confirms it: no administrator can take over a case-reading account alone. Its sessions end
    at once either way. 403 for your own account; 409 if it has no two-factor sign-in. Audited
    and e-mailed.
    """
    row = service.request_totp_reset(session, user_id=user_id, by=service.actor(admin), by_user=admin)
    return TotpResetOut.of(row)


@router.post("/users/{user_id}/totp-reset/confirm", response_model=TotpResetOut,
             responses={404: {}, 409: {"description": "No reset is waiting."}})
def confirm_totp_reset(user_id: uuid.UUID, user: Confirmer, session: DbSession) -> TotpResetOut:
    """Confirm a waiting two-factor reset (safeguarding): it takes effect now. 403 for the person
    who asked for it and for the account's owner; 409 if none is waiting."""
    return TotpResetOut.of(service.confirm_totp_reset(session, user_id=user_id, by=user))


@router.post("/users/{user_id}/totp-reset/cancel", status_code=204,
             responses={404: {}, 409: {"description": "No reset is waiting."}})
def cancel_totp_reset(user_id: uuid.UUID, user: SecondPerson, session: DbSession) -> Response:
    """Cancel a waiting two-factor reset (admin or safeguarding)."""
    service.cancel_waiting(session, user_id=user_id, kind="totp_reset", by=user)
    return Response(status_code=204)
