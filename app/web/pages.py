"""What every page shares: Jinja2, the CSRF token, cookies, form errors, errors shown as pages.

The CSRF token binds the browser's own id and its session cookies (docs/reporters.md, "Cookies and CSRF").
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.routing import Match

from app import clock
from app.config import Settings
from app.errors import AppError
from app.http import cookies
from app.http.state import keyring_of, settings_of
from app.http.users import STAFF_COOKIE, is_page
from app.web import TEMPLATES_DIR
from app.web.navigation import home_for, nav_for

templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
templates.env.globals["rfc3339"] = clock.rfc3339

CSRF_COOKIE = "ss_csrf"
# The forms that take files (field `attachments`, `multipart/form-data`): their size limit is
# applied before the body is read (app.limits, from main).
FORM_UPLOADS = re.compile(r"^/(report|follow-up/messages|staff/cases/[^/]+/(messages|notes))$")
# What such a form may send besides its files (the text fields, the multipart envelope).
FORM_ENVELOPE = 1024 * 1024
# The 403s of a signed-in user who must first change their password or set up two-factor sign-in.
RESTRICTED_SLUGS = {"password-change-required", "totp-setup-required"}
CSRF_FIELD = "csrf_token"
REPORTER_COOKIE = "ss_reporter"
REPORTER_COOKIE_PATH = "/follow-up"
# The session cookies a form token is bound to, with the paths they are set for.
SESSION_COOKIES = ((STAFF_COOKIE, "/"), (REPORTER_COOKIE, REPORTER_COOKIE_PATH))


# --- CSRF ---------------------------------------------------------------------------------------


def _browser_id(request: Request) -> str:
    """This browser's random id: the cookie's, or a new one (set on the response by `render`)."""
    value = cookies.read(request, CSRF_COOKIE)
    if not value or len(value) < 32:
        value = getattr(request.state, "new_csrf", None) or secrets.token_urlsafe(32)
        request.state.new_csrf = value
    return value


def _sessions_sent(request: Request) -> list[str]:
    """The session cookies the browser sent, less any this response is dropping."""
    dropping = getattr(request.state, "dropping_cookies", {})
    return ["" if base in dropping else cookies.read(request, base, path=path) or "" for base, path in SESSION_COOKIES]


def _mac(request: Request, *parts: str) -> str:
    key = keyring_of(request).subkey("csrf")
    digest = hmac.new(key, "\x1f".join(parts).encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def csrf_token(request: Request) -> str:
    """The token for this browser's forms, bound to its id and to its sessions."""
    return _mac(request, "form", _browser_id(request), *_sessions_sent(request))


def from_this_site(request: Request) -> bool:
    """Whether the browser says this request came from one of our own pages.

    `Sec-Fetch-Site` decides; else an `Origin` of another host is refused (host only: an untrusted
    proxy may make the scheme look like http); no `Origin` or `null` leaves it to the token.
    """
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site in ("same-origin", "none")
    origin = request.headers.get("origin")
    return origin in (None, "null") or urlsplit(origin).netloc == request.url.netloc


def csrf_ok(request: Request, submitted: str | None) -> bool:
    """Whether a form post carries this browser's token for its current sessions, from our own page."""
    browser = cookies.read(request, CSRF_COOKIE)
    if not browser or not submitted or not from_this_site(request):
        return False
    expected = _mac(request, "form", browser, *_sessions_sent(request))
    return hmac.compare_digest(expected, submitted)


def seal_session(request: Request, token: str) -> str:
    """A session cookie's value bound to this browser, so a cookie planted from elsewhere (a sibling
    subdomain) signs nobody into someone else's session.
    """
    return f"{token}.{_mac(request, 'session', _browser_id(request), token)[:22]}"


def open_session(request: Request, value: str | None) -> str | None:
    """The session token inside a cookie made by `seal_session` in this browser, or None."""
    token, _, tag = (value or "").rpartition(".")
    browser = cookies.read(request, CSRF_COOKIE)
    if not token or not browser:
        return None
    return token if hmac.compare_digest(_mac(request, "session", browser, token)[:22], tag) else None


def drop_cookie(request: Request, base: str, *, path: str = "/") -> None:
    """Have this request's page tell the browser to forget a cookie (forms bind to the sessions left)."""
    dropping: dict[str, str] = getattr(request.state, "dropping_cookies", {})
    dropping[base] = path
    request.state.dropping_cookies = dropping


def secure(request: Request) -> bool:
    """Whether cookies set on this response may travel over https only (see `app.http.cookies`)."""
    return cookies.is_https(request)


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
        cookies.put(response, request, CSRF_COOKIE, new)  # until the browser closes
    for base, path in getattr(request.state, "dropping_cookies", {}).items():
        cookies.drop(response, request, base, path=path)
    return response


# --- forms --------------------------------------------------------------------------------------

# How the code names a field, as a person would say it (service and schema messages name fields).
FIELD_WORDS = {
    "due_on": "The due date",
    "completed_on": "The date it was completed",
    "received_at": "The date and time it was received",
    "duration_minutes": "The length of the call",
    "primary_theme": "The primary theme",
    "hr_contact": "The HR contact",
    "user_id": "The person",
    "support_suitable": "Whether the support is suitable",
    "reporter": "The person's details",
    "prefer_not_to_say": "\u201cprefer not to say\u201d",
}
_SNAKE = re.compile(r"\b[a-z]+(?:_[a-z]+)+\b")
_CODE = re.compile(r"\s*\((?:[^()]*`[^`]*`[^()]*)\)|`")


