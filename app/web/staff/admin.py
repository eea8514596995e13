"""Administration (admin only): accounts, themes and locations, through the API's schemas and services."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, NoReturn

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from app.auth import service as auth
from app.auth.permissions import ROLES, Capability
from app.auth.schemas import UserCreate, UserUpdate
from app.auth.service import WHAT_WAITS
from app.cases import keyholders
from app.concurrency import run_slow
from app.db import attempt
from app.enums import Role
from app.errors import AppError, NotFound
from app.http.state import CurrentSettings, Hasher, Keys, SlowHashLimiter
from app.http.transactions import CommitInThreadRoute, DbSession
from app.http.users import Admin, Confirmer, Safeguarding, SecondPerson
from app.labels import LOCATION_KIND_LABELS
from app.locations import service as locations
from app.locations.schemas import LocationCreate, LocationUpdate
from app.themes import service as themes
from app.themes.schemas import ThemeCreate, ThemeUpdate
from app.web.pages import FormErrors
from app.web.staff.common import csrf_refused, done, schema_errors, staff_page

router = APIRouter(include_in_schema=False, route_class=CommitInThreadRoute)

ROLE_LABELS = {role.value: (text.label, text.summary) for role, text in ROLES.items()}
NOTICES = {
    "created": "Account created. The person gets a link by e-mail to choose their own password (it works once, for "
               "72 hours). You never learn a password that works.",
    "created_waiting": "Account created. The person gets a link by e-mail to choose their own password. The HR or "
                       "safeguarding role takes effect only when a safeguarding user (not you) confirms it.",
    "grant_waiting": "Account updated. The HR or safeguarding role takes effect only when a safeguarding user (not "
                     "you) confirms it, within 7 days.",
    "password_reset_waiting": "Reset asked for. Because this account read cases in the last 90 days, it takes effect "
                              "only when a safeguarding user (not you) confirms it; the one-time password is shown "
                              "to them. Their sessions have ended.",
    "cancelled": "Cancelled: it will never take effect.",
    "totp_reset": "Two-factor sign-in reset: they set it up again at their next sign-in. Their sessions have ended.",
    "totp_reset_waiting": "Reset asked for. Because this account reads cases, it takes effect only when a "
                          "safeguarding user (not you) confirms it. Their sessions have ended.",
    "updated": "Account updated.",
    "theme_created": "Theme added.",
    "theme_updated": "Theme updated.",
    "location_created": "Location added.",
    "location_updated": "Location updated.",
}


# --- accounts -------------------------------------------------------------------------------------


def _users_page(request: Request, session: DbSession, *, errors: FormErrors | None = None,
                values: dict[str, Any] | None = None, status_code: int = 200,
                one_time: dict[str, Any] | None = None) -> HTMLResponse:
    errors = errors or FormErrors()
    waiting = auth.waiting_for_a_second_person(session)
    ctx = {
        "users": auth.list_users(session),
        "waiting": {w.user.id for w in waiting if w.kind == "totp_reset"},
        "pending": {w.user.id: w.roles for w in waiting if w.kind == "role_grant"},
        "approvals": waiting,
        "what_waits": WHAT_WAITS,
        "few_safeguarding": auth.active_safeguarding_users(session) < 2,
        "one_time": one_time,
        "role_labels": ROLE_LABELS,
        "errors": errors.messages,
        "problems": errors.summary(["new-email", "new-name", "new-roles"]),
        "values": values or {},
        "notice": NOTICES.get(request.query_params.get("done", "")),
    }
    return staff_page(request, "staff/users.html", ctx, status_code=status_code)


@router.get("/staff/users", response_class=HTMLResponse)
def users(request: Request, admin: Admin, session: DbSession) -> Response:
    """Every staff account, and a form to create one."""
    return _users_page(request, session)


@router.post("/staff/users", response_class=HTMLResponse)
async def create_user(
    request: Request, admin: Admin, session: DbSession, passwords: Hasher, limiter: SlowHashLimiter,
    settings: CurrentSettings, csrf: Annotated[str, Form(alias="csrf_token")] = "",
    email: Annotated[str, Form()] = "", name: Annotated[str, Form()] = "",
    role: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI copies defaults
) -> Response:
    """Create an account with no password (the owner enrols by e-mail); case-reading roles wait."""
    if (refused := csrf_refused(request, csrf, "/staff/users")) is not None:
        return refused
    values = {"email": email, "name": name, "role": role}
    errors = FormErrors()
    waiting: list[Role] = []
    try:
        body = UserCreate.model_validate({"email": email, "name": name, "roles": role})
        waiting = await run_slow(limiter, _create, session, passwords, settings, body, admin)
    except ValidationError as exc:
        schema_errors(exc, errors, prefix="new", fallback="email")
    except AppError as exc:
        errors.add("new-email", exc.detail)
    if errors:
        return _users_page(request, session, errors=errors, values={"new": values}, status_code=422)
    return done("/staff/users", "created_waiting" if waiting else "created")


def _create(session: DbSession, passwords: Hasher, settings: Any, body: UserCreate, admin: Any) -> list[Role]:
    with attempt(session):
        _user, waiting = auth.create_account(session, passwords, settings, email=str(body.email), name=body.name,
                                             roles=body.roles, password=None, by=admin)
    return waiting


@router.post("/staff/users/{user_id}", response_class=HTMLResponse)
def update_user(
    request: Request, user_id: uuid.UUID, admin: Admin, session: DbSession, settings: CurrentSettings,
    csrf: Annotated[str, Form(alias="csrf_token")] = "",
    role: Annotated[list[str], Form()] = [],  # noqa: B006
    active: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
) -> Response:
    """Change an account's name, roles or whether it is active: `PATCH /api/v1/users/{id}`."""
    if (refused := csrf_refused(request, csrf, "/staff/users")) is not None:
        return refused
    errors = FormErrors()
    prefix = f"u{user_id.hex[:8]}"
    waiting: list[Role] = []
    try:
        body = UserUpdate.model_validate({"roles": role, "active": active == "yes", "name": name or None})
        with attempt(session):
            _user, waiting = auth.change_account(session, user_id=user_id, roles=body.roles, active=body.active,
                                                 name=body.name, by=admin, settings=settings)
    except ValidationError as exc:
        schema_errors(exc, errors, prefix=prefix, fallback="roles")
    except AppError as exc:
        if exc.status == 404:
            raise
        errors.add(f"{prefix}-roles", exc.detail)
    if errors:
        values = {str(user_id): {"role": role, "active": active, "name": name}}
        return _users_page(request, session, errors=errors, values=values, status_code=422)
    return done("/staff/users", "grant_waiting" if waiting else "updated", f"user-{user_id}")


