"""`SAFESHARE_FORWARDED_ALLOW_IPS`: forwarded addresses and scheme are believed from trusted proxies only."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.crypto import receipts

PROXY, STRANGER = "127.0.0.9", "127.0.0.10"
pytestmark = pytest.mark.parametrize(
    "settings_overrides", [{"forwarded_allow_ips": f"{PROXY}, ::1", "receipt_max_failures": 2}]
)


def _wrong_receipt(c: TestClient, forwarded_for: str) -> int:
    r = c.post("/api/v1/reporter/session", json={"receipt": receipts.new_receipt()}, headers={"X-Forwarded-For": forwarded_for})
    return r.status_code


def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_bucket(app: Any, settings_overrides: Any) -> None:
    with TestClient(app, client=(PROXY, 5000)) as proxy:
        assert [_wrong_receipt(proxy, "203.0.113.1") for _ in range(3)] == [401, 401, 429]
        assert _wrong_receipt(proxy, "203.0.113.2") == 401  # someone else behind the same proxy
        # The client is the last address the trusted proxy did not add: a spoofed first entry changes nothing.
        assert _wrong_receipt(proxy, "198.51.100.99, 203.0.113.1") == 429


def test_an_untrusted_peer_cannot_choose_its_bucket(app: Any, settings_overrides: Any) -> None:
    with TestClient(app, client=(STRANGER, 5000)) as stranger:
        assert [_wrong_receipt(stranger, f"203.0.113.{i}") for i in range(3)] == [401, 401, 429]


def _sign_in_cookies(app: Any, peer: str, staff: Any, proto: str) -> list[str]:
    forwarded = {"X-Forwarded-Proto": proto, "X-Forwarded-For": "203.0.113.7"}
    with TestClient(app, client=(peer, 5000), headers=forwarded) as browser:
        page = browser.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        # The browser's id cookie, sent back as a browser on https would (the test client, on
        # http://testserver, keeps a Secure cookie to itself).
        jar = "; ".join(c.split(";", 1)[0] for c in page.headers.get_list("set-cookie"))
        r = browser.post("/login", data={"csrf_token": token, "email": staff.email, "password": staff.password},
                         headers={"Cookie": jar}, follow_redirects=False)
        assert r.status_code == 303
        return r.headers.get_list("set-cookie")


def test_cookies_are_secure_when_a_trusted_proxy_says_https(app: Any, make_staff: Any, settings_overrides: Any) -> None:
    staff = make_staff("leadership")
    trusted = [c for c in _sign_in_cookies(app, PROXY, staff, "https") if c.startswith(("__Host-ss_staff=",
                                                                                          "__Host-ss_device_"))]
    assert len(trusted) == 2 and all("Secure" in c for c in trusted)
    untrusted = _sign_in_cookies(app, STRANGER, staff, "https")  # a plain-http peer claiming https
    plain = [c for c in untrusted if c.startswith(("ss_staff=", "ss_device_"))]
    assert len(plain) == 2 and not any("Secure" in c or c.startswith("__Host-") for c in untrusted)


def test_values_that_are_not_addresses_never_become_buckets(app: Any, settings_overrides: Any) -> None:
    """Made-up forwarded values are ignored: each falls back to the proxy's own bucket."""
    with TestClient(app, client=(PROXY, 5000)) as proxy:
        statuses = [_wrong_receipt(proxy, f"not-an-address-{i}") for i in range(3)]
        assert statuses == [401, 401, 429]
