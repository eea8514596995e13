"""Device cookies are server records (issue 21): few per account, revoked by a password change,
deactivation and "sign out everywhere", and a revoked one buys nothing in throttling. A forgiven
attempt never extends a back-off. A stolen session cannot enrol its own authenticator or change
the password without the current password. An account's owner enrols by a single-use link."""

from __future__ import annotations

import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app import clock
from app.auth.devices import MAX_DEVICES
from app.auth.models import DeviceRecord
from tests.auth.conftest import T0, code, login
from tests.web.helpers import csrf

WRONG = "not the password at all"


def _devices(db: Any, user_id: str | None = None) -> int:
    db.rollback()
    q = select(func.count()).select_from(DeviceRecord)
    if user_id is not None:
        q = q.where(DeviceRecord.user_id == uuid.UUID(user_id))
    n = db.scalar(q)
    db.rollback()
    return int(n or 0)


def test_old_device_cookies_buy_nothing_after_a_password_change(
    app: Any, client: TestClient, make_staff: Any, frozen: Any, db: Any
) -> None:
    staff = make_staff("leadership")
    browsers = [TestClient(app, client=("203.0.113.7", 4000)) for _ in range(10)]
    for browser in browsers:
        assert login(browser, staff.email, staff.password).status_code == 200
    assert _devices(db) == MAX_DEVICES  # eleven sign-ins in eleven browsers: only the newest five are kept
    fresh = login(client, staff.email, staff.password).json()["token"]
    assert client.post("/api/v1/auth/password", json={"new_password": "a brand new passphrase"},
                       headers={"Authorization": f"Bearer {fresh}"}).status_code == 204
    assert _devices(db) == 0  # every device cookie revoked
    # The review's attack: 50 wrong passwords through the 10 old cookies, 5 each.
    statuses = [login(b, staff.email, WRONG).status_code for b in browsers for _ in range(5)]
    assert statuses.count(401) == 5 and statuses.count(429) == 45  # the account's 5 free failures, then back-off
    for b in browsers:
        b.close()


def test_deactivation_and_sign_out_everywhere_revoke_device_cookies(
    app: Any, client: TestClient, make_staff: Any, db: Any
) -> None:
    admin, other_admin, lead = make_staff("admin"), make_staff("admin"), make_staff("leadership")
    with TestClient(app, client=("203.0.113.8", 4000)) as laptop:
        other = login(laptop, lead.email, lead.password).json()["token"]
    assert _devices(db, lead.id) == 2
    r = client.delete("/api/v1/auth/sessions", headers=lead.headers)
    assert r.status_code == 204
    assert client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {other}"}).status_code == 401
    assert client.get("/api/v1/auth/me", headers=lead.headers).status_code == 200  # this one goes on
    assert _devices(db, lead.id) == 0
    assert _devices(db, admin.id) == 1
    assert client.patch(f"/api/v1/users/{admin.id}", json={"active": False}, headers=other_admin.headers).status_code == 200
    assert _devices(db, admin.id) == 0


def test_a_forgiven_attempt_never_extends_the_back_off_so_the_owner_gets_in_by_the_page(
    app: Any, make_staff: Any, frozen: Any, enable_totp: Any
) -> None:
    """The review's sequence with a moved clock: guessing from many addresses grows the account's
    back-off to 32 s; once it has passed, the owner in a new browser types the password (right:
    forgiven) and, 20 s later, the code. The forgiven attempt must not restart the back-off."""
    staff = make_staff("hr")
    two = enable_totp(staff)
    now, counted = T0, 0
    while counted < 10:
        clock.set_frozen(now)
        with TestClient(app, client=(f"192.0.2.{counted + 1}", 4000)) as thief:
            r = login(thief, staff.email, WRONG)
        if r.status_code == 401:
            counted += 1
        else:
            now += timedelta(seconds=int(r.headers["Retry-After"]))
    stopped = now
    with TestClient(app, client=("198.51.100.44", 4000)) as browser:
        clock.set_frozen(stopped + timedelta(seconds=5))
        token = csrf(browser, "/login")
        early = browser.post("/login", data={"csrf_token": token, "email": staff.email, "password": staff.password})
        assert early.status_code == 429  # still waiting: 32 s after the last guess
        clock.set_frozen(stopped + timedelta(seconds=33))
        asked = browser.post("/login", data={"csrf_token": token, "email": staff.email, "password": staff.password})
        assert asked.status_code == 200 and 'name="code"' in asked.text
        clock.set_frozen(stopped + timedelta(seconds=53))
        done = browser.post("/login", data={"csrf_token": token, "step": "code", "code": code(two.secret, clock.now())},
                            follow_redirects=False)
        assert done.status_code == 303, done.text