def plain(message: str) -> str:
    """A service's or schema's message in words a person reads: field names as words, no code."""
    text = _CODE.sub("", message.removeprefix("Value error, ")).strip()
    for name, words in FIELD_WORDS.items():
        if text.startswith(name + " ") or text.startswith(name + ":"):
            text = words + text[len(name):]
    text = _SNAKE.sub(lambda m: FIELD_WORDS[m.group(0)].lower() if m.group(0) in FIELD_WORDS
                      else m.group(0).replace("_", " "), text)
    if text.startswith("must "):
        text = "This " + text
    return text[:1].upper() + text[1:] if text else "Check this."




@dataclass
class FormErrors:
    """Field id -> message, in the order the fields appear on the page."""

    messages: dict[str, str] = field(default_factory=dict)

    def add(self, field_id: str, message: str) -> None:
        self.messages.setdefault(field_id, plain(message))

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


ERROR_PAGES: dict[int, tuple[str, str]] = {
    404: ("Page not found", "There is no page at this address. If you typed it, check it and try again."),
    405: ("This page cannot be used like that", "Go back to the page you came from and try again."),
    409: ("That could not be done just now", "Something else was happening at the same moment. Please try again."),
    413: ("Too much was sent", "What you sent is too long. Go back, shorten it and try again."),
    422: ("That could not be read", "Something in the address or the form was not as expected. Go back and try again."),
    429: ("Too many attempts", "Please wait a few minutes and try again."),
    500: ("Something went wrong", "Something went wrong on our side and nothing was saved. Please try again in a moment."),
}


def wants_html(request: Request) -> bool:
    """Whether the client prefers HTML to JSON (`curl`'s `*/*` does not); /api/ answers problem+json anyway."""
    if not is_page(request):
        return False
    html = json = 0.0
    for part in request.headers.get("accept", "").split(","):
        media, *params = [p.strip().lower() for p in part.split(";")]
        q = 1.0
        for param in params:
            if param.startswith("q="):
                try:
                    q = float(param[2:])
                except ValueError:
                    q = 0.0
        if media in ("text/html", "application/xhtml+xml"):
            html = max(html, q)
        elif media in ("application/json", "application/problem+json"):
            json = max(json, q)
    return html > 0 and html >= json


def _page_above(request: Request) -> str | None:
    """The nearest address above this one that answers GET."""
    parts = request.url.path.rstrip("/").split("/")
    while len(parts) > 1:
        parts.pop()
        candidate = "/".join(parts) or "/"
        scope = {**request.scope, "path": candidate, "method": "GET"}
        for route in request.app.router.routes:
            if hasattr(route, "matches"):
                match, _ = route.matches(scope)
                if match is Match.FULL:
                    return candidate
    return None


def page_error(request: Request, exc: AppError) -> Response | None:
    """A page's answer to an error (sign in, not for this role, an HTML error page), or None for problem+json."""
    if not is_page(request):
        return None
    if exc.status == 401:
        return RedirectResponse("/login", status_code=303)
    if exc.slug in RESTRICTED_SLUGS:
        # A one-time password to change, or two-factor sign-in to set up, comes first.
        return RedirectResponse("/staff/account", status_code=303)

    viewer = getattr(request.state, "viewer", None)
    if exc.status == 403:
        return render(request, "forbidden.html", {"user": viewer, "nav": nav_for(viewer), "viewer": viewer,
                                                  "here": ""}, status_code=403)
    if exc.status == 405 and request.method in ("GET", "HEAD"):
        # An address that only takes a form (kept from an error page, a bookmark): its page instead.
        page = _page_above(request)
        if page is not None:
            return RedirectResponse(page, status_code=303)
    if not wants_html(request):
        return None
    title, message = ERROR_PAGES.get(exc.status, (exc.title, exc.detail))
    path = request.url.path
    if path.startswith("/staff") or path.startswith("/dashboard"):
        back = _page_above(request) or (home_for(viewer.roles) if viewer else "/staff")
        response = render(request, "staff/error.html", {"title": title, "message": message, "back": back,
                                                        "viewer": viewer, "nav": nav_for(viewer), "here": ""},
                          status_code=exc.status)
    else:
        response = render(request, "error.html", {"title": title, "message": message}, status_code=exc.status)
    response.headers.update({k: v for k, v in exc.headers.items() if k.lower() != "www-authenticate"})
    return response


# --- forms that post at their page's address ------------------------------------------------------

_FORM_TARGET = re.compile(r"^/(?:staff|follow-up)(?:/[A-Za-z0-9_-]+)+$")


class FormAtPage:
    """A form posts to its page's own address with the action in `?form=`, so after a validation error
    the address bar still holds the page, which a reload or bookmark opens. Each route checks its own
    sign-in, role and CSRF token.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and b"form=" in scope.get("query_string", b""):
            query = urlsplit("?" + scope["query_string"].decode("latin-1")).query
            target = next((v for k, v in (p.partition("=")[::2] for p in query.split("&")) if k == "form"), "")
            target = target.replace("%2F", "/").replace("%2f", "/")
            if _FORM_TARGET.match(target):
                scope["path"] = target
                scope["raw_path"] = target.encode("ascii")
        await self.app(scope, receive, send)
