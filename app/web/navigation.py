"""The console's navigation: which pages each role sees, and where each user starts. Below both
the shared page helpers (the error pages link to the user's own pages) and the console."""

from __future__ import annotations

from app.api.dependencies import Viewer
from app.enums import Role

NAV: list[tuple[str, str, tuple[Role, ...]]] = [
    ("/staff/cases", "Cases", (Role.SAFEGUARDING, Role.HR)),
    ("/staff/check-ins", "Check-ins", (Role.SAFEGUARDING, Role.HR)),
    ("/staff/record", "Record a contact", (Role.SAFEGUARDING,)),
    ("/staff/reply-templates", "Reply templates", (Role.SAFEGUARDING,)),
    ("/dashboard", "Statistics", (Role.LEADERSHIP, Role.SAFEGUARDING, Role.ADMIN)),
    ("/staff/users", "Users", (Role.ADMIN,)),
    ("/staff/approvals", "Waiting for a second person", (Role.ADMIN, Role.SAFEGUARDING)),
    ("/staff/themes", "Themes", (Role.ADMIN,)),
    ("/staff/locations", "Locations", (Role.ADMIN,)),
    ("/staff/support-directory", "Support directory", (Role.ADMIN,)),
    ("/staff/account", "Your account", (Role.ADMIN, Role.SAFEGUARDING, Role.HR, Role.LEADERSHIP)),
]


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
