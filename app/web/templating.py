"""Jinja2 set-up and the CSRF protection shared by every HTML form.

CSRF uses the double-submit pattern: a random token in a `SameSite=Strict`, HttpOnly cookie and
the same token in a hidden form field, compared in constant time. No JavaScript is involved.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from app import clock
from app.web import TEMPLATES_DIR

templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
templates.env.globals["rfc3339"] = clock.rfc3339

CSRF_COOKIE = "ss_csrf"
CSRF_FIELD = "csrf_token"


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


def render(request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200) -> HTMLResponse:
    ctx = {"request": request, "settings": request.app.state.settings, "csrf_token": csrf_token(request)}
    ctx.update(context or {})
    response = templates.TemplateResponse(request, name, ctx, status_code=status_code)
    new = getattr(request.state, "new_csrf", None)
    if new:
        response.set_cookie(CSRF_COOKIE, new, httponly=True, samesite="strict", secure=request.url.scheme == "https", path="/")
    return response