def test_a_stolen_session_needs_the_password_to_enrol_an_authenticator_or_change_it(
    client: TestClient, make_staff: Any, frozen: Any
) -> None:
    lead = make_staff("leadership")
    clock.set_frozen(T0 + timedelta(minutes=6))  # the sign-in is more than 5 minutes old
    h = lead.headers
    refused = client.post("/api/v1/auth/totp/setup", headers=h)
    assert refused.status_code == 403 and refused.json()["type"].endswith("/wrong-password")
    assert client.post("/api/v1/auth/totp/setup", json={"current_password": WRONG}, headers=h).status_code == 403
    assert client.post("/api/v1/auth/password", json={"new_password": "the thief's passphrase"}, headers=h).status_code == 403
    setup = client.post("/api/v1/auth/totp/setup", json={"current_password": lead.password}, headers=h)
    assert setup.status_code == 200
    confirmed = client.post("/api/v1/auth/totp/confirm", json={"code": code(setup.json()["secret"], clock.now())}, headers=h)
    assert confirmed.status_code == 200
    later = code(setup.json()["secret"], clock.now(), 1)
    clock.set_frozen(clock.now() + timedelta(seconds=30))
    assert client.request("DELETE", "/api/v1/auth/totp", json={"code": later}, headers=h).status_code == 403
    assert client.request("DELETE", "/api/v1/auth/totp", json={"code": later, "current_password": lead.password},
                          headers=h).status_code == 204
    # Within 5 minutes of signing in with the password, it is not asked again.
    fresh = login(client, lead.email, lead.password).json()["token"]
    assert client.post("/api/v1/auth/totp/setup", headers={"Authorization": f"Bearer {fresh}"}).status_code == 200


def test_a_wrong_receipt_burst_gets_at_most_the_limit_of_401s(live_server: str, settings: Any, frozen: Any) -> None:
    """100 parallel wrong receipts from one client, with the clock standing still (so no back-off
    runs out during the burst): exactly the limit of 401s, every other one 429."""
    url = live_server + "/api/v1/reporter/session"
    with httpx.Client(timeout=60, limits=httpx.Limits(max_connections=16)) as c:

        def one(i: int) -> int:
            return c.post(url, json={"receipt": f"WRONG-{i:04d}-AAAA-BBBB-CCCC-DDDD"}).status_code

        with ThreadPoolExecutor(max_workers=16) as pool:
            statuses = list(pool.map(one, range(100)))
    assert statuses.count(401) == settings.receipt_max_failures
    assert statuses.count(401) + statuses.count(429) == 100


def test_an_account_made_in_the_api_is_enrolled_by_its_owner_through_a_single_use_link(
    app: Any, client: TestClient, make_staff: Any
) -> None:
    from tests.auth.conftest import Outbox

    admin, mail = make_staff("admin"), Outbox(app)
    made = client.post("/api/v1/users", json={"email": "nia@example.org", "name": "Nia", "roles": ["leadership"]},
                       headers=admin.headers)
    assert made.status_code == 201 and made.json()["pending_roles"] == []
    notice = next(n for n in mail if n.kind == "enrolment")
    assert notice.to == ("nia@example.org",)
    link = re.search(r"https?://\S+/enrol/(\S+)", notice.body)
    assert link is not None
    path = f"/enrol/{link.group(1)}"
    with TestClient(app) as owner:
        token = csrf(owner, path)
        short = owner.post(path, data={"csrf_token": token, "new_password": "short", "confirm_password": "short"})
        assert short.status_code == 422 and "at least 12 characters" in short.text
        ok = owner.post(path, data={"csrf_token": token, "new_password": "my very own words", "confirm_password":
                                    "my very own words"}, follow_redirects=False)
        assert ok.status_code == 303 and ok.headers["location"].startswith("/login")
        assert owner.get(path).status_code == 404  # single use
    assert login(client, "nia@example.org", "my very own words").status_code == 200
    # A link not used within 72 hours lapses.
    client.post("/api/v1/users", json={"email": "late@example.org", "name": "Late", "roles": ["leadership"]},
                headers=admin.headers)
    late = re.search(r"/enrol/(\S+)", next(n for n in mail if n.to == ("late@example.org",)).body)
    assert late is not None
    clock.set_frozen(clock.now() + timedelta(hours=72, seconds=1))
    try:
        assert client.get(f"/enrol/{late.group(1)}").status_code == 404
    finally:
        clock.set_frozen(None)
