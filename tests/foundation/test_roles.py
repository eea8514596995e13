"""Who may call each admin endpoint: the full matrix of roles, plus no token at all."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

# (method, path, body); "{self}" is the caller's own user id.
ENDPOINTS = {
    # Safeguarding may list the HR contacts (test_listing_hr_contacts); any other list is admin only.
    "list-users": ("GET", "/api/v1/users?role=admin", None),
    "create-user": ("POST", "/api/v1/users",
                    {"email": "new.person@example.org", "name": "New Person", "roles": ["hr"],
                     "password": "a long enough password"}),
    "update-user": ("PATCH", "/api/v1/users/{self}", {"name": "Renamed"}),
    "create-theme": ("POST", "/api/v1/themes", {"slug": "car_parking", "name": "Car parking"}),
    "update-theme": ("PATCH", "/api/v1/themes/gambling", {"description": "Betting and gaming."}),
    "list-audit": ("GET", "/api/v1/audit", None),
    "verify-audit": ("GET", "/api/v1/audit/verify", None),
}
EXPECTED_OK = {"GET": 200, "POST": 201, "PATCH": 200}
ROLES = {"admin": None, "safeguarding": 403, "hr": 403, "leadership": 403, "no-token": 401}


def _call(client: TestClient, endpoint: str, headers: dict[str, str], self_id: str) -> Any:
    method, path, body = ENDPOINTS[endpoint]
    return client.request(method, path.replace("{self}", self_id), json=body, headers=headers)


@pytest.mark.parametrize("role", list(ROLES))
@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_admin_endpoint_role_matrix(client: TestClient, make_staff: Any, endpoint: str, role: str) -> None:
    if role == "no-token":
        headers, self_id = {}, "00000000-0000-0000-0000-000000000000"
    else:
        staff = make_staff(role)
        headers, self_id = staff.headers, staff.id
    r = _call(client, endpoint, headers, self_id)
    expected = ROLES[role] or EXPECTED_OK[ENDPOINTS[endpoint][0]]
    assert r.status_code == expected, r.text
    if expected >= 400:
        assert r.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("role", "query", "expected"),
    [
        ("safeguarding", "?role=hr", 200),
        ("safeguarding", "?role=admin", 403),
        ("safeguarding", "", 200),  # their list is the HR contacts
        ("hr", "?role=hr", 403),
        ("leadership", "?role=hr", 403),
        ("admin", "?role=hr", 200),
    ],
)
def test_listing_hr_contacts(client: TestClient, make_staff: Any, role: str, query: str, expected: int) -> None:
    hr = make_staff("hr")
    caller = make_staff(role)
    r = client.get(f"/api/v1/users{query}", headers=caller.headers)
    assert r.status_code == expected
    if expected == 200 and (query == "?role=hr" or role == "safeguarding"):
        assert [u["id"] for u in r.json()] == [hr.id]


def test_forbidden_write_changes_nothing(client: TestClient, make_staff: Any) -> None:
    admin, hr = make_staff("admin"), make_staff("hr")
    r = _call(client, "create-theme", hr.headers, hr.id)
    assert r.status_code == 403
    slugs = [t["slug"] for t in client.get("/api/v1/themes").json()]
    assert "car_parking" not in slugs
    actions = [e["action"] for e in client.get("/api/v1/audit", headers=admin.headers).json()["items"]]
    assert "theme.create" not in actions
