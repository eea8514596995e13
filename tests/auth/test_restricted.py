"""`totp_setup_required` and `password_change_required`: a token that may only clear them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app import clock
from tests.auth.conftest import REQUIRED, T0, code, login

pytestmark = pytest.mark.parametrize("settings_overrides", [REQUIRED])

ELSEWHERE = [
    ("GET", "/api/v1/users"),
    ("GET", "/api/v1/cases"),
    ("GET", "/api/v1/stats/themes"),
    ("GET", "/api/v1/auth/sessions"),
    ("GET", "/api/v1/audit"),
]


def _only_me_and_logout(client: TestClient, headers: dict[str, str], slug: str) -> None:
    for method, path in ELSEWHERE:
        r = client.request(method, path, headers=headers)
        assert r.status_code == 403 and r.json()["type"].endswith("/" + slug), (path, r.text)
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200


@pytest.mark.parametrize("role", ["admin", "safeguarding", "hr"])
def test_a_role_that_requires_2fa_may_only_set_it_up_first(
    client: TestClient, make_staff: Any, frozen: Any, settings_overrides: Any, role: str
) -> None:
    staff = make_staff(role)
    again = login(client, staff.email, staff.password)
    assert again.status_code == 200
    assert again.json()["totp_setup_required"] is True and again.json()["password_change_required"] is False
    me = client.get("/api/v1/auth/me", headers=staff.headers).json()
    assert me["totp_setup_required"] is True
    _only_me_and_logout(client, staff.headers, "totp-setup-required")
    secret = client.post("/api/v1/auth/totp/setup", headers=staff.headers).json()["secret"]
    assert client.post("/api/v1/auth/totp/confirm", json={"code": code(secret, T0)}, headers=staff.headers).status_code == 200
    # The same token is now a full one.
    assert client.get("/api/v1/auth/me", headers=staff.headers).json()["totp_setup_required"] is False
    assert client.get("/api/v1/auth/sessions", headers=staff.headers).status_code == 200
    clock.set_frozen(T0 + timedelta(seconds=30))
    r = login(client, staff.email, staff.password, code(secret, clock.now()))
    assert r.json()["totp_setup_required"] is False


def test_leadership_is_not_required_to_use_2fa(client: TestClient, make_staff: Any, settings_overrides: Any) -> None:
    staff = make_staff("leadership")
    assert client.get("/api/v1/stats/themes", headers=staff.headers).status_code == 200
    assert client.get("/api/v1/auth/me", headers=staff.headers).json()["totp_setup_required"] is False


def test_an_empty_setting_requires_2fa_of_nobody(app: Any, client: TestClient, make_staff: Any, settings: Any) -> None:
    from app.config import load_settings
    from app.main import create_app

    relaxed = create_app(load_settings(**{**settings.model_dump(), "require_2fa_roles": ""}))
    try:
        with TestClient(relaxed) as other:
            staff = make_staff("admin")
            assert other.get("/api/v1/users", headers=staff.headers).status_code == 200
    finally:
        relaxed.state.engine.dispose()


def test_a_one_time_password_must_be_changed_first_then_2fa_set_up(
    client: TestClient, make_staff: Any, frozen: Any, enable_totp: Any, settings_overrides: Any
) -> None:
    admin, hr, sg = make_staff("admin"), make_staff("hr"), make_staff("safeguarding")
    enable_totp(admin)
    enable_totp(sg)
    assert client.post(f"/api/v1/users/{hr.id}/password-reset", headers=admin.headers).status_code == 202
    one_time = client.post(f"/api/v1/users/{hr.id}/password-reset/confirm", headers=sg.headers).json()["one_time_password"]
    r = login(client, hr.email, one_time)
    assert r.status_code == 200
    body = r.json()
    assert body["password_change_required"] is True and body["totp_setup_required"] is True
    headers = {"Authorization": f"Bearer {body['token']}"}
    _only_me_and_logout(client, headers, "password-change-required")
    # Password first: the 2FA set-up waits.
    setup = client.post("/api/v1/auth/totp/setup", headers=headers)
    assert setup.status_code == 403 and setup.json()["type"].endswith("/password-change-required")
    new = {"current_password": one_time, "new_password": "my own new passphrase"}
    assert client.post("/api/v1/auth/password", json=new, headers=headers).status_code == 204
    me = client.get("/api/v1/auth/me", headers=headers).json()
    assert me["password_change_required"] is False and me["totp_setup_required"] is True
    # Now only the 2FA set-up, and a second password change is not what clears it.
    again = client.post("/api/v1/auth/password", json={"current_password": new["new_password"],
                                                       "new_password": "yet another passphrase"}, headers=headers)
    assert again.status_code == 403 and again.json()["type"].endswith("/totp-setup-required")
    assert client.post("/api/v1/auth/totp/setup", headers=headers).status_code == 200
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
