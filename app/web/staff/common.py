"""What every console page shares: the layout context, CSRF on forms, notices and form errors."""

from __future__ import annotations

import math
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from app.errors import TooManyRequests
from app.http.users import Viewer
from app.web.navigation import nav_for
from app.web.pages import FormErrors, csrf_ok, form_expired, plain, render


def viewer(request: Request) -> Viewer | None:
    found = getattr(request.state, "viewer", None)
    return found if isinstance(found, Viewer) else None


def staff_page(request: Request, name: str, ctx: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    """A console page: the signed-in user and their navigation come with every page."""
    who = viewer(request)
    return render(request, name, {"viewer": who, "nav": nav_for(who), "here": request.url.path, **ctx},
                  status_code=status_code)


def wait_message(exc: TooManyRequests) -> str:
    """A throttled form's message, from the 429's `Retry-After`."""
    seconds = int(exc.headers.get("Retry-After", "60"))
    if seconds < 90:
        return f"Too many attempts. Please wait {seconds} seconds and try again."
    minutes = math.ceil(seconds / 60)
    return f"Too many attempts. Please wait {minutes} minutes and try again."


def csrf_refused(request: Request, token: str, back: str) -> HTMLResponse | None:
    """The "form expired" page for a forged or stale form, or None if the token is good."""
    return None if csrf_ok(request, token) else form_expired(request, back)


def done(url: str, key: str, anchor: str = "") -> RedirectResponse:
    """After a successful form: back to the page (303, so a reload does not post again), with a notice."""
    sep = "&" if "?" in url else "?"
    return RedirectResponse(f"{url}{sep}done={key}{'#' + anchor if anchor else ''}", status_code=303)


FRIENDLY = {
    "string_too_short": "Write something here.",
    "missing": "Fill this in.",
    "string_too_long": "This is too long.",
    "enum": "Choose one of the options.",
    "literal_error": "Choose one of the options.",
    "uuid_parsing": "Choose someone from the list.",
    "uuid_type": "Choose someone from the list.",
    "bool_parsing": "Choose yes or no.",
    "bool_type": "Choose yes or no.",
    "datetime_from_date_parsing": "Enter a date and time.",
    "datetime_parsing": "Enter a date and time.",
    "datetime_type": "Enter a date and time.",
    "date_parsing": "Enter a date.",
    "date_from_datetime_parsing": "Enter a date.",
    "date_type": "Enter a date.",
    "int_parsing": "Enter a whole number.",
    "int_type": "Enter a whole number.",
    "int_from_float": "Enter a whole number.",
    "too_short": "Choose at least one.",
    "too_long": "Choose fewer of these.",
    "list_type": "Choose from the list.",
    "string_pattern_mismatch": "Check how this is written.",
    "string_type": "Fill this in.",
    "extra_forbidden": "This was not expected here.",
}
def schema_errors(exc: ValidationError, errors: FormErrors, *, prefix: str, fallback: str) -> None:
    """A schema's complaints as messages beside the form's fields (`<prefix>-<field>`), in plain
    words: a validator's own phrasing ("Input should be ...") never reaches a page."""
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if not isinstance(p, int)]
        field = f"{prefix}-{loc[0]}" if loc else f"{prefix}-{fallback}"
        kind = str(err.get("type", ""))
        ctx = err.get("ctx") or {}
        if kind == "string_too_long" and ctx.get("max_length"):
            message = f"This is too long: at most {ctx['max_length']:,} characters."
        elif kind == "string_too_short" and (ctx.get("min_length") or 0) > 1:
            message = f"Use at least {ctx['min_length']} characters."
        elif kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
            message = "Enter a number in the range allowed."
        elif kind in ("value_error", "assertion_error"):
            message = plain(str(err.get("msg", "")))
        else:
            message = FRIENDLY.get(kind, "Check this.")
        errors.add(field, message)