@router.post("/staff/users/{user_id}/password-reset", response_class=HTMLResponse)
async def reset_password(
    request: Request, user_id: uuid.UUID, admin: Admin, session: DbSession, settings: CurrentSettings,
    passwords: Hasher, limiter: SlowHashLimiter, csrf: Annotated[str, Form(alias="csrf_token")] = "",
) -> Response:
    """A one-time password for someone else's account, shown here once, never stored or e-mailed."""
    if (refused := csrf_refused(request, csrf, "/staff/users")) is not None:
        return refused
    try:
        with attempt(session):
            reset = await run_slow(limiter, auth.reset_password, session, passwords, settings, user_id=user_id,
                                   by=admin)
    except AppError as exc:
        if exc.status == 404:
            raise
        errors = FormErrors()
        errors.add(f"u{user_id.hex[:8]}-roles", exc.detail)
        return _users_page(request, session, errors=errors, status_code=exc.status)
    if reset.waiting is not None:
        return done("/staff/users", "password_reset_waiting", f"user-{user_id}")
    target = next((u for u in auth.list_users(session) if u.id == user_id), None)
    return _users_page(request, session, one_time={"user": target, "password": reset.one_time_password,
                                                   "expires_at": reset.expires_at})


@router.post("/staff/users/{user_id}/totp-reset", response_class=HTMLResponse)
def reset_totp(
    request: Request, user_id: uuid.UUID, admin: Admin, session: DbSession,
    csrf: Annotated[str, Form(alias="csrf_token")] = "",
) -> Response:
    """Reset someone's two-factor sign-in: `POST /api/v1/users/{id}/totp-reset`."""
    if (refused := csrf_refused(request, csrf, "/staff/users")) is not None:
        return refused
    try:
        with attempt(session):
            row = auth.request_totp_reset(session, user_id=user_id, by=auth.actor(admin), by_user=admin)
    except AppError as exc:
        if exc.status == 404:
            raise
        errors = FormErrors()
        errors.add(f"u{user_id.hex[:8]}-roles", exc.detail)
        return _users_page(request, session, errors=errors, status_code=exc.status)
    return done("/staff/users", "totp_reset" if row.applied_at else "totp_reset_waiting", f"user-{user_id}")


