"""The permission table is complete, and the console's landing page and navigation follow it."""

from __future__ import annotations

import pytest

from app.auth.permissions import PERMISSIONS, ROLES, Capability, may
from app.config import STAFF_ROLES
from app.enums import Role
from app.web.navigation import NAV, home_for


def test_every_capability_and_every_role_is_in_the_table() -> None:
    assert set(PERMISSIONS) == set(Capability)
    assert set(ROLES) == set(Role)
    assert PERMISSIONS[Capability.OWN_ACCOUNT] == frozenset(Role)
    assert frozenset(r.value for r in Role) == STAFF_ROLES  # what SAFESHARE_REQUIRE_2FA_ROLES accepts


@pytest.mark.parametrize(("roles", "home"), [
    ((Role.SAFEGUARDING,), "/staff/cases"),
    ((Role.HR,), "/staff/cases"),
    ((Role.ADMIN,), "/staff/users"),
    ((Role.LEADERSHIP,), "/dashboard"),
    ((Role.ADMIN, Role.HR), "/staff/cases"),
])
def test_each_role_starts_on_its_own_page(roles: tuple[Role, ...], home: str) -> None:
    assert home_for(roles) == home


def test_leadership_sees_statistics_and_its_account_only() -> None:
    assert [label for _, label, c in NAV if may([Role.LEADERSHIP], c)] == ["Statistics", "Your account"]
