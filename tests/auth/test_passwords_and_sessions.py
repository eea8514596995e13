"""Changing one's password, the password rules, and one's own sessions."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.auth.conftest import login

NEW = "river lantern quietly"


def _change(client: TestClient, headers: dict[str, str], current: str, new: str) -> Any:
    return client.post("/api/v1/auth/password", json={"current_password": current, "new_password": new}, headers=headers)


def test_changing_the_password_ends_every_other_session(client: TestClient, make_staff: Any) -> None:
    staff = make_staff("hr")
    other = login(client, staff.email, staff.password).json()["token"]
    assert _change(client, staff.headers, staff.password, NEW).status_code == 204
    assert client.get("/api/v1/auth/me", headers=staff.headers).status_code == 200  # this one goes on
    assert client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {other}"}).status_code == 401
    assert login(client, staff.email, staff.password).status_code == 401
    assert login(client, staff.email, NEW).status_code == 200


def test_a_wrong_current_password_is_403_and_counted(client: TestClient, make_staff: Any) -> None:
    staff = make_staff("hr")
    for _ in range(5):
        r = _change(client, staff.headers, "not my password at all", NEW)
        assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json"
    # A stolen session cannot guess on: the sixth try waits, even with the right password.
    r = _change(client, staff.headers, staff.password, NEW)
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1


@pytest.mark.parametrize(
    ("new", "why"),
    [
        ("short pass", "at least 12"),
        ("password1234", "common"),
        ("1q2w3e4r5t6y", "common"),
        ("aaaaaaaaaaaaaaaa", "repeats"),
        ("SafeShare2026!", "word people try first"),
    ],
)
def test_a_new_password_must_be_long_and_not_common(client: TestClient, make_staff: Any, new: str, why: str) -> None:
    staff = make_staff("hr")
    r = _change(client, staff.headers, staff.password, new)
    assert r.status_code == 422
    error = r.json()["errors"][0]
    assert error["field"] == "new_password" and why in error["message"].lower().replace("characters", "")
    assert login(client, staff.email, staff.password).status_code == 200


def test_the_new_password_may_not_be_the_old_one_or_contain_the_email(client: TestClient, make_staff: Any) -> None:
    staff = make_staff("hr", email="robin.hood@example.org")
    assert _change(client, staff.headers, staff.password, staff.password).status_code == 422
    assert _change(client, staff.headers, staff.password, "robin.hood plus more words").status_code == 422


def test_accounts_are_created_with_a_password_that_is_not_common(client: TestClient, make_staff: Any) -> None:
    admin = make_staff("admin")
    body = {"email": "x@example.org", "name": "X", "roles": ["hr"], "password": "qwerty123456"}
    r = client.post("/api/v1/users", json=body, headers=admin.headers)
    assert (r.status_code, r.json()["errors"][0]["field"]) == (422, "password")


def test_sessions_are_listed_and_ended_by_their_owner(client: TestClient, make_staff: Any) -> None:
    staff, other = make_staff("leadership"), make_staff("leadership")
    second = login(client, staff.email, staff.password).json()["token"]
    listed = client.get("/api/v1/auth/sessions", headers=staff.headers)
    assert listed.status_code == 200
    rows = listed.json()
    assert len(rows) == 2 and [r["current"] for r in rows].count(True) == 1
    assert all(set(r) == {"id", "created_at", "last_seen_at", "current"} for r in rows)
    assert all(r["created_at"].endswith("Z") and r["last_seen_at"].endswith("Z") for r in rows)
    not_current = next(r["id"] for r in rows if not r["current"])
    # Nobody else can end it, nor learn that it exists.
    assert client.delete(f"/api/v1/auth/sessions/{not_current}", headers=other.headers).status_code == 404
    assert client.delete(f"/api/v1/auth/sessions/{not_current}", headers=staff.headers).status_code == 204
    assert client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {second}"}).status_code == 401
    assert client.delete(f"/api/v1/auth/sessions/{not_current}", headers=staff.headers).status_code == 404
    assert len(client.get("/api/v1/auth/sessions", headers=staff.headers).json()) == 1
