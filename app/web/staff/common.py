"""What every console page shares: the layout context, CSRF on forms, notices and form errors.

The console's routes take the API's own dependencies (`app.api.dependencies`): the same user, the
same roles, the same case loaded *and* authorised, and they call the same services and flows,
so a page writes the same audit entries and can never do more than its API twin.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from app.api.dependencies import Viewer
from app.enums import Role
from app.web.pages import FormErrors, csrf_ok, form_expired, render

NAV: list[tuple[str, str, tuple[Role, ...]]] = [
    ("/staff/cases", "Cases", (Role.SAFEGUARDING, Role.HR)),
    ("/staff/check-ins", "Check-ins", (Role.SAFEGUARDING, Role.HR)),
    ("/staff/record", "Record a contact", (Role.SAFEGUARDING,)),
    ("/dashboard", "Statistics", (Role.LEADERSHIP, Role.SAFEGUARDING, Role.ADMIN)),
    ("/staff/users", "Users", (Role.ADMIN,)),
    ("/staff/approvals", "Waiting for a second person", (Role.ADMIN, Role.SAFEGUARDING)),
    ("/staff/themes", "Themes", (Role.ADMIN,)),
    ("/staff/locations", "Locations", (Role.ADMIN,)),
    ("/staff/account", "Your account", (Role.ADMIN, Role.SAFEGUARDING, Role.HR, Role.LEADERSHIP)),
]


def viewer(request: Request) -> Viewer | None:
    found = getattr(request.state, "viewer", None)
    return found if isinstance(found, Viewer) else None


def home_for(roles: tuple[Role, ...] | list[Role]) -> str:
    """Where a staff user starts: their cases, their accounts page, or the statistics."""
    if Role.SAFEGUARDING in roles or Role.HR in roles:
        return "/staff/cases"
    if Role.ADMIN in roles:
        return "/staff/users"
    return "/dashboard"


def nav_for(who: Viewer | None) -> list[tuple[str, str]]:
    if who is None:
        return []
    return [(href, label) for href, label, roles in NAV if any(r in who.roles for r in roles)]


def staff_page(request: Request, name: str, ctx: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    """A console page: the signed-in user and their navigation come with every page."""
    who = viewer(request)
    return render(request, name, {"viewer": who, "nav": nav_for(who), "here": request.url.path, **ctx},
                  status_code=status_code)


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
    "bool_parsing": "Choose yes or no.",
    "datetime_from_date_parsing": "Enter a date and time.",
    "value_error": "Check this.",
}


def schema_errors(exc: ValidationError, errors: FormErrors, *, prefix: str, fallback: str) -> None:
    """A schema's complaints as messages beside the form's fields (`<prefix>-<field>`)."""
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if not isinstance(p, int)]
        field = f"{prefix}-{loc[0]}" if loc else f"{prefix}-{fallback}"
        kind = str(err.get("type", ""))
        message = FRIENDLY.get(kind) or str(err.get("msg", "Check this.")).removeprefix("Value error, ")
        if kind == "string_too_long":
            limit = (err.get("ctx") or {}).get("max_length")
            message = f"This is too long: at most {limit:,} characters." if limit else message
        errors.add(field, message)
