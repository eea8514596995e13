"""Failed sign-ins slow the guilty and never lock out the account's owner (OWASP's device cookie)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from app import clock
from app.auth import devices
from app.errors import TooManyRequests, Unauthorized
from app.http import signin
from tests.auth.conftest import T0, login

WRONG = "not the password at all"


def test_wrong_passwords_from_many_addresses_never_lock_the_owner_out(live_server: str, make_staff: Any) -> None:
    """The issue's check, over real sockets: wrong passwords for one account from 40 addresses of
    127.0.0.0/8, while the owner, on a client that signed in before, still gets in."""
    staff = make_staff("hr")
    url = live_server + "/api/v1/auth/login"
    with httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.1"), timeout=30) as owner:
        assert owner.post(url, json={"email": staff.email, "password": staff.password}).status_code == 200
        assert any(name.startswith("ss_device_") for name in owner.cookies.keys())
        statuses = []
        for i in range(40):
            with httpx.Client(transport=httpx.HTTPTransport(local_address=f"127.0.9.{i + 1}"), timeout=30) as thief:
                for _ in range(3):
                    statuses.append(thief.post(url, json={"email": staff.email, "password": WRONG}).status_code)
        assert statuses.count(401) <= 12 and statuses.count(429) >= 100  # 5 free, then the account's bucket waits
        # A client the account does not know waits like the thieves (the price of the owner's safety).
        # Asked at once: the account's wait is a few seconds, and the owner's sign-in (argon2) can take
        # that long on a loaded machine.
        with httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.10.1"), timeout=30) as stranger:
            assert stranger.post(url, json={"email": staff.email, "password": staff.password}).status_code == 429
        r = owner.post(url, json={"email": staff.email, "password": staff.password})
        assert r.status_code == 200, r.text


def test_the_device_cookie_is_httponly_strict_signed_and_long_lived(client: TestClient, make_staff: Any) -> None:
    staff = make_staff("leadership")
    r = login(client, staff.email, staff.password)
    cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith("ss_device_"))
    attrs = [a.strip().lower() for a in cookie.split(";")]
    assert "httponly" in attrs and "samesite=strict" in attrs and "path=/" in attrs
    assert f"max-age={365 * 86400}" in attrs
    value = cookie.split(";")[0].split("=", 1)[1]
    assert staff.email not in value and len(value.split(".")) == 3


def _lock_account_for_strangers(app: Any, email: str) -> None:
    for i in range(8):
        with TestClient(app, client=(f"192.0.2.{i}", 4000)) as thief:
            login(thief, email, WRONG)


def test_a_tampered_or_foreign_device_cookie_is_not_trusted(app: Any, client: TestClient, make_staff: Any) -> None:
    staff, _other = make_staff("hr"), make_staff("hr")  # `client` now holds device cookies for both
    names = {c.name: c.value for c in client.cookies.jar}
    _lock_account_for_strangers(app, staff.email)
    mine = devices.device_cookie_name(app.state.keyring, staff.email)
    theirs = next(n for n in names if n.startswith("ss_device_") and n != mine)  # the other account's, valid
    nonce, issued, signature = names[mine].split(".")
    for forged in (f"{nonce}x.{issued}.{signature}", f"{nonce}.{int(issued) + 1}.{signature}", names[theirs], "garbage"):
        with TestClient(app, client=("198.51.100.5", 4000), cookies={mine: forged}) as fake:
            assert login(fake, staff.email, staff.password).status_code == 429
    with TestClient(app, client=("198.51.100.5", 4000), cookies={mine: names[mine]}) as real:
        assert login(real, staff.email, staff.password).status_code == 200


def test_the_page_sign_in_sets_the_same_device_cookie(app: Any, client: TestClient, make_staff: Any) -> None:
    from tests.web.helpers import csrf

    staff = make_staff("leadership")
    with TestClient(app, client=("198.51.100.6", 4000)) as browser:
        token = csrf(browser, "/login")
        r = browser.post("/login", data={"csrf_token": token, "email": staff.email, "password": staff.password},
                         follow_redirects=False)
        assert r.status_code == 303
        assert any(c.startswith("ss_device_") and "HttpOnly" in c for c in r.headers.get_list("set-cookie"))
        _lock_account_for_strangers(app, staff.email)
        token = csrf(browser, "/login")
        again = browser.post("/login", data={"csrf_token": token, "email": staff.email, "password": staff.password},
                             follow_redirects=False)
        assert again.status_code == 303  # the page's own device cookie lets its owner in


@pytest.mark.parametrize("settings_overrides", [{"login_max_failures": 5, "throttle_max_delay_seconds": 900}])
def test_guesses_at_one_account_from_a_whole_ipv6_48_are_held_to_one_per_15_minutes(
    app: Any, make_staff: Any, settings_overrides: Any
) -> None:
    """The arithmetic in docs/operations.md: six hours of guessing from every /64 of a /48 (a
    fresh one each time) get 5 free guesses, 10 while the wait grows, then one per 15 minutes."""
    staff = make_staff("hr")
    now, allowed, refused = T0, 0, 0
    while now < T0 + timedelta(hours=6):
        clock.set_frozen(now)
        host = f"2001:db8:77:{uuid.uuid4().int & 0xFFFF:x}::{allowed + refused + 1:x}"
        try:
            with app.state.sessionmaker() as s:  # as a request: sign_in ends the reads before the hash
                door = signin.Door(s, app.state.passwords, app.state.throttle, app.state.keyring, app.state.settings)
                signin.sign_in(door, email=staff.email, password=WRONG, totp=None, client_host=host, cookies={})
        except Unauthorized:
            allowed += 1
            continue
        except TooManyRequests as exc:
            refused += 1
            now += timedelta(seconds=int(exc.headers["Retry-After"]))
    # 5 + 10 while the wait doubles (1 s .. 512 s, 1,023 s in all) + one per 900 s after that.
    assert allowed == 5 + 10 + (6 * 3600 - 1023) // 900  # so 109 on a first day, 96 a day after that
    days_for_10_000 = (10_000 - 15) * 900 / 86400
    assert days_for_10_000 > 100
