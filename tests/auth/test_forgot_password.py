"""A forgotten password set again by its owner with their recovery key and second factor, nobody else
involved (issue 27): the key pair and its case keys stay, the recovery key is replaced, sessions end."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from tests.auth.conftest import TwoFactor, login
from tests.cases.test_keys_people_hold import _seal

RECOVER = "/api/v1/auth/password/recover"
NEW_PASSWORD = "lantern orchard quietly seventeen"
CONCERN = "The watch manager keeps the overtime sheets locked away and changes them afterwards."


@dataclass
class Owner:
    staff: Any
    recovery_key: str
    two_factor: TwoFactor


@pytest.fixture
def owner(client: TestClient, make_staff: Any, enable_totp: Any, frozen: Any) -> Owner:
    """A safeguarding user with a key pair, two-factor sign-in and the recovery key they kept."""
    staff = make_staff("safeguarding")
    r = client.post("/api/v1/auth/recovery-key", headers=staff.headers)
    assert r.status_code == 200, r.text
    return Owner(staff, r.json()["recovery_key"], enable_totp(staff))


def _raw(app: Any, sql: str) -> list[tuple[Any, ...]]:
    with app.state.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql))]


def _body(owner: Owner, **kw: Any) -> dict[str, Any]:
    return {"email": owner.staff.email, "recovery_key": owner.recovery_key, "totp": owner.two_factor.recovery_codes[0],
            "new_password": NEW_PASSWORD, **kw}


def test_the_recovery_key_and_a_code_set_a_new_password_and_keep_every_case(
    app: Any, client: TestClient, owner: Owner, mail: Any, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    made = client.post("/api/v1/reports", json={"description": CONCERN})
    assert made.status_code == 201
    _seal(app, owner.staff.email, owner.staff.password)  # no master wrap left: only people's keys open the case
    mail.clear()
    codes = owner.two_factor.recovery_codes

    r = client.post(RECOVER, json=_body(owner))
    assert r.status_code == 200, r.text
    new_key = r.json()["recovery_key"]
    assert new_key != owner.recovery_key

    assert client.get("/api/v1/auth/me", headers=owner.staff.headers).status_code == 401  # sessions ended
    assert _raw(app, "SELECT count(*) FROM device_cookies") == [(0,)]
    assert login(client, owner.staff.email, owner.staff.password, codes[1]).status_code == 401
    signed_in = login(client, owner.staff.email, NEW_PASSWORD, codes[1])
    assert signed_in.status_code == 200, signed_in.text
    headers = {"Authorization": f"Bearer {signed_in.json()['token']}"}
    case_id = client.get("/api/v1/cases", headers=headers).json()["items"][0]["id"]
    case = client.get(f"/api/v1/cases/{case_id}", headers=headers).json()
    assert case["content_access"] is True and case["description"] == CONCERN

    # The used recovery key is dead; the new one opens the key pair.
    again = client.post(RECOVER, json=_body(owner, totp=codes[2], new_password="a second new password here"))
    assert again.status_code == 403 and again.json()["type"] == "/problems/recovery-refused"
    assert _raw(app, "SELECT count(*) FROM audit_events WHERE action = 'auth.password.recovered'") == [(1,)]
    told = [n for n in mail if n.kind == "password_recovered"]
    assert len(told) == 1 and owner.staff.email in told[0].to
    logged = "\n".join(f"{r.name} {r.getMessage()} {r.args!r} {vars(r)!r}" for r in caplog.records)
    for secret in (owner.recovery_key, new_key, NEW_PASSWORD, codes[0], codes[1]):
        assert secret not in logged and secret.replace("-", "") not in logged


def test_a_wrong_recovery_key_and_an_unknown_address_get_one_answer_and_change_nothing(
    app: Any, client: TestClient, owner: Owner, make_staff: Any,
) -> None:
    keys_before = _raw(app, "SELECT by_password, by_recovery FROM person_keys")
    wrong = client.post(RECOVER, json=_body(owner, recovery_key="0" * 26))
    unknown = client.post(RECOVER, json=_body(owner, email="nobody-here@example.org"))
    no_key_pair = make_staff("admin")  # administrators hold no key pair
    keyless = client.post(RECOVER, json=_body(owner, email=no_key_pair.email))
    assert wrong.status_code == unknown.status_code == keyless.status_code == 403
    assert wrong.json() == unknown.json() == keyless.json()
    assert wrong.json()["type"] == "/problems/recovery-refused"
    assert _raw(app, "SELECT by_password, by_recovery FROM person_keys") == keys_before
    assert client.get("/api/v1/auth/me", headers=owner.staff.headers).status_code == 200  # nothing ended
    assert _raw(app, "SELECT count(*) FROM audit_events WHERE action = 'auth.password.recovered'") == [(0,)]


def test_the_second_factor_is_required_with_the_recovery_key(
    app: Any, client: TestClient, owner: Owner, make_staff: Any,
) -> None:
    missing = client.post(RECOVER, json=_body(owner, totp=None))
    assert missing.status_code == 401 and missing.json()["type"] == "/problems/totp-required"
    wrong = client.post(RECOVER, json=_body(owner, totp="000000"))
    assert wrong.status_code == 401 and wrong.json()["type"] == "/problems/totp-required"
    # An account without two-factor sign-in asks an administrator, even with its right recovery key.
    plain = make_staff("hr")
    key = client.post("/api/v1/auth/recovery-key", headers=plain.headers).json()["recovery_key"]
    r = client.post(RECOVER, json={"email": plain.email, "recovery_key": key, "new_password": NEW_PASSWORD})
    assert r.status_code == 403 and r.json()["type"] == "/problems/recovery-needs-two-factor"
    assert login(client, plain.email, plain.password).status_code == 200
    assert login(client, owner.staff.email, owner.staff.password, owner.two_factor.recovery_codes[0]).status_code == 200


def test_failed_recoveries_are_throttled_with_the_sign_ins(client: TestClient, owner: Owner) -> None:
    for _ in range(5):  # SAFESHARE_LOGIN_MAX_FAILURES: the account's bucket for clients unknown to it
        assert client.post(RECOVER, json=_body(owner, recovery_key="1" * 26)).status_code == 403
    r = client.post(RECOVER, json=_body(owner))
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    assert login(client, owner.staff.email, owner.staff.password).status_code == 429  # the same buckets


def test_the_sign_in_page_leads_to_the_form_and_it_shows_the_new_key_once(
    app: Any, owner: Owner,
) -> None:
    from tests.web.helpers import csrf

    with TestClient(app) as browser:
        assert 'href="/login/forgot"' in browser.get("/login").text
        form = {"email": owner.staff.email, "recovery_key": "0" * 26, "code": owner.two_factor.recovery_codes[0],
                "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD}
        assert browser.post("/login/forgot", data=form).status_code == 403  # no CSRF token: the form expired
        form["csrf_token"] = csrf(browser, "/login/forgot")
        refused = browser.post("/login/forgot", data=form)
        assert refused.status_code == 403 and 'id="recovery_key-error"' in refused.text
        assert NEW_PASSWORD not in refused.text
        done = browser.post("/login/forgot", data={**form, "recovery_key": owner.recovery_key.lower()})
        assert done.status_code == 200, done.text
        assert "Your new password is set" in done.text and 'id="recovery-key"' in done.text
    assert login(TestClient(app), owner.staff.email, NEW_PASSWORD, owner.two_factor.recovery_codes[1]).status_code == 200
