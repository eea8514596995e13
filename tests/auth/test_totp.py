"""Two-factor sign-in through the API: set-up, sign-in with a code, replay, drift, recovery codes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app import clock
from app.auth.models import RecoveryCode, User
from tests.auth.conftest import T0, code, login


def test_set_up_with_a_code_from_the_secret_then_sign_in_with_a_code(
    client: TestClient, make_staff: Any, frozen: Any
) -> None:
    staff = make_staff("leadership")
    setup = client.post("/api/v1/auth/totp/setup", headers=staff.headers)
    assert setup.status_code == 200
    secret, uri = setup.json()["secret"], setup.json()["otpauth_uri"]
    assert len(secret) >= 32 and uri.startswith("otpauth://totp/Safe%20Share:") and f"secret={secret}" in uri
    # Not active until confirmed: a password alone still signs in.
    assert login(client, staff.email, staff.password).status_code == 200
    confirm = client.post("/api/v1/auth/totp/confirm", json={"code": code(secret, T0)}, headers=staff.headers)
    assert confirm.status_code == 200
    codes = confirm.json()["recovery_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    me = client.get("/api/v1/auth/me", headers=staff.headers).json()
    assert me["totp_enabled"] is True
    clock.set_frozen(T0 + timedelta(seconds=30))
    r = login(client, staff.email, staff.password, code(secret, clock.now()))
    assert r.status_code == 200 and r.json()["token"].startswith("sst_")


def test_a_right_password_without_a_code_or_with_a_wrong_one_is_totp_required(
    client: TestClient, make_staff: Any, frozen: Any, enable_totp: Any
) -> None:
    staff = make_staff("hr")
    two = enable_totp(staff)
    missing = login(client, staff.email, staff.password)
    wrong = login(client, staff.email, staff.password, "000000" if code(two.secret, T0) != "000000" else "111111")
    for r in (missing, wrong):
        assert r.status_code == 401 and r.headers["content-type"] == "application/problem+json"
        assert r.json()["type"].endswith("/totp-required")
    # A wrong password says nothing about two-factor sign-in: the plain 401, as for an unknown e-mail.
    bad = login(client, staff.email, "not the password at all", code(two.secret, T0, 1))
    unknown = login(client, "nobody@example.org", "not the password at all")
    assert bad.status_code == unknown.status_code == 401 and bad.content == unknown.content
    assert bad.json()["type"].endswith("/unauthorized")


@pytest.mark.parametrize("totp", ["12345", "1234567", "abcdef", "ABCD-EFGH-JKMN", "ABCD-EFGH-JKMN-PQRS-TVWX", "", "x" * 65])
def test_a_code_of_the_wrong_shape_is_422_whatever_the_password(client: TestClient, make_staff: Any, totp: str) -> None:
    staff = make_staff("hr")
    for password in (staff.password, "not the password at all"):
        r = login(client, staff.email, password, totp)
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "totp"


def test_a_code_is_accepted_once(client: TestClient, make_staff: Any, frozen: Any, enable_totp: Any) -> None:
    staff = make_staff("safeguarding")
    two = enable_totp(staff)
    clock.set_frozen(T0 + timedelta(seconds=30))
    now = code(two.secret, clock.now())
    assert login(client, staff.email, staff.password, now).status_code == 200
    replay = login(client, staff.email, staff.password, now)
    assert replay.status_code == 401 and replay.json()["type"].endswith("/totp-required")
    # Still refused in the next step, while it is within the drift window.
    clock.set_frozen(T0 + timedelta(seconds=60))
    assert login(client, staff.email, staff.password, now).status_code == 401
    # The next code works, but then an older one (still within drift) does not.
    clock.set_frozen(T0 + timedelta(seconds=90))
    assert login(client, staff.email, staff.password, code(two.secret, clock.now(), 1)).status_code == 200
    assert login(client, staff.email, staff.password, code(two.secret, clock.now())).status_code == 401


@pytest.mark.parametrize(("steps", "accepted"), [(-2, False), (-1, True), (0, True), (1, True), (2, False)])
def test_clock_drift_of_one_step_is_accepted_and_two_refused(
    client: TestClient, make_staff: Any, frozen: Any, enable_totp: Any, steps: int, accepted: bool
) -> None:
    staff = make_staff("hr")
    two = enable_totp(staff)
    clock.set_frozen(T0 + timedelta(minutes=5))
    r = login(client, staff.email, staff.password, code(two.secret, clock.now(), steps))
    assert (r.status_code == 200) is accepted, r.text


def test_a_recovery_code_works_once_in_any_case_and_spacing(
    client: TestClient, make_staff: Any, frozen: Any, enable_totp: Any
) -> None:
    staff = make_staff("admin")
    two = enable_totp(staff)
    typed = " " + two.recovery_codes[3].lower().replace("-", " ") + " "
    assert login(client, staff.email, staff.password, typed).status_code == 200
    again = login(client, staff.email, staff.password, two.recovery_codes[3])
    assert again.status_code == 401 and again.json()["type"].endswith("/totp-required")
    assert login(client, staff.email, staff.password, two.recovery_codes[4]).status_code == 200


def test_secret_and_recovery_codes_are_not_stored_in_clear(
    client: TestClient, make_staff: Any, frozen: Any, enable_totp: Any, db: Any
) -> None:
    staff = make_staff("hr")
    two = enable_totp(staff)
    db.rollback()
    user = db.scalar(select(User).where(User.email == staff.email))
    assert user.totp_secret_ct is not None and two.secret.encode() not in user.totp_secret_ct
    hashes = list(db.scalars(select(RecoveryCode.code_hash).where(RecoveryCode.user_id == user.id)))
    assert len(hashes) == 10
    for recovery in two.recovery_codes:
        assert all(recovery.replace("-", "").encode() not in h and recovery.encode() not in h for h in hashes)
    db.rollback()


def test_setting_up_again_while_on_is_409(client: TestClient, make_staff: Any, frozen: Any, enable_totp: Any) -> None:
    staff = make_staff("leadership")
    two = enable_totp(staff)
    r = client.post("/api/v1/auth/totp/setup", headers=staff.headers)
    assert r.status_code == 409
    # The authenticator in use did not change.
    clock.set_frozen(T0 + timedelta(seconds=30))
    assert login(client, staff.email, staff.password, code(two.secret, clock.now())).status_code == 200


def test_confirm_needs_a_set_up_and_the_right_code(client: TestClient, make_staff: Any, frozen: Any) -> None:
    staff = make_staff("leadership")
    assert client.post("/api/v1/auth/totp/confirm", json={"code": "123456"}, headers=staff.headers).status_code == 409
    secret = client.post("/api/v1/auth/totp/setup", headers=staff.headers).json()["secret"]
    wrong = code(secret, T0, 5)
    r = client.post("/api/v1/auth/totp/confirm", json={"code": wrong}, headers=staff.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "code"
    assert client.get("/api/v1/auth/me", headers=staff.headers).json()["totp_enabled"] is False


def test_wrong_codes_count_as_failed_sign_ins(client: TestClient, make_staff: Any, frozen: Any, enable_totp: Any) -> None:
    staff = make_staff("hr")  # the client holds this account's device cookie: its own bucket, 5 free failures
    two = enable_totp(staff)
    wrong = next(c for c in ("111111", "222222") if c not in {code(two.secret, T0, s) for s in (-1, 0, 1)})
    for _ in range(5):
        assert login(client, staff.email, staff.password, wrong).status_code == 401
    r = login(client, staff.email, staff.password, code(two.secret, T0, 1))
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1


def test_turning_it_off_needs_a_code(client: TestClient, make_staff: Any, frozen: Any, enable_totp: Any) -> None:
    staff = make_staff("leadership")
    two = enable_totp(staff)
    assert client.request("DELETE", "/api/v1/auth/totp", json={"code": "12"}, headers=staff.headers).status_code == 422
    wrong = client.request("DELETE", "/api/v1/auth/totp", json={"code": two.recovery_codes[0][::-1]}, headers=staff.headers)
    assert wrong.status_code == 403
    ok = client.request("DELETE", "/api/v1/auth/totp", json={"code": two.recovery_codes[0]}, headers=staff.headers)
    assert ok.status_code == 204
    assert login(client, staff.email, staff.password).status_code == 200
    assert client.request("DELETE", "/api/v1/auth/totp", json={"code": "123456"}, headers=staff.headers).status_code == 409


@pytest.mark.parametrize("settings_overrides", [{"require_2fa_roles": "admin,safeguarding,hr"}])
def test_a_role_that_requires_it_cannot_turn_it_off(
    client: TestClient, make_staff: Any, frozen: Any, enable_totp: Any, settings_overrides: Any
) -> None:
    staff = make_staff("safeguarding")
    two = enable_totp(staff)
    r = client.request("DELETE", "/api/v1/auth/totp", json={"code": code(two.secret, T0, 1)}, headers=staff.headers)
    assert r.status_code == 409
    assert client.get("/api/v1/auth/me", headers=staff.headers).json()["totp_enabled"] is True
