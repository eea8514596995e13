"""`/staff/account`: a staff user's own password, two-factor sign-in and sessions, via the API's services."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import segno
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from pydantic import ValidationError

from app.auth import keys as person_keys
from app.auth import service as auth
from app.auth import totp
from app.auth.models import User
from app.auth.permissions import Capability
from app.auth.schemas import PasswordChangeIn
from app.concurrency import run_slow
from app.config import Settings
from app.crypto import holders
from app.db import attempt, separately
from app.errors import AppError, TooManyRequests
from app.http import cookies, signin
from app.http.recovery import PasswordRecovery
from app.http.state import CurrentSettings, Hasher, Keys, LoginThrottle, Sessions, SlowHashLimiter, settings_of
from app.http.transactions import CommitInThreadRoute, DbSession
from app.http.users import STAFF_COOKIE, CurrentUser, PasswordOwner, SignedInUser, TotpOwner, staff_token
from app.schemas import MAX_EMAIL, MAX_PASSWORD
from app.web.navigation import home_for
from app.web.pages import FormErrors, csrf_ok, form_expired
from app.web.staff.common import staff_page, wait_message

router = APIRouter(include_in_schema=False, route_class=CommitInThreadRoute)

ACCOUNT = "/staff/account"
FIELD_ORDER = ["current_password", "new_password", "confirm_password", "setup_password", "restart_password", "code", "recovery_key",
               "remove_code", "remove_password"]
DONE = {
    "password": "Your password has been changed. Any other sessions of yours have been ended.",
    "totp-off": "Two-factor sign-in is off.",
    "session": "That session has been ended.",
    "everywhere": "Every other session has ended, and browsers that signed in before must prove themselves again.",
}


def qr_svg(uri: str) -> Markup:
    """The `otpauth://` URI as an inline SVG QR code (`segno`), drawn on the server."""
    svg = segno.make(uri, error="m").svg_inline(scale=5, border=4, title="QR code for your authenticator app")
    return Markup(svg.replace("<svg ", '<svg role="img" aria-labelledby="qr-title" ', 1).replace("<title>", '<title id="qr-title">', 1))


def _page(
    request: Request, session: DbSession, settings: Settings, keys: Keys, user: User, *,
    errors: FormErrors | None = None, notice: str | None = None, status: int = 200,
) -> HTMLResponse:
    errors = errors or FormErrors()
    must_change = user.password_change_required
    must_set_up = not must_change and auth.totp_setup_required(user, settings)
    setup = auth.pending_totp_setup(keys, user=user) if not must_change else None
    token = staff_token(request)
    current = auth.token_hash(token) if token else None
    ctx: dict[str, Any] = {
        "user": user,
        "must_change": must_change,
        "must_set_up": must_set_up,
        "restricted": must_change or must_set_up,
        "fresh": auth.signed_in_recently(session, token=token),
        "required_by_role": auth.roles_require_totp(user, settings),
        "setup": setup,
        "qr": qr_svg(setup.otpauth_uri) if setup else None,
        "grouped_secret": totp.grouped(setup.secret) if setup else None,
        "recovery_left": auth.remaining_recovery_codes(session, user=user) if user.totp_enabled else 0,
        "sessions": [] if must_change or must_set_up else [
            {"row": row, "current": row.token_hash == current} for row in auth.live_sessions(session, user=user)
        ],
        "errors": errors.messages,
        "problems": errors.summary(FIELD_ORDER),
        "notice": notice,
        "can_see_dashboard": user.may(Capability.READ_STATISTICS),
        # Issue 27: the key pair's recovery key, and access set aside by someone else's reset.
        "case_key": {"dormant": holders.dormant(session, user.id) is not None}
        if holders.person_key(session, user.id) is not None else None,
    }
    return staff_page(request, "account.html", ctx, status_code=status)


@router.get(ACCOUNT, response_class=HTMLResponse)
def account(
    request: Request, user: SignedInUser, session: DbSession, settings: CurrentSettings, keys: Keys,
    done: str | None = None,
) -> HTMLResponse:
    """Your account: password, two-factor sign-in and sessions."""
    return _page(request, session, settings, keys, user, notice=DONE.get(done or ""))


@router.post(ACCOUNT + "/password", response_class=HTMLResponse)
async def change_password(
    request: Request, user: PasswordOwner, session: DbSession, settings: CurrentSettings, keys: Keys,
    passwords: Hasher, throttle: LoginThrottle, limiter: SlowHashLimiter,
    current_password: Annotated[str, Form(max_length=MAX_PASSWORD)] = "",
    new_password: Annotated[str, Form(max_length=MAX_PASSWORD)] = "",
    confirm_password: Annotated[str, Form(max_length=MAX_PASSWORD)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Change your password (the API's `POST /api/v1/auth/password`); your other sessions end."""
    if not csrf_ok(request, csrf_token):
        return form_expired(request, ACCOUNT)
    errors = FormErrors()
    if not current_password and not auth.signed_in_recently(session, token=staff_token(request)):
        errors.add("current_password", "Enter your current password.")
    try:
        PasswordChangeIn(current_password=current_password or None, new_password=new_password)
    except ValidationError as exc:
        for err in exc.errors():
            if err["loc"] == ("new_password",):
                short = err["type"] == "string_too_short"
                errors.add("new_password", "Your new password must be at least 12 characters long." if short
                           else str(err["msg"]).removeprefix("Value error, "))
    if new_password and confirm_password != new_password:
        errors.add("confirm_password", "The two new passwords are not the same.")
    if not errors:
        try:
            made = await run_slow(
                limiter, signin.change_password, signin.Door(session, passwords, throttle, keys, settings), user=user,
                current_password=current_password or None, new_password=new_password,
                keep_token=staff_token(request),
            )
            if made:  # issue 27: the key pair made with this password: its recovery key, once
                return RedirectResponse(ACCOUNT + "/recovery-key", status_code=303)
            return RedirectResponse(ACCOUNT + "?done=password", status_code=303)
        except TooManyRequests as exc:
            errors.add("current_password", f"Too many attempts. Please wait {exc.headers.get('Retry-After', '60')} seconds.")
        except AppError as exc:
            errors.add("current_password" if exc.status == 403 else "new_password", exc.detail)
    return _page(request, session, settings, keys, user, errors=errors, status=422 if errors else 200)


