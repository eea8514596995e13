"""Two-factor sign-in in headless Debian Chromium with JavaScript switched off: an administrator
whose role requires it signs in, is sent to set it up, scans (reads) the key, keeps the recovery
codes and signs in again with a code. Screenshots at 1280 and 390 px go to test-artifacts/."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pyotp
import pytest
from playwright.sync_api import Page, expect

from tests.auth.conftest import REQUIRED

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
pytestmark = [pytest.mark.browser, pytest.mark.parametrize("settings_overrides", [{**REQUIRED, "report_rate": "1/hour"}])]


def _shots(page: Page, name: str, backend: Any) -> None:
    if backend.name != "sqlite":
        return  # the pages are the same on both databases
    ARTIFACTS.mkdir(exist_ok=True)
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(ARTIFACTS / f"account-{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def _sign_in(page: Page, email: str, password: str) -> None:
    page.goto("/login")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_an_admin_sets_up_two_factor_sign_in_and_uses_it(
    chromium: Any, live_server: str, make_staff: Any, backend: Any, settings_overrides: Any
) -> None:
    staff = make_staff("admin")
    context = chromium.new_context(java_script_enabled=False, base_url=live_server)
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors: list[str] = []
    # CSP violations are console errors; error statuses (a 422 shown on purpose, the favicon) are not.
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" and not m.text.startswith("Failed to load") else None)
    try:
        page.goto("/login")
        _shots(page, "login", backend)
        _sign_in(page, staff.email, staff.password)
        expect(page).to_have_url(re.compile(r"/staff/account$"))
        expect(page.get_by_role("status").first).to_contain_text("Set up two-factor sign-in before you go on")
        page.get_by_role("button", name="Set up two-factor sign-in").click()
        expect(page.get_by_role("img", name="QR code for your authenticator app")).to_be_visible()
        _shots(page, "setup", backend)
        secret = page.locator("#totp-secret").inner_text().replace(" ", "")

        # A wrong code first: the error summary names it and the field says why.
        page.get_by_label("Code from your app").fill(pyotp.TOTP(secret).at(time.time() + 300))
        page.get_by_role("button", name="Turn on two-factor sign-in").click()
        expect(page.get_by_role("alert")).to_contain_text("There is a problem")
        expect(page.get_by_label("Code from your app")).to_have_attribute("aria-invalid", "true")
        _shots(page, "setup-error", backend)

        page.get_by_label("Code from your app").fill(pyotp.TOTP(secret).now())
        page.get_by_role("button", name="Turn on two-factor sign-in").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Two-factor sign-in is on")
        codes = page.locator(".recovery-codes li").all_inner_texts()
        assert len(codes) == 10
        _shots(page, "recovery-codes", backend)
        page.get_by_role("link", name="I have kept my recovery codes").click()
        expect(page).to_have_url(re.compile(r"/staff/users$"))  # an administrator's work

        page.goto("/staff/account")
        expect(page.locator("#sessions")).to_be_visible()
        _shots(page, "on", backend)
        page.get_by_role("button", name="Sign out").first.click()
        expect(page).to_have_url(re.compile(r"/login$"))

        # Signing in again: password, then the code step (the next code: the first one is used up).
        _sign_in(page, staff.email, staff.password)
        expect(page.get_by_label("Code from your authenticator app")).to_be_visible()
        _shots(page, "login-code", backend)
        page.get_by_label("Code from your authenticator app").fill(codes[0])
        page.get_by_role("button", name="Sign in").click()
        expect(page).to_have_url(re.compile(r"/staff/users$"))  # an administrator's work
        assert errors == [], errors
    finally:
        context.close()


def test_the_report_form_says_kindly_when_the_rate_is_reached(
    chromium: Any, live_server: str, backend: Any, settings_overrides: Any
) -> None:
    context = chromium.new_context(java_script_enabled=False, base_url=live_server)
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        for attempt in range(2):
            page.goto("/report")
            page.get_by_label("What happened?").fill(f"My manager shouts at me in meetings. ({attempt})")
            page.get_by_role("button", name="Send my concern").click()
        alert = page.get_by_role("alert")
        expect(alert).to_contain_text("Nothing is lost")
        expect(page.get_by_label("What happened?")).to_have_value("My manager shouts at me in meetings. (1)")
        _shots(page, "report-rate", backend)
    finally:
        context.close()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # the page is the same on both databases
def test_a_forgotten_password_is_set_again_with_the_recovery_key_on_the_page(
    chromium: Any, live_server: str, client: Any, make_staff: Any, enable_totp: Any, backend: Any,
    settings_overrides: Any,
) -> None:
    """From the sign-in page's link, JavaScript off: a wrong key first, then the right one; both
    pages pass axe-core, and the new recovery key is shown once."""
    from tests.web.a11y import axe_violations

    staff = make_staff("safeguarding")
    codes = enable_totp(staff).recovery_codes
    kept = client.post("/api/v1/auth/recovery-key", headers=staff.headers).json()["recovery_key"]
    scripted = chromium.new_context(base_url=live_server)  # axe needs JavaScript: see tests/web/a11y.py
    scratch = scripted.new_page()
    context = chromium.new_context(java_script_enabled=False, base_url=live_server)
    context.set_default_timeout(10_000)
    page = context.new_page()
    problems: list[str] = []

    def send(key: str) -> None:
        page.get_by_label("Your recovery key").fill(key)
        page.get_by_label("Code from your authenticator app").fill(codes[0])
        page.get_by_label("New password").fill("lantern orchard quietly seventeen")
        page.get_by_label("The same password again").fill("lantern orchard quietly seventeen")
        page.get_by_role("button", name="Set my new password").click()

    try:
        page.goto("/login")
        page.get_by_role("link", name="Forgot your password?").click()
        page.get_by_label("E-mail address").fill(staff.email)
        send("0" * 26)
        expect(page.get_by_role("alert")).to_contain_text("do not go together")
        expect(page.get_by_label("Your recovery key")).to_have_attribute("aria-invalid", "true")
        problems += [f"form: {v}" for v in axe_violations(page, scratch)]
        _shots(page, "forgot-password-error", backend)
        send(kept)
        expect(page.get_by_role("heading", level=1)).to_have_text("Your account recovery key")
        expect(page.get_by_role("status")).to_contain_text("Your new password is set")
        assert page.locator("#recovery-key").inner_text().strip() not in ("", kept)
        problems += [f"new key: {v}" for v in axe_violations(page, scratch)]
        _shots(page, "forgot-password-done", backend)
        page.get_by_role("link", name="I have kept my recovery key").click()
        expect(page).to_have_url(re.compile(r"/login$"))
    finally:
        context.close()
        scripted.close()
    assert problems == []
