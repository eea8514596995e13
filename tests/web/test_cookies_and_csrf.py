"""Cookies and CSRF: `__Host-`/`__Secure-` and Secure over https (plain over local http), HSTS,
form tokens bound to the browser and its session, sign-outs that always end the session, and a
database readable by its owner only."""

from __future__ import annotations

import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.cases.models import Message
from tests.conftest import _free_port
from tests.stats.pages import sign_in as staff_sign_in

from .helpers import case_count, case_id_for, csrf, report_form, sign_in, submit


@pytest.fixture
def https(app: Any) -> Iterator[TestClient]:
    """A browser that reached the service over https (directly, or through a trusted proxy)."""
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as c:
        yield c


def _set_cookies(response: httpx.Response) -> list[str]:
    return response.headers.get_list("set-cookie")


# -- names and flags -------------------------------------------------------------------------------


def test_over_local_http_cookies_keep_plain_names_and_work(client: TestClient, db: Session) -> None:
    r = client.get("/report")
    [cookie] = _set_cookies(r)
    assert cookie.startswith("ss_csrf=") and "secure" not in cookie.lower() and "HttpOnly" in cookie
    assert "strict-transport-security" not in r.headers
    submit(client)  # the README's `scripts/run` on http://127.0.0.1 works end to end
    assert case_count(db) == 1


def test_over_https_every_cookie_is_secure_and_prefixed(https: TestClient, make_staff: Any) -> None:
    r = https.get("/report")
    assert r.headers["strict-transport-security"] == "max-age=63072000"
    [cookie] = _set_cookies(r)
    assert cookie.startswith("__Host-ss_csrf=") and "Secure" in cookie and "Path=/" in cookie
    assert "Domain" not in cookie  # __Host- also means: this host only

    receipt = submit(https)
    r = https.post("/follow-up", data={"csrf_token": csrf(https, "/follow-up"), "receipt": receipt}, follow_redirects=False)
    [cookie] = _set_cookies(r)
    # Scoped to /follow-up, so it cannot be __Host-; it relies on its binding to the browser instead.
    assert cookie.startswith("__Secure-ss_reporter=ssr_") and "Secure" in cookie and "Path=/follow-up" in cookie
    assert "Your concern" in https.get("/follow-up").text

    staff = make_staff("leadership")
    r = staff_sign_in(https, staff.email, staff.password)
    assert r.status_code == 303
    cookie, device = _set_cookies(r)  # the sign-in, and the device cookie every sign-in sets
    assert cookie.startswith("__Host-ss_staff=sst_") and "Secure" in cookie and "Path=/" in cookie
    assert device.startswith("__Host-ss_device_") and "Secure" in device and "HttpOnly" in device
    assert https.get("/dashboard").status_code == 200


def test_over_https_a_cookie_without_its_prefix_is_ignored(https: TestClient, make_staff: Any) -> None:
    staff = make_staff("leadership")
    # A sibling subdomain (or a plain-http page) can plant `ss_staff`, never `__Host-ss_staff`.
    https.cookies.set("ss_staff", staff.token, domain="testserver")
    assert https.get("/dashboard", follow_redirects=False).status_code == 303


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # about uvicorn and the headers
def test_secure_cookies_and_hsts_follow_the_scheme_a_trusted_proxy_reports(app: Any) -> None:
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False,
                            proxy_headers=True, forwarded_allow_ips="127.0.0.1")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    try:
        with httpx.Client(trust_env=False) as http:  # straight to the server, whatever proxy the machine sets
            proxied = http.get(f"http://127.0.0.1:{port}/report", headers={"X-Forwarded-Proto": "https"})
            direct = http.get(f"http://127.0.0.1:{port}/report")
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    assert proxied.headers["set-cookie"].startswith("__Host-ss_csrf=") and "Secure" in proxied.headers["set-cookie"]
    assert proxied.headers["strict-transport-security"] == "max-age=63072000"
    assert direct.headers["set-cookie"].startswith("ss_csrf=") and "strict-transport-security" not in direct.headers