@router.post(ACCOUNT + "/totp/setup", response_class=HTMLResponse)
async def start_totp_setup(
    request: Request, user: TotpOwner, session: DbSession, settings: CurrentSettings, keys: Keys,
    passwords: Hasher, throttle: LoginThrottle, limiter: SlowHashLimiter,
    current_password: Annotated[str, Form(max_length=MAX_PASSWORD)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Start setting up two-factor sign-in (the password first unless recently signed in)."""
    if not csrf_ok(request, csrf_token):
        return form_expired(request, ACCOUNT)
    errors = FormErrors()
    restarting = auth.pending_totp_setup(keys, user=user) is not None
    try:
        await run_slow(limiter, signin.start_totp_setup, signin.Door(session, passwords, throttle, keys, settings), user=user,
                       token=staff_token(request), current_password=current_password or None)
    except TooManyRequests as exc:
        field = "restart_password" if restarting else "setup_password"
        errors.add(field, f"Too many attempts. Please wait {exc.headers.get('Retry-After', '60')} seconds.")
        return _page(request, session, settings, keys, _fresh(session, user), errors=errors, status=429)
    except AppError as exc:
        field = "code" if exc.status != 403 else "restart_password" if restarting else "setup_password"
        errors.add(field, exc.detail)
        return _page(request, session, settings, keys, _fresh(session, user), errors=errors, status=exc.status)
    return RedirectResponse(ACCOUNT + "#totp", status_code=303)


@router.post(ACCOUNT + "/totp/confirm", response_class=HTMLResponse)
def confirm_totp(
    request: Request, user: TotpOwner, session: DbSession, settings: CurrentSettings, keys: Keys,
    code: Annotated[str, Form(max_length=64)] = "", csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Turn two-factor sign-in on with a first code; the recovery codes are shown this once."""
    if not csrf_ok(request, csrf_token):
        return form_expired(request, ACCOUNT)
    errors = FormErrors()
    if not code.strip():
        errors.add("code", "Enter the 6-digit code your app shows.")
    else:
        try:
            with attempt(session):
                codes = auth.confirm_totp(session, keys, user=user, code=code)
            return staff_page(request, "account_recovery_codes.html", {"user": user, "codes": codes,
                                                                   "next": _next(user, settings)})
        except AppError as exc:
            errors.add("code", exc.detail)
    return _page(request, session, settings, keys, user, errors=errors, status=422)


def _next(user: User, settings: Settings) -> str:
    """Where to go once two-factor sign-in is on: where the person's work is."""
    return home_for(user.roles)


@router.post(ACCOUNT + "/totp/remove", response_class=HTMLResponse)
async def remove_totp(
    request: Request, user: CurrentUser, session: DbSession, settings: CurrentSettings, keys: Keys,
    passwords: Hasher, throttle: LoginThrottle, limiter: SlowHashLimiter,
    remove_code: Annotated[str, Form(max_length=64)] = "",
    current_password: Annotated[str, Form(max_length=MAX_PASSWORD)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Turn two-factor sign-in off with a current code or a recovery code (not for roles that require it)."""
    if not csrf_ok(request, csrf_token):
        return form_expired(request, ACCOUNT)
    errors = FormErrors()
    if not totp.is_code_shaped(remove_code):
        errors.add("remove_code", "Enter the 6-digit code your app shows, or a recovery code.")
    else:
        try:
            await run_slow(limiter, signin.disable_totp, signin.Door(session, passwords, throttle, keys, settings), user=user,
                           code=remove_code, token=staff_token(request), current_password=current_password or None)
            return RedirectResponse(ACCOUNT + "?done=totp-off", status_code=303)
        except TooManyRequests as exc:
            errors.add("remove_code", f"Too many attempts. Please wait {exc.headers.get('Retry-After', '60')} seconds.")
        except AppError as exc:
            errors.add("remove_password" if exc.slug == "wrong-password" else "remove_code", exc.detail)
    return _page(request, session, settings, keys, _fresh(session, user), errors=errors, status=422)


def _fresh(session: DbSession, user: User) -> User:
    """The user again after a service ended the request's reading transaction."""
    found = session.get(User, user.id)
    return found if found is not None else user


@router.get(ACCOUNT + "/recovery-key", response_class=HTMLResponse)
def recovery_key_once(request: Request, user: SignedInUser, session: DbSession, settings: CurrentSettings,
                      makers: Sessions) -> Response:
    """A new key pair's recovery key, shown once after the sign-in that made it (issue 27)."""
    token = staff_token(request)
    shown = person_keys.waiting_recovery_key(session, row=auth.session_row(session, token), token=token or "")
    if shown is None or token is None:
        return RedirectResponse(_next(user, settings), status_code=303)
    with separately(makers) as apart:  # a GET's transaction only reads
        person_keys.forget_recovery_key(apart, token_hash=auth.token_hash(token))
    return staff_page(request, "account_recovery_key.html", {"recovery_key": shown, "next": _next(user, settings)})


@router.post(ACCOUNT + "/recovery-key", response_class=HTMLResponse)
def reissue_recovery_key(
    request: Request, user: CurrentUser, session: DbSession, settings: CurrentSettings, keys: Keys,
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """A new recovery key (the API's `POST /api/v1/auth/recovery-key`): the old one stops working."""
    if not csrf_ok(request, csrf_token):
        return form_expired(request, ACCOUNT)
    try:
        with attempt(session):
            recovery = person_keys.reissue_recovery_key(session, user=user)
    except AppError as exc:
        return _page(request, session, settings, keys, user, notice=exc.detail, status=exc.status)
    return staff_page(request, "account_recovery_key.html", {"recovery_key": recovery, "next": ACCOUNT})


@router.post(ACCOUNT + "/recovery-key/restore", response_class=HTMLResponse)
def restore_access(
    request: Request, user: CurrentUser, session: DbSession, settings: CurrentSettings, keys: Keys,
    recovery_key: Annotated[str, Form(max_length=64)] = "", csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Bring back the cases an earlier key pair held, with the recovery key."""
    if not csrf_ok(request, csrf_token):
        return form_expired(request, ACCOUNT)
    try:
        with attempt(session):
            moved = person_keys.restore_access(session, user=user, recovery_key=recovery_key)
    except AppError as exc:
        errors = FormErrors()
        errors.add("recovery_key", exc.detail)
        return _page(request, session, settings, keys, user, errors=errors, status=exc.status)
    return _page(request, session, settings, keys, user,
                 notice=f"Your access is back: {moved} case key{'s' if moved != 1 else ''} restored.")


@router.post(ACCOUNT + "/sessions/end-all", response_class=HTMLResponse)
def end_all_sessions(
    request: Request, user: CurrentUser, session: DbSession, csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Sign out everywhere else (the API's `DELETE /api/v1/auth/sessions`)."""
    if not csrf_ok(request, csrf_token):
        return form_expired(request, ACCOUNT)
    auth.end_all_sessions(session, user=user, keep=staff_token(request))
    return RedirectResponse(ACCOUNT + "?done=everywhere#sessions", status_code=303)


@router.post(ACCOUNT + "/sessions/{session_id}/end", response_class=HTMLResponse)
def end_session(
    request: Request, session_id: uuid.UUID, user: CurrentUser, session: DbSession, settings: CurrentSettings,
    keys: Keys, csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """End one of your sessions; ending this browser's own signs you out here."""
    if not csrf_ok(request, csrf_token):
        return form_expired(request, ACCOUNT)
    token = staff_token(request)
    mine = next((row for row in auth.live_sessions(session, user=user) if row.id == session_id), None)
    try:
        with attempt(session):
            auth.end_session_by_id(session, user=user, session_id=session_id)
    except AppError:
        return _page(request, session, settings, keys, user, notice="That session had already ended.", status=404)
    if mine is not None and token and mine.token_hash == auth.token_hash(token):
        response = RedirectResponse("/login", status_code=303)
        cookies.drop(response, request, STAFF_COOKIE)
        return response
    return RedirectResponse(ACCOUNT + "?done=session#sessions", status_code=303)


# --- enrolment: the owner of a new account chooses their own password ------------------------------

ENROL_FIELDS = ["new_password", "confirm_password"]


def _enrol_page(request: Request, *, token: str, user: User | None, errors: FormErrors | None = None,
                status: int = 200) -> HTMLResponse:
    errors = errors or FormErrors()
    ctx = {"token": token, "account": user, "errors": errors.messages, "problems": errors.summary(ENROL_FIELDS)}
    return staff_page(request, "enrol.html", ctx, status_code=status)


@router.get("/enrol/{token}", response_class=HTMLResponse)
def enrol_page(request: Request, token: str, session: DbSession) -> HTMLResponse:
    """The single-use link e-mailed to the owner of a new account: choose your own password."""
    user = auth.enrolment_user(session, token=token) if _token_shaped(token) else None
    return _enrol_page(request, token=token, user=user, status=200 if user else 404)


@router.post("/enrol/{token}", response_class=HTMLResponse)
async def enrol(
    request: Request, token: str, session: DbSession, passwords: Hasher, limiter: SlowHashLimiter,
    new_password: Annotated[str, Form(max_length=MAX_PASSWORD)] = "",
    confirm_password: Annotated[str, Form(max_length=MAX_PASSWORD)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Set one's own password with the enrolment link (once)."""
    if not csrf_ok(request, csrf_token):
        return form_expired(request, f"/enrol/{token}" if _token_shaped(token) else "/login")
    user = auth.enrolment_user(session, token=token) if _token_shaped(token) else None
    if user is None:
        return _enrol_page(request, token=token, user=None, status=404)
    errors = FormErrors()
    _check_new_password(errors, new_password, confirm_password)
    if not errors:
        try:
            _, recovery = await run_slow(limiter, signin.enrol, session, passwords, token=token,
                                         new_password=new_password, settings=settings_of(request))
            if recovery is not None:  # issue 27: shown this once, then sign in
                return staff_page(request, "account_recovery_key.html",
                                  {"recovery_key": recovery, "next": "/login?enrolled=1", "anonymous": True})
            return RedirectResponse("/login?enrolled=1", status_code=303)
        except AppError as exc:
            if exc.status == 404:
                return _enrol_page(request, token=token, user=None, status=404)
            errors.add("new_password", exc.detail)
    return _enrol_page(request, token=token, user=_fresh(session, user), errors=errors, status=422)


def _check_new_password(errors: FormErrors, new_password: str, confirm_password: str) -> None:
    """The schema's rules for a new password (length, the common ones), and the same one typed twice."""
    try:
        PasswordChangeIn(new_password=new_password)
    except ValidationError as exc:
        for err in exc.errors():
            if err["loc"] == ("new_password",):
                short = err["type"] == "string_too_short"
                errors.add("new_password", "Your password must be at least 12 characters long." if short
                           else str(err["msg"]).removeprefix("Value error, "))
    if new_password and confirm_password != new_password:
        errors.add("confirm_password", "The two passwords are not the same.")


def _token_shaped(token: str) -> bool:
    return 20 <= len(token) <= 128 and all(c.isalnum() or c in "-_" for c in token)


# --- a forgotten password: the owner's recovery key and second factor (issue 27) ------------------------

FORGOT = "/login/forgot"
FORGOT_FIELDS = ["email", "recovery_key", "code", "new_password", "confirm_password"]
# Where each refusal of the service is shown on the form.
_FORGOT_FIELD_OF = {"recovery-refused": "recovery_key", "recovery-needs-two-factor": "code", "totp-required": "code",
                    "validation-error": "new_password", "rate-limited": "email"}


def _forgot_page(request: Request, *, email: str = "", errors: FormErrors | None = None, status: int = 200,
                 headers: dict[str, str] | None = None) -> HTMLResponse:
    errors = errors or FormErrors()
    response = staff_page(request, "forgot_password.html", {"email": email, "errors": errors.messages,
                                                            "problems": errors.summary(FORGOT_FIELDS)},
                          status_code=status)
    response.headers.update(headers or {})
    return response


@router.get(FORGOT, response_class=HTMLResponse)
def forgot_password_page(request: Request) -> HTMLResponse:
    """Forgot your password: set a new one with your recovery key and your second factor."""
    return _forgot_page(request)


@router.post(FORGOT, response_class=HTMLResponse)
async def forgot_password(
    request: Request, recover: PasswordRecovery,
    email: Annotated[str, Form(max_length=MAX_EMAIL)] = "",
    recovery_key: Annotated[str, Form(max_length=64)] = "",
    code: Annotated[str, Form(max_length=64)] = "",
    new_password: Annotated[str, Form(max_length=MAX_PASSWORD)] = "",
    confirm_password: Annotated[str, Form(max_length=MAX_PASSWORD)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """The API's `POST /api/v1/auth/password/recover` as a form; the new recovery key is shown once."""
    if not csrf_ok(request, csrf_token):
        return form_expired(request, FORGOT)
    errors = FormErrors()
    if not email.strip():
        errors.add("email", "Enter the e-mail address you sign in with.")
    if not recovery_key.strip():
        errors.add("recovery_key", "Enter the recovery key you kept.")
    if code.strip() and not totp.is_code_shaped(code):
        errors.add("code", "Enter the 6 digits your app shows, or a recovery code of 16 letters and digits.")
    _check_new_password(errors, new_password, confirm_password)
    if errors:
        return _forgot_page(request, email=email, errors=errors, status=422)
    try:
        recovery = await recover(email=email, recovery_key=recovery_key, totp=code.strip() or None,
                                 new_password=new_password)
    except AppError as exc:
        message = wait_message(exc) if isinstance(exc, TooManyRequests) else exc.detail
        errors.add(_FORGOT_FIELD_OF.get(exc.slug, "recovery_key"), message)
        return _forgot_page(request, email=email, errors=errors, status=exc.status,
                            headers={k: v for k, v in exc.headers.items() if k.lower() != "www-authenticate"})
    return staff_page(request, "account_recovery_key.html", {"recovery_key": recovery, "next": "/login",
                                                             "recovered": True, "anonymous": True})

