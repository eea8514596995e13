"""The sign-in page's code step and `/staff/account`, at the HTTP level (no JavaScript involved)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app import clock
from tests.auth.conftest import REQUIRED, T0, code
from tests.web.helpers import csrf

NEW = "river lantern quietly"


# The form token each client's last page carried: the code step posts the form the page showed
# (a GET of /login would start the sign-in again).
_tokens: dict[int, str] = {}


def _keep_token(client: TestClient, response: Any) -> Any:
    found = re.search(r'name="csrf_token" value="([^"]+)"', response.text)
    if found:
        _tokens[id(client)] = found.group(1)
    return response


def _password_step(client: TestClient, email: str, password: str) -> Any:
    return _keep_token(client, client.post("/login", data={"csrf_token": csrf(client, "/login"), "step": "password",
                                                           "email": email, "password": password}, follow_redirects=False))


def _code_step(client: TestClient, value: str) -> Any:
    return _keep_token(client, client.post("/login", data={"csrf_token": _tokens.get(id(client), ""), "step": "code",
                                                           "code": value}, follow_redirects=False))


def _form(client: TestClient, path: str, **fields: str) -> Any:
    return client.post(path, data={"csrf_token": csrf(client, "/staff/account"), **fields}, follow_redirects=False)


def _self_contained(html: str) -> None:
    assert "<script" not in html.lower() and " style=" not in html.lower() and "<style" not in html.lower()
    ids = set(re.findall(r'<(?:input|textarea|select)(?![^>]*type="hidden")[^>]*\sid="([^"]+)"', html))
    for control in ids:
        assert f'<label for="{control}"' in html, control


def test_after_a_right_password_the_page_asks_for_the_code(
    client: TestClient, make_staff: Any, frozen: Any, enable_totp: Any
) -> None:
    staff = make_staff("safeguarding")
    two = enable_totp(staff)
    client.cookies.clear()
    first = _password_step(client, staff.email, staff.password)
    assert first.status_code == 200 and 'name="code"' in first.text and staff.password not in first.text
    pending = next(c for c in first.headers.get_list("set-cookie") if c.startswith("ss_signin="))
    assert "HttpOnly" in pending and "Path=/login" in pending and "SameSite=strict" in pending
    assert "ss_staff" not in first.headers.get("set-cookie", "")
    _self_contained(first.text)
    done = _code_step(client, code(two.secret, T0, 1))
    assert done.status_code == 303 and done.headers["location"] == "/staff/cases"  # where safeguarding works
    cookies = done.headers.get_list("set-cookie")
    assert any(c.startswith("ss_staff=sst_") for c in cookies) and any(c.startswith("ss_device_") for c in cookies)
    assert client.get("/dashboard").status_code == 200


def test_a_wrong_or_malformed_code_on_the_page(client: TestClient, make_staff: Any, frozen: Any, enable_totp: Any) -> None:
    staff = make_staff("safeguarding")
    two = enable_totp(staff)
    _password_step(client, staff.email, staff.password)
    malformed = _code_step(client, "12ab")
    assert malformed.status_code == 422 and "6 digits" in malformed.text
    wrong = next(c for c in ("111111", "222222") if c not in {code(two.secret, T0, s) for s in (-1, 0, 1)})
    r = _code_step(client, wrong)
    assert r.status_code == 401 and "not right" in r.text and 'aria-invalid="true"' in r.text
    for _ in range(4):
        _code_step(client, wrong)
    waited = _code_step(client, code(two.secret, T0, 1))
    assert waited.status_code == 429 and "wait" in waited.text and "retry-after" in waited.headers


def test_a_pending_sign_in_lasts_five_minutes(client: TestClient, make_staff: Any, frozen: Any, enable_totp: Any) -> None:
    staff = make_staff("hr")
    two = enable_totp(staff)
    _password_step(client, staff.email, staff.password)
    clock.set_frozen(T0 + timedelta(minutes=5, seconds=1))
    r = _code_step(client, code(two.secret, clock.now()))
    assert r.status_code == 401 and "Start again" in r.text and 'name="password"' in r.text


@pytest.mark.parametrize("settings_overrides", [REQUIRED])
def test_a_user_who_must_set_up_2fa_is_sent_to_the_account_page_and_does_it_there(
    client: TestClient, make_staff: Any, frozen: Any, settings_overrides: Any
) -> None:
    staff = make_staff("admin")
    client.cookies.clear()
    r = _password_step(client, staff.email, staff.password)
    assert r.status_code == 303 and r.headers["location"] == "/staff/account"
    assert client.get("/dashboard", follow_redirects=False).headers["location"] == "/staff/account"
    page = client.get("/staff/account")
    assert "Set up two-factor sign-in before you go on" in page.text and 'form=/staff/account/password"' not in page.text
    assert "Where you are signed in" not in page.text  # only what clears the restriction
    assert _form(client, "/staff/account/totp/setup").status_code == 303
    page = client.get("/staff/account")
    assert "<svg" in page.text and 'role="img"' in page.text and "<title" in page.text
    secret = re.search(r'<p class="receipt" id="totp-secret">([A-Z2-7 ]+)</p>', page.text).group(1).replace(" ", "")
    _self_contained(page.text)
    wrong = _form(client, "/staff/account/totp/confirm", code=code(secret, T0, 5))
    assert wrong.status_code == 422 and "not right" in wrong.text
    codes_page = _form(client, "/staff/account/totp/confirm", code=code(secret, T0))
    assert codes_page.status_code == 200 and "only time you will see these codes" in codes_page.text
    assert len(re.findall(r'<li class="code-input">[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}</li>', codes_page.text)) == 10
    assert codes_page.headers["cache-control"] == "no-store"
    assert client.get("/dashboard").status_code == 200


def test_changing_the_password_on_the_page(client: TestClient, make_staff: Any) -> None:
    staff = make_staff("leadership")
    _password_step(client, staff.email, staff.password)
    elsewhere = staff.headers  # the API session of make_staff
    mismatch = _form(client, "/staff/account/password", current_password=staff.password, new_password=NEW, confirm_password=NEW + "x")
    assert mismatch.status_code == 422 and "not the same" in mismatch.text
    common = _form(client, "/staff/account/password", current_password=staff.password, new_password="password1234", confirm_password="password1234")
    assert common.status_code == 422 and "most common passwords" in common.text
    wrong = _form(client, "/staff/account/password", current_password="not my password", new_password=NEW, confirm_password=NEW)
    assert wrong.status_code == 422 and "current password is not right" in wrong.text
    ok = _form(client, "/staff/account/password", current_password=staff.password, new_password=NEW, confirm_password=NEW)
    assert ok.status_code == 303 and ok.headers["location"] == "/staff/account?done=password"
    assert "Your password has been changed" in client.get(ok.headers["location"]).text
    assert client.get("/api/v1/auth/me", headers=elsewhere).status_code == 401


def test_a_one_time_password_leads_to_the_password_form_only(client: TestClient, app: Any, make_staff: Any) -> None:
    admin, hr = make_staff("admin"), make_staff("leadership")
    one_time = client.post(f"/api/v1/users/{hr.id}/password-reset", headers=admin.headers).json()["one_time_password"]
    with TestClient(app) as browser:
        r = _password_step(browser, hr.email, one_time)
        assert r.headers["location"] == "/staff/account"
        page = browser.get("/staff/account").text
        assert "Choose a new password before you go on" in page and "Two-factor sign-in" not in page
        ok = _form(browser, "/staff/account/password", current_password=one_time, new_password=NEW, confirm_password=NEW)
        assert ok.status_code == 303
        assert browser.get("/staff/account").text.count("Two-factor sign-in") >= 1


def test_sessions_are_listed_and_ended_on_the_page(client: TestClient, make_staff: Any) -> None:
    staff = make_staff("leadership")  # one API session
    _password_step(client, staff.email, staff.password)  # and this browser's
    page = client.get("/staff/account").text
    ends = re.findall(r'form=(/staff/account/sessions/[0-9a-f-]+/end)"', page)
    assert len(ends) == 2 and "(this browser)" in page
    other = next(path for path in ends if "Sign out here" not in page.split(path)[1][:400])
    assert _form(client, other).headers["location"] == "/staff/account?done=session#sessions"
    assert client.get("/api/v1/auth/me", headers=staff.headers).status_code == 401
    mine = re.findall(r'form=(/staff/account/sessions/[0-9a-f-]+/end)"', client.get("/staff/account").text)
    assert len(mine) == 1
    out = _form(client, mine[0])
    assert out.headers["location"] == "/login" and client.get("/staff/account", follow_redirects=False).status_code == 303


def test_turning_2fa_off_on_the_page(client: TestClient, make_staff: Any, frozen: Any, enable_totp: Any) -> None:
    staff = make_staff("leadership")
    two = enable_totp(staff)
    _password_step(client, staff.email, staff.password)
    _code_step(client, code(two.secret, T0, 1))
    assert "10 unused recovery codes" in client.get("/staff/account").text
    bad = _form(client, "/staff/account/totp/remove", remove_code="nonsense")
    assert bad.status_code == 422
    ok = _form(client, "/staff/account/totp/remove", remove_code=two.recovery_codes[0])
    assert ok.headers["location"] == "/staff/account?done=totp-off"
    assert "Two-factor sign-in is <strong>off</strong>" in client.get("/staff/account").text


def test_account_forms_need_the_csrf_token(client: TestClient, make_staff: Any) -> None:
    staff = make_staff("leadership")
    _password_step(client, staff.email, staff.password)
    r = client.post("/staff/account/password", data={"csrf_token": "forged", "current_password": staff.password,
                                                     "new_password": NEW, "confirm_password": NEW})
    assert r.status_code == 403
    assert client.post("/api/v1/auth/login", json={"email": staff.email, "password": staff.password}).status_code == 200


def test_the_account_page_asks_for_the_password_again_after_five_minutes(
    app: Any, make_staff: Any, frozen: Any
) -> None:
    """Issue 21: a stolen session cannot enrol the thief's authenticator from the page either."""
    lead = make_staff("leadership")
    with TestClient(app) as browser:
        assert _password_step(browser, lead.email, lead.password).status_code == 303
        assert 'id="setup_password"' not in browser.get("/staff/account").text  # signed in just now: not asked
        clock.set_frozen(T0 + timedelta(minutes=6))
        page = browser.get("/staff/account").text
        assert 'id="setup_password"' in page
        _self_contained(page)
        refused = _form(browser, "/staff/account/totp/setup")
        assert refused.status_code == 403 and 'href="#setup_password"' in refused.text
        wrong = _form(browser, "/staff/account/totp/setup", current_password="not my password at all")
        assert wrong.status_code == 403 and "not right" in wrong.text
        ok = _form(browser, "/staff/account/totp/setup", current_password=lead.password)
        assert ok.status_code == 303 and 'id="totp-secret"' in browser.get("/staff/account").text
