"""Locations and referrals in headless Debian Chromium with JavaScript off: an administrator
adds locations on the console's page, a reporter chooses one on the form (or prefers not to
say), a safeguarding officer sees it on the case, changes it at triage, and records and completes
a referral. Screenshots at 1280 and 390 px go to test-artifacts/console/ for a person to look at,
and no page is wider than the screen."""

from __future__ import annotations

import os
import re
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console"
PASSWORD = "correct horse battery staple"


@pytest.fixture
def new_page(chromium: Any, live_server: str) -> Iterator[Any]:
    made: list[BrowserContext] = []

    def new() -> Page:
        ctx = chromium.new_context(java_script_enabled=False, base_url=live_server,
                                   viewport={"width": 1280, "height": 900})
        ctx.set_default_timeout(10_000)
        made.append(ctx)
        return ctx.new_page()

    yield new
    for ctx in made:
        ctx.close()


def _widest(page: Page) -> int:
    png = page.screenshot(full_page=True)
    return int(struct.unpack(">I", png[16:20])[0])


def _shots(page: Page, name: str) -> None:
    """At 1280 and 390 px; nothing wider than the screen. Kept from the SQLite run only."""
    keep = "[postgresql]" not in os.environ.get("PYTEST_CURRENT_TEST", "")
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        if keep:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"{name}-{width}.png"), full_page=True)
        assert _widest(page) <= width, f"{name} is wider than {width}px"
    page.set_viewport_size({"width": 1280, "height": 900})


def _sign_in(page: Page, email: str) -> None:
    page.goto("/login")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_locations_and_referrals_in_the_browser(new_page: Any, make_staff: Any) -> None:
    admin = make_staff("admin", name="Ada Min")
    sg = make_staff("safeguarding", name="Sam Guard")

    # The administrator adds two locations; a mistake is shown beside its field first.
    desk = new_page()
    _sign_in(desk, admin.email)
    desk.get_by_role("link", name="Locations").click()
    expect(desk.get_by_role("heading", level=1)).to_have_text("Locations")
    add = desk.get_by_role("region", name="Add a location")
    add.get_by_label("Short name").fill("North Station")
    add.get_by_label("Name", exact=True).fill("North Station")
    desk.get_by_role("button", name="Add the location").click()
    expect(desk.get_by_role("alert")).to_contain_text("There is a problem")
    _shots(desk, "locations-error")
    for slug, name, kind, count in (("north_station", "North Station", "Station", "48"),
                                    ("red_watch", "Red Watch", "Watch", "")):
        add = desk.get_by_role("region", name="Add a location")
        add.get_by_label("Short name").fill(slug)
        add.get_by_label("Name", exact=True).fill(name)
        add.get_by_label("Kind", exact=True).select_option(label=kind)
        add.get_by_label("Headcount (optional)").fill(count)
        desk.get_by_role("button", name="Add the location").click()
        expect(desk.get_by_role("status")).to_contain_text("Location added.")
    expect(desk.locator("#location-north_station")).to_be_visible()
    _shots(desk, "locations")

    # A reporter chooses where it happened.
    reporter = new_page()
    reporter.goto("/report")
    where = reporter.get_by_label("Where did it happen? (optional)")
    expect(where.locator("option", has_text="Prefer not to say")).to_have_count(1)
    reporter.get_by_label("What happened?").fill("A crew manager keeps mocking my accent in front of the watch.")
    where.select_option(label="Red Watch")
    _shots(reporter, "reporter-form-location")
    reporter.get_by_role("button", name="Send my concern").click()
    expect(reporter.get_by_role("heading", level=1)).to_have_text("Your concern has been sent")

    # The officer sees it on the case, moves it to North Station, and records a referral.
    officer = new_page()
    _sign_in(officer, sg.email)
    officer.locator("table.queue tbody a").first.click()
    expect(officer.locator("dl.summary")).to_contain_text("Red Watch")
    officer.get_by_label("Location", exact=True).select_option(label="North Station")
    officer.get_by_role("button", name="Save triage").click()
    expect(officer.get_by_role("status")).to_contain_text("Triage saved.")
    expect(officer.locator("dl.summary")).to_contain_text("North Station")

    officer.get_by_role("button", name="Record the referral").click()  # nothing chosen: refused beside the field
    expect(officer.get_by_role("alert")).to_contain_text("There is a problem")
    officer.get_by_label("Referral to").select_option(label="Occupational health")
    officer.get_by_label("Note (optional)", exact=True).fill("Referred for a stress assessment; appointment letter sent.")
    officer.get_by_role("button", name="Record the referral").click()
    expect(officer.get_by_role("status")).to_contain_text("Referral recorded.")
    expect(officer.locator("#referrals")).to_contain_text("Occupational health")
    expect(officer.locator("#referrals")).to_contain_text("stress assessment")
    _shots(officer, "case-referrals")
    officer.get_by_role("button", name=re.compile("Mark complete")).click()
    expect(officer.get_by_role("status")).to_contain_text("Referral marked complete.")
    expect(officer.locator("#referrals")).to_contain_text("completed")
    expect(officer.get_by_role("button", name=re.compile("Mark complete"))).to_have_count(0)