@router.post("/staff/resets/{user_id}/confirm", response_class=HTMLResponse)
def confirm_totp_reset(
    request: Request, user_id: uuid.UUID, user: Confirmer, session: DbSession,
    csrf: Annotated[str, Form(alias="csrf_token")] = "",
) -> Response:
    """Confirm a waiting two-factor reset (offered on the queue page)."""
    if (refused := csrf_refused(request, csrf, "/staff/cases")) is not None:
        return refused
    auth.confirm_totp_reset(session, user_id=user_id, by=user)
    return done("/staff/cases", "reset_confirmed")


@router.get("/staff/approvals", response_class=HTMLResponse)
def approvals(request: Request, user: SecondPerson, session: DbSession) -> Response:
    """What waits for a second person: role grants, password and two-factor resets."""
    return _approvals_page(request, session, user)


def _approvals_page(request: Request, session: DbSession, user: Any, *, one_time: dict[str, Any] | None = None,
                    error: str | None = None, status_code: int = 200) -> HTMLResponse:
    ctx = {
        "approvals": auth.waiting_for_a_second_person(session),
        "what_waits": WHAT_WAITS,
        "role_labels": ROLE_LABELS,
        "may_confirm": user.may(Capability.CONFIRM_APPROVALS),
        "one_time": one_time,
        "error": error,
        "few_safeguarding": auth.active_safeguarding_users(session) < 2,
        "notice": APPROVAL_NOTICES.get(request.query_params.get("done", "")),
    }
    if user.may(Capability.READ_EVERY_CASE):  # issue 27: who holds case keys, and the grant button
        ctx["key_standing"] = keyholders.standing(session)
        ctx["few_holders"] = keyholders.few_holders(ctx["key_standing"])
    return staff_page(request, "staff/approvals.html", ctx, status_code=status_code)


@router.post("/staff/approvals/keys/{user_id}/grant", response_class=HTMLResponse)
def grant_keys(
    request: Request, user_id: uuid.UUID, user: Safeguarding, session: DbSession, keys: Keys,
    csrf: Annotated[str, Form(alias="csrf_token")] = "",
) -> Response:
    """Grant an account the keys of every case you hold that it may see: `POST /api/v1/key-grants`."""
    if (refused := csrf_refused(request, csrf, "/staff/approvals")) is not None:
        return refused
    try:
        with attempt(session):
            keyholders.grant(session, keys, by=user, user_id=user_id)
    except AppError as exc:
        return _approvals_page(request, session, user, error=exc.detail, status_code=exc.status)
    return done("/staff/approvals", "keys_granted", "case-keys")