# -- tokens bound to the browser and the session ------------------------------------------------------


def test_a_chosen_cookie_and_token_pair_is_refused(app: Any, db: Session) -> None:
    # The attack of issue 13: plant a cookie and post the same value as the token.
    with TestClient(app) as attacker:
        attacker.cookies.set("ss_csrf", "A" * 43)
        r = attacker.post("/report", data=report_form("A" * 43))
    assert r.status_code == 403
    assert case_count(db) == 0


def test_a_token_from_another_browser_is_refused(app: Any, db: Session) -> None:
    with TestClient(app) as attacker:
        token = csrf(attacker)  # a real token, for the attacker's own browser
    with TestClient(app) as victim:
        csrf(victim)
        r = victim.post("/report", data=report_form(token))
    assert r.status_code == 403
    assert case_count(db) == 0


def test_a_token_issued_before_signing_in_does_not_work_for_the_session(client: TestClient, db: Session) -> None:
    receipt = submit(client)
    before = csrf(client, "/follow-up")
    sign_in(client, receipt)
    r = client.post("/follow-up/messages", data={"csrf_token": before, "body": "Hello"})
    assert r.status_code == 403
    assert db.scalars(select(Message)).all() == []
    db.rollback()
    # The page's own token, issued for this session, works.
    r = client.post("/follow-up/messages", data={"csrf_token": csrf(client, "/follow-up"), "body": "Hello"})
    assert r.status_code == 200 and "Your message has been sent" in r.text


def test_a_reporter_cookie_planted_from_elsewhere_signs_nobody_in(app: Any, client: TestClient) -> None:
    # The attacker signs in to their own case and plants that session in the victim's browser.
    with TestClient(app) as attacker:
        receipt = submit(attacker)
        sign_in(attacker, receipt)
        planted = attacker.cookies.get("ss_reporter")
    assert planted
    client.get("/follow-up")
    client.cookies.set("ss_reporter", planted, domain="testserver", path="/follow-up")
    page = client.get("/follow-up")
    assert "Your receipt" in page.text and "Your concern" not in page.text
    client.cookies.set("ss_reporter", planted.rpartition(".")[0], domain="testserver", path="/follow-up")  # the bare token
    assert "Your concern" not in client.get("/follow-up").text


# -- signing out ------------------------------------------------------------------------------------


def test_staff_sign_out_without_a_token_still_ends_the_session(client: TestClient, make_staff: Any) -> None:
    staff = make_staff("leadership")
    staff_sign_in(client, staff.email, staff.password)
    token = client.cookies.get("ss_staff")
    r = client.post("/logout", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_reporter_sign_out_without_a_token_still_ends_the_session(client: TestClient, db: Session) -> None:
    receipt = submit(client)
    sign_in(client, receipt)
    token = client.cookies.get("ss_reporter").rpartition(".")[0]
    r = client.post("/follow-up/sign-out", data={"csrf_token": "stale"})
    assert r.status_code == 200 and "You have signed out" in r.text
    assert client.get("/api/v1/reporter/case", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert case_id_for(client.app, receipt)  # the case itself is untouched


# -- files on disk ----------------------------------------------------------------------------------


def test_sqlite_database_and_its_wal_are_readable_by_the_owner_only(tmp_path: Path) -> None:
    from app import migrate
    from app.db import make_engine

    path = tmp_path / "var" / "safeshare.db"
    migrate.upgrade(f"sqlite:///{path}")
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:  # a write leaves the -wal and -shm files in place
        conn.exec_driver_sql("UPDATE themes SET active = active")
        files = {p.name: stat.S_IMODE(p.stat().st_mode) for p in path.parent.iterdir()}
    engine.dispose()
    assert files == {"safeshare.db": 0o600, "safeshare.db-wal": 0o600, "safeshare.db-shm": 0o600}
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
