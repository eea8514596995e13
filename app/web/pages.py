"""What every page shares: Jinja2, the CSRF token, form errors, and errors shown as pages.

CSRF uses the double-submit pattern: a random token in a `SameSite=Strict`, HttpOnly cookie and
the same token in a hidden form field, compared in constant time. No JavaScript is involved.

Pages use the API's own dependencies (`app.api.dependencies`), so their errors are the API's
errors; `page_error` shows them to a browser as a browser expects: a staff page that needs a
sign-in redirects to `/login`, and a role that may not see a page gets a page that says so.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from app import clock
from app.api.dependencies import is_page, settings_of
from app.config import Settings
from app.errors import AppError
from app.web import TEMPLATES_DIR

templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
templates.env.globals["rfc3339"] = clock.rfc3339

CSRF_COOKIE = "ss_csrf"
# The 403s of a signed-in user who must first change their password or set up two-factor sign-in.
RESTRICTED_SLUGS = {"password-change-required", "totp-setup-required"}
CSRF_FIELD = "csrf_token"


# --- CSRF ---------------------------------------------------------------------------------------


def csrf_token(request: Request) -> str:
    """The token for this browser: reuse the cookie's, or make one (set on the response by `render`)."""
    token = request.cookies.get(CSRF_COOKIE)
    if not token or len(token) < 32:
        token = getattr(request.state, "new_csrf", None) or secrets.token_urlsafe(32)
        request.state.new_csrf = token
    return token


def csrf_ok(request: Request, submitted: str | None) -> bool:
    cookie = request.cookies.get(CSRF_COOKIE)
    return bool(cookie and submitted and hmac.compare_digest(cookie, submitted))


def secure(request: Request) -> bool:
    """Whether cookies set on this response may travel over https only."""
    return request.url.scheme == "https"


# --- rendering ----------------------------------------------------------------------------------


def _as_datetime(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def nice_datetime(value: Any, settings: Settings) -> str:
    """`22 November 2026 at 05:47`, in the organisation's own time zone."""
    dt = _as_datetime(value)
    if dt is None:
        return ""
    local = dt.astimezone(settings.hours.tz)
    return f"{local.day} {local:%B %Y} at {local:%H:%M}"


def nice_date(value: Any) -> str:
    if value is None or value == "":
        return ""
    d = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    return f"{d:%A} {d.day} {d:%B %Y}"


def enum_value(v: Any) -> str:
    return str(getattr(v, "value", v))


templates.env.filters["enum_value"] = enum_value
templates.env.filters["nice_date"] = nice_date


def render(request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200) -> HTMLResponse:
    settings = settings_of(request)
    ctx: dict[str, Any] = {
        "request": request,
        "settings": settings,
        "csrf_token": csrf_token(request),
        "nice_datetime": lambda v: nice_datetime(v, settings),
    }
    ctx.update(context or {})
    response = templates.TemplateResponse(request, name, ctx, status_code=status_code)
    new = getattr(request.state, "new_csrf", None)
    if new:
        response.set_cookie(CSRF_COOKIE, new, httponly=True, samesite="strict", secure=secure(request), path="/")
    return response


# --- forms --------------------------------------------------------------------------------------


@dataclass
class FormErrors:
    """Field id -> message, in the order the fields appear on the page."""

    messages: dict[str, str] = field(default_factory=dict)

    def add(self, field_id: str, message: str) -> None:
        self.messages.setdefault(field_id, message)

    def __bool__(self) -> bool:
        return bool(self.messages)

    def summary(self, order: list[str]) -> list[tuple[str, str]]:
        known = [(f, self.messages[f]) for f in order if f in self.messages]
        rest = [(f, m) for f, m in self.messages.items() if f not in order]
        return known + rest


def form_expired(request: Request, back: str) -> HTMLResponse:
    """A forged or stale form. Nothing is stored; the person is asked to go back and try again."""
    return render(request, "form_expired.html", {"back": back}, status_code=403)


# --- errors as pages ----------------------------------------------------------------------------


def page_error(request: Request, exc: AppError) -> Response | None:
    """A page's answer to an error its dependencies raised, or None to answer with problem+json.

    401 on a page: sign in first. 403: a page that says the page is not for this role.
    """
    if not is_page(request):
        return None
    if exc.status == 401:
        return RedirectResponse("/login", status_code=303)
    if exc.slug in RESTRICTED_SLUGS:
        # A one-time password to change, or two-factor sign-in to set up, comes first.
        return RedirectResponse("/staff/account", status_code=303)
    if exc.status == 403:
        viewer = getattr(request.state, "viewer", None)
        return render(request, "forbidden.html", {"user": viewer}, status_code=403)
    return None