APPROVAL_NOTICES = {
    "keys_granted": "Granted: they hold the keys of the cases you hold that they may see.",
    "role_grant": "Confirmed: the role is the person's now. The safeguarding users have been told.",
    "totp_reset": "Two-factor reset confirmed: the person sets it up again at their next sign-in.",
    "cancelled": "Cancelled: it will never take effect.",
}
KINDS = ("role_grant", "password_reset", "totp_reset")


@router.post("/staff/approvals/{user_id}/{kind}/confirm", response_class=HTMLResponse)
async def confirm_approval(
    request: Request, user_id: uuid.UUID, kind: str, user: Confirmer, session: DbSession,
    settings: CurrentSettings, passwords: Hasher, limiter: SlowHashLimiter,
    csrf: Annotated[str, Form(alias="csrf_token")] = "",
) -> Response:
    """Confirm a grant or a reset; a password reset's one-time password is shown here, once."""
    if (refused := csrf_refused(request, csrf, "/staff/approvals")) is not None:
        return refused
    if kind not in KINDS:
        _not_found()
    try:
        with attempt(session):
            if kind == "role_grant":
                auth.confirm_role_grant(session, user_id=user_id, by=user)
            elif kind == "totp_reset":
                auth.confirm_totp_reset(session, user_id=user_id, by=user)
            else:
                one_time, expires = await run_slow(limiter, auth.confirm_password_reset, session, passwords, settings,
                                                   user_id=user_id, by=user)
                target = next((u for u in auth.list_users(session) if u.id == user_id), None)
                return _approvals_page(request, session, user, one_time={
                    "user": target, "password": one_time, "expires_at": expires})
    except AppError as exc:
        if exc.status == 404:
            raise
        return _approvals_page(request, session, user, error=exc.detail, status_code=exc.status)
    return done("/staff/approvals", kind)


@router.post("/staff/approvals/{user_id}/{kind}/cancel", response_class=HTMLResponse)
def cancel_approval(
    request: Request, user_id: uuid.UUID, kind: str, user: SecondPerson, session: DbSession,
    csrf: Annotated[str, Form(alias="csrf_token")] = "",
) -> Response:
    """Cancel a waiting grant or reset (admin or safeguarding): `POST /api/v1/users/{id}/.../cancel`."""
    if (refused := csrf_refused(request, csrf, "/staff/approvals")) is not None:
        return refused
    if kind not in KINDS:
        _not_found()
    try:
        with attempt(session):
            auth.cancel_waiting(session, user_id=user_id, kind=kind, by=user)
    except AppError as exc:
        if exc.status == 404:
            raise
        return _approvals_page(request, session, user, error=exc.detail, status_code=exc.status)
    return done("/staff/approvals", "cancelled")


def _not_found() -> NoReturn:
    raise NotFound("No such request.")


# --- themes ---------------------------------------------------------------------------------------


WORDS_RULE = "Each word or phrase needs 2 to 60 characters, one a line, at most 200."


def _lines(text: str) -> list[str]:
    """A textarea's lines (or commas), blank ones dropped: one word or phrase each."""
    return [w.strip() for line in text.splitlines() for w in line.split(",") if w.strip()]


def _themes_page(request: Request, session: DbSession, *, errors: FormErrors | None = None,
                 values: dict[str, Any] | None = None, status_code: int = 200) -> HTMLResponse:
    errors = errors or FormErrors()
    ctx = {
        "themes": themes.list_themes(session),
        "errors": errors.messages,
        "problems": errors.summary(["new-slug", "new-name", "new-description", "new-words"]),
        "values": values or {},
        "notice": NOTICES.get(request.query_params.get("done", "")),
    }
    return staff_page(request, "staff/themes.html", ctx, status_code=status_code)


@router.get("/staff/themes", response_class=HTMLResponse)
def theme_list(request: Request, admin: Admin, session: DbSession) -> Response:
    """The theme list: add, rename, describe or retire a theme."""
    return _themes_page(request, session)


