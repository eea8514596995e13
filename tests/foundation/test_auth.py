"""Staff sign-in: tokens, failures that reveal nothing, throttling across processes, expiry, logout, rehash."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from argon2 import extract_parameters
from fastapi.testclient import TestClient
from sqlalchemy import select

from app import clock
from app.auth.models import StaffSession, User
from app.config import load_settings
from app.main import create_app

PASSWORD = "correct horse battery staple"
LOGIN = "/api/v1/auth/login"
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"login_max_failures": 3, "throttle_max_delay_seconds": 600}


@pytest.fixture
def frozen() -> Iterator[None]:
    clock.set_frozen(T0)
    yield
    clock.set_frozen(None)


def _login(client: TestClient, email: str, password: str = PASSWORD) -> Any:
    return client.post(LOGIN, json={"email": email, "password": password})


def test_login_returns_token_expiry_and_user(client: TestClient, make_staff: Any, frozen: None) -> None:
    staff = make_staff("safeguarding", "hr", name="Robin")
    r = _login(client, staff.email.upper())  # e-mail addresses are not case-sensitive
    assert r.status_code == 200
    body = r.json()
    assert body["token"].startswith("sst_") and len(body["token"]) > 40
    assert body["expires_at"] == "2026-03-02T18:00:00Z"  # 480 minutes by default
    assert body["user"]["email"] == staff.email and body["user"]["name"] == "Robin"
    assert sorted(body["user"]["roles"]) == ["hr", "safeguarding"]
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200 and me.json()["id"] == staff.id


def test_token_is_stored_only_as_a_hash(client: TestClient, make_staff: Any, db: Any) -> None:
    staff = make_staff("admin")
    stored = [s.token_hash for s in db.scalars(select(StaffSession))]
    assert stored and all(staff.token.encode() not in h and len(h) == 32 for h in stored)


def test_unknown_email_and_wrong_password_give_identical_401(client: TestClient, make_staff: Any) -> None:
    staff = make_staff("admin")
    wrong = _login(client, staff.email, "not the password at all")
    unknown = _login(client, "nobody@example.org", "not the password at all")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.content == unknown.content
    assert wrong.headers["content-type"] == "application/problem+json"


def test_deactivated_account_cannot_log_in_and_says_no_more(client: TestClient, make_staff: Any) -> None:
    admin, other = make_staff("admin"), make_staff("hr")
    client.patch(f"/api/v1/users/{other.id}", json={"active": False}, headers=admin.headers)
    r = _login(client, other.email)
    assert r.status_code == 401
    assert r.content == _login(client, "nobody@example.org", "whatever-password").content


def test_repeated_failures_give_429_with_retry_after(client: TestClient, make_staff: Any, frozen: None) -> None:
    staff = make_staff("admin")
    for _ in range(3):
        assert _login(client, staff.email, "wrong password!!").status_code == 401
    r = _login(client, staff.email)  # even the right password is refused now
    assert r.status_code == 429
    assert r.headers["content-type"] == "application/problem+json"
    assert 1 <= int(r.headers["retry-after"]) <= 600


def test_unknown_email_is_throttled_just_like_a_real_one(client: TestClient) -> None:
    for _ in range(3):
        assert _login(client, "ghost@example.org", "wrong password!!").status_code == 401
    assert _login(client, "ghost@example.org", "wrong password!!").status_code == 429


def test_failures_through_another_server_process_count(
    client: TestClient, make_staff: Any, settings: Any
) -> None:
    staff = make_staff("admin")
    client.cookies.clear()  # a client that has not signed in before: the account's bucket applies
    second = create_app(settings)  # a second worker on the same database
    try:
        with TestClient(second, raise_server_exceptions=False) as other:
            assert _login(other, staff.email, "wrong password!!").status_code == 401
            assert _login(other, staff.email, "wrong password!!").status_code == 401
        assert _login(client, staff.email, "wrong password!!").status_code == 401
        assert _login(client, staff.email).status_code == 429
    finally:
        second.state.engine.dispose()


def test_each_further_failure_doubles_the_wait_up_to_the_longest(client: TestClient, make_staff: Any, frozen: None) -> None:
    staff = make_staff("admin")
    client.cookies.clear()
    for _ in range(3):  # the free allowance
        assert _login(client, staff.email, "wrong password!!").status_code == 401
    now, waits = T0, []
    for _ in range(12):
        r = _login(client, staff.email, "wrong password!!")
        assert r.status_code == 429
        wait = int(r.headers["retry-after"])
        waits.append(wait)
        now += timedelta(seconds=wait - 1)
        clock.set_frozen(now)
        assert _login(client, staff.email, "wrong password!!").status_code == 429  # a second early
        now += timedelta(seconds=1)
        clock.set_frozen(now)
        assert _login(client, staff.email, "wrong password!!").status_code == 401  # counted: the next wait doubles
    assert waits == [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 600, 600]


def test_failures_are_forgotten_after_a_window_without_any(
    client: TestClient, make_staff: Any, settings: Any, frozen: None
) -> None:
    staff = make_staff("admin")
    client.cookies.clear()
    for _ in range(3):
        _login(client, staff.email, "wrong password!!")
    assert _login(client, staff.email).status_code == 429
    clock.set_frozen(T0 + timedelta(seconds=settings.throttle_window_seconds + 1))
    for _ in range(3):  # a fresh allowance
        assert _login(client, staff.email, "wrong password!!").status_code == 401
    clock.set_frozen(T0 + timedelta(seconds=settings.throttle_window_seconds + 2))
    assert _login(client, staff.email).status_code == 200


def test_success_clears_the_account_failures(client: TestClient, make_staff: Any) -> None:
    staff = make_staff("admin")
    for _ in range(2):
        _login(client, staff.email, "wrong password!!")
    assert _login(client, staff.email).status_code == 200
    for _ in range(2):
        _login(client, staff.email, "wrong password!!")
    assert _login(client, staff.email).status_code == 200


def test_token_expires_even_when_in_use(client: TestClient, make_staff: Any, settings: Any, frozen: None) -> None:
    staff = make_staff("admin")
    lifetime = timedelta(minutes=settings.staff_token_minutes)
    step = timedelta(minutes=settings.staff_idle_minutes - 1)  # used often enough never to go idle
    at = T0
    while at + step < T0 + lifetime:
        at += step
        clock.set_frozen(at)
        assert client.get("/api/v1/auth/me", headers=staff.headers).status_code == 200
    clock.set_frozen(T0 + lifetime - timedelta(seconds=1))
    assert client.get("/api/v1/auth/me", headers=staff.headers).status_code == 200
    clock.set_frozen(T0 + timedelta(minutes=settings.staff_token_minutes))
    r = client.get("/api/v1/auth/me", headers=staff.headers)
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"


def test_logout_revokes_the_token(client: TestClient, make_staff: Any) -> None:
    staff = make_staff("admin")
    assert client.post("/api/v1/auth/logout", headers=staff.headers).status_code == 204
    assert client.get("/api/v1/auth/me", headers=staff.headers).status_code == 401
    assert client.post("/api/v1/auth/logout", headers=staff.headers).status_code == 401


def test_logout_ends_only_that_session(client: TestClient, make_staff: Any) -> None:
    staff = make_staff("admin")
    second = _login(client, staff.email).json()["token"]
    client.post("/api/v1/auth/logout", headers=staff.headers)
    assert client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {second}"}).status_code == 200


def test_deactivated_users_token_stops_working(client: TestClient, make_staff: Any) -> None:
    admin, hr = make_staff("admin"), make_staff("hr")
    assert client.get("/api/v1/auth/me", headers=hr.headers).status_code == 200
    assert client.patch(f"/api/v1/users/{hr.id}", json={"active": False}, headers=admin.headers).status_code == 200
    assert client.get("/api/v1/auth/me", headers=hr.headers).status_code == 401
    # Reactivating does not bring the old session back.
    client.patch(f"/api/v1/users/{hr.id}", json={"active": True}, headers=admin.headers)
    assert client.get("/api/v1/auth/me", headers=hr.headers).status_code == 401


@pytest.mark.parametrize(
    "header",
    [
        "Bearer garbage",
        "Bearer sst_" + "A" * 43,
        "Bearer ssr_" + "A" * 43,  # looks like a reporter token
        "Basic dXNlcjpwYXNz",
        "Bearer ",
        "sst_AAAA",
    ],
    ids=["garbage", "unknown-staff-token", "reporter-token", "basic-auth", "empty", "no-scheme"],
)
def test_bad_bearer_is_401(client: TestClient, header: str) -> None:
    r = client.get("/api/v1/auth/me", headers={"Authorization": header})
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"


def test_password_rehashed_on_login_when_parameters_change(
    client: TestClient, make_staff: Any, settings: Any, db: Any
) -> None:
    staff = make_staff("admin")
    before = db.scalar(select(User.password_hash).where(User.email == staff.email))
    db.rollback()
    assert extract_parameters(before).time_cost == 1
    stronger = load_settings(**{**settings.model_dump(), "argon2_time_cost": 2, "argon2_memory_kib": 16})
    upgraded = create_app(stronger)
    try:
        with TestClient(upgraded) as other:
            assert _login(other, staff.email).status_code == 200
        after = db.scalar(select(User.password_hash).where(User.email == staff.email))
        params = extract_parameters(after)
        assert (params.time_cost, params.memory_cost) == (2, 16) and after != before
        # The old instance still verifies the new hash.
        db.rollback()
        assert _login(client, staff.email).status_code == 200
    finally:
        upgraded.state.engine.dispose()


def test_default_argon2_parameters_meet_owasp() -> None:
    s = load_settings()
    assert s.argon2_memory_kib >= 19 * 1024 and s.argon2_time_cost >= 2


def test_one_client_trying_many_accounts_is_throttled(client: TestClient) -> None:
    # The client bucket allows four times the per-account limit (3 here), then 429 for any e-mail.
    for i in range(12):
        assert _login(client, f"guess{i}@example.org", "wrong password!!").status_code == 401
    assert _login(client, "fresh@example.org", "wrong password!!").status_code == 429


def test_another_client_is_not_slowed_by_someone_elses_failures(app: Any, client: TestClient) -> None:
    for i in range(12):
        _login(client, f"guess{i}@example.org", "wrong password!!")
    with TestClient(app, client=("198.51.100.20", 4000)) as elsewhere:
        assert _login(elsewhere, "fresh@example.org", "wrong password!!").status_code == 401
