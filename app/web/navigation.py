"""The console's navigation and each user's landing page, by capability."""

from __future__ import annotations

from collections.abc import Iterable

from app.auth.permissions import Capability, may
from app.enums import Role
from app.http.users import Viewer

C = Capability
NAV: list[tuple[str, str, Capability]] = [
    ("/staff/cases", "Cases", C.WORK_ON_CASES),
    ("/staff/check-ins", "Check-ins", C.WORK_ON_CASES),
    ("/staff/record", "Record a contact", C.READ_EVERY_CASE),
    ("/staff/reply-templates", "Reply templates", C.READ_EVERY_CASE),
    ("/dashboard", "Statistics", C.READ_STATISTICS),
    ("/staff/users", "Users", C.ADMINISTER),
    ("/staff/approvals", "Waiting for a second person", C.SEE_APPROVALS),
    ("/staff/themes", "Themes", C.ADMINISTER),
    ("/staff/locations", "Locations", C.ADMINISTER),
    ("/staff/support-directory", "Support directory", C.ADMINISTER),
    ("/staff/account", "Your account", C.OWN_ACCOUNT),
]

# Where a user starts: the first of these their roles allow.
HOMES: list[tuple[Capability, str]] = [
    (C.WORK_ON_CASES, "/staff/cases"),
    (C.ADMINISTER, "/staff/users"),
]
DEFAULT_HOME = "/dashboard"


def home_for(roles: Iterable[Role]) -> str:
    """Where a staff user starts: their cases, their accounts page, or the statistics."""
    held = list(roles)
    return next((path for capability, path in HOMES if may(held, capability)), DEFAULT_HOME)


def nav_for(who: Viewer | None) -> list[tuple[str, str]]:
    if who is None:
        return []
    return [(href, label) for href, label, capability in NAV if who.may(capability)]