@router.post("/staff/themes", response_class=HTMLResponse)
def create_theme(
    request: Request, admin: Admin, session: DbSession, csrf: Annotated[str, Form(alias="csrf_token")] = "",
    slug: Annotated[str, Form()] = "", name: Annotated[str, Form()] = "", description: Annotated[str, Form()] = "",
    words: Annotated[str, Form()] = "",
) -> Response:
    """Add a theme: `POST /api/v1/themes`."""
    if (refused := csrf_refused(request, csrf, "/staff/themes")) is not None:
        return refused
    errors = FormErrors()
    try:
        body = ThemeCreate.model_validate({"slug": slug, "name": name, "description": description,
                                           "words": _lines(words)})
        with attempt(session):
            themes.create_theme(session, slug=body.slug, name=body.name, description=body.description,
                                by=auth.actor(admin), words=body.words)
    except ValidationError as exc:
        schema_errors(exc, errors, prefix="new", fallback="slug")
        if "new-words" in errors.messages:
            errors.messages["new-words"] = WORDS_RULE
        if "new-slug" in errors.messages:
            errors.messages["new-slug"] = "Use 2 to 64 lower-case letters, digits or underscores, starting with a letter."
    except AppError as exc:
        errors.add("new-slug", exc.detail)
    if errors:
        values = {"new": {"slug": slug, "name": name, "description": description, "words": words}}
        return _themes_page(request, session, errors=errors, values=values, status_code=422)
    return done("/staff/themes", "theme_created")


@router.post("/staff/themes/{slug}", response_class=HTMLResponse)
def update_theme(
    request: Request, slug: str, admin: Admin, session: DbSession,
    csrf: Annotated[str, Form(alias="csrf_token")] = "",
    name: Annotated[str, Form()] = "", description: Annotated[str, Form()] = "",
    active: Annotated[str, Form()] = "", words: Annotated[str, Form()] = "",
) -> Response:
    """Rename, describe or retire a theme, or change its words: `PATCH /api/v1/themes/{slug}`."""
    if (refused := csrf_refused(request, csrf, "/staff/themes")) is not None:
        return refused
    errors = FormErrors()
    prefix = f"t-{slug}"
    try:
        body = ThemeUpdate.model_validate({"name": name, "description": description, "active": active == "yes",
                                           "words": _lines(words)})
        with attempt(session):
            themes.update_theme(session, slug=slug, name=body.name, description=body.description, active=body.active,
                                by=auth.actor(admin), words=body.words)
    except ValidationError as exc:
        schema_errors(exc, errors, prefix=prefix, fallback="name")
        if f"{prefix}-words" in errors.messages:
            errors.messages[f"{prefix}-words"] = WORDS_RULE
    except AppError as exc:
        if exc.status == 404:
            raise
        errors.add(f"{prefix}-name", exc.detail)
    if errors:
        values = {slug: {"name": name, "description": description, "active": active, "words": words}}
        return _themes_page(request, session, errors=errors, values=values, status_code=422)
    return done("/staff/themes", "theme_updated", f"theme-{slug}")


# --- locations ------------------------------------------------------------------------------------


def _locations_page(request: Request, session: DbSession, *, errors: FormErrors | None = None,
                    values: dict[str, Any] | None = None, status_code: int = 200) -> HTMLResponse:
    errors = errors or FormErrors()
    ctx = {
        "locations": locations.list_locations(session),
        "kinds": LOCATION_KIND_LABELS,
        "errors": errors.messages,
        "problems": errors.summary(["new-slug", "new-name", "new-kind", "new-headcount"]),
        "values": values or {},
        "notice": NOTICES.get(request.query_params.get("done", "")),
    }
    return staff_page(request, "staff/locations.html", ctx, status_code=status_code)


def _headcount(text: str) -> int | str | None:
    """The form's headcount box: empty for unknown, digits for a number (anything else the schema refuses)."""
    text = text.strip()
    if not text:
        return None
    return int(text) if text.isdigit() and len(text) < 12 else text


@router.get("/staff/locations", response_class=HTMLResponse)
def location_list(request: Request, admin: Admin, session: DbSession) -> Response:
    """The locations: add, rename, re-count or retire a station, department, team or watch."""
    return _locations_page(request, session)


@router.post("/staff/locations", response_class=HTMLResponse)
def create_location(
    request: Request, admin: Admin, session: DbSession, csrf: Annotated[str, Form(alias="csrf_token")] = "",
    slug: Annotated[str, Form()] = "", name: Annotated[str, Form()] = "", kind: Annotated[str, Form()] = "",
    headcount: Annotated[str, Form()] = "",
) -> Response:
    """Add a location: `POST /api/v1/locations`."""
    if (refused := csrf_refused(request, csrf, "/staff/locations")) is not None:
        return refused
    errors = FormErrors()
    try:
        body = LocationCreate.model_validate(
            {"slug": slug, "name": name, "kind": kind, "headcount": _headcount(headcount)})
        with attempt(session):
            locations.create_location(session, slug=body.slug, name=body.name, kind=body.kind,
                                      headcount=body.headcount, by=auth.actor(admin))
    except ValidationError as exc:
        schema_errors(exc, errors, prefix="new", fallback="slug")
        if "new-words" in errors.messages:
            errors.messages["new-words"] = WORDS_RULE
        if "new-slug" in errors.messages:
            errors.messages["new-slug"] = ("Use 2 to 64 lower-case letters, digits or underscores, starting with a "
                                           "letter (not \"prefer not to say\").")
        if "new-headcount" in errors.messages:
            errors.messages["new-headcount"] = "Enter a whole number of staff, or leave it empty if you do not know."
    except AppError as exc:
        errors.add("new-slug", exc.detail)
    if errors:
        values = {"new": {"slug": slug, "name": name, "kind": kind, "headcount": headcount}}
        return _locations_page(request, session, errors=errors, values=values, status_code=422)
    return done("/staff/locations", "location_created")


@router.post("/staff/locations/{slug}", response_class=HTMLResponse)
def update_location(
    request: Request, slug: str, admin: Admin, session: DbSession,
    csrf: Annotated[str, Form(alias="csrf_token")] = "",
    name: Annotated[str, Form()] = "", kind: Annotated[str, Form()] = "",
    headcount: Annotated[str, Form()] = "", active: Annotated[str, Form()] = "",
) -> Response:
    """Rename, re-kind, re-count or retire a location: `PATCH /api/v1/locations/{slug}`."""
    if (refused := csrf_refused(request, csrf, "/staff/locations")) is not None:
        return refused
    errors = FormErrors()
    prefix = f"l-{slug}"
    try:
        body = LocationUpdate.model_validate(
            {"name": name, "kind": kind, "headcount": _headcount(headcount), "active": active == "yes"})
        with attempt(session):
            locations.update_location(session, slug=slug, by=auth.actor(admin), changes={
                "name": body.name, "kind": body.kind, "headcount": body.headcount, "active": body.active})
    except ValidationError as exc:
        schema_errors(exc, errors, prefix=prefix, fallback="name")
        if f"{prefix}-words" in errors.messages:
            errors.messages[f"{prefix}-words"] = WORDS_RULE
        if f"{prefix}-headcount" in errors.messages:
            errors.messages[f"{prefix}-headcount"] = "Enter a whole number of staff, or leave it empty."
    except AppError as exc:
        if exc.status == 404:
            raise
        errors.add(f"{prefix}-name", exc.detail)
    if errors:
        values = {slug: {"name": name, "kind": kind, "headcount": headcount, "active": active}}
        return _locations_page(request, session, errors=errors, values=values, status_code=422)
    return done("/staff/locations", "location_updated", f"location-{slug}")
