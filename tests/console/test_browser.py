"""The day's casework in headless Debian Chromium: with JavaScript off, and once more with it on.

A reporter raises a concern; a safeguarding officer signs in, finds it in the queue, reads it,
accepts a suggested theme, assigns an HR contact, writes a note and a message; the HR contact
signs in, sees only that case and completes a check-in; the reporter reads the message; the
case is closed. Screenshots of every console page at 1280 and 390 px are kept in
test-artifacts/console/ (not committed) for a person to look at.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console"
CONCERN = "My watch manager bullies me and humiliates me in front of the crew at every shift change."
PASSWORD = "correct horse battery staple"  # what make_staff gives everyone


@pytest.fixture
def contexts(chromium: Browser, live_server: str) -> Iterator[Any]:
    made: list[BrowserContext] = []

    def new(js: bool, width: int = 1280) -> Page:
        ctx = chromium.new_context(java_script_enabled=js, base_url=live_server,
                                   viewport={"width": width, "height": 900})
        ctx.set_default_timeout(10_000)
        made.append(ctx)
        return ctx.new_page()

    yield new
    for ctx in made:
        ctx.close()


def _sign_in(page: Page, email: str) -> None:
    page.goto("/login")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def _shot(page: Page, name: str, js: bool) -> None:
    if not js:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.mark.parametrize("js", [False, True], ids=["javascript-off", "javascript-on"])
def test_a_day_of_casework_in_the_browser(contexts: Any, make_staff: Any, js: bool) -> None:
    sg = make_staff("safeguarding", name="Sam Guard")
    hr = make_staff("hr", name="Hana Rahman")
    make_staff("hr", name="Harvey Reed")

    # A reporter raises a concern.
    reporter = contexts(js)
    reporter.goto("/report")
    reporter.get_by_label("What happened?").fill(CONCERN)
    reporter.get_by_role("button", name="Send my concern").click()
    receipt = reporter.locator("#receipt").inner_text().strip()

    # The safeguarding officer finds it in the queue and opens it.
    officer = contexts(js)
    _sign_in(officer, sg.email)
    expect(officer).to_have_url(re.compile(r"/staff/cases$"))
    expect(officer.get_by_role("heading", level=1)).to_have_text("Cases")
    _shot(officer, "queue-1280", js)
    officer.locator("table.queue tbody a").first.click()
    expect(officer.get_by_role("heading", level=1)).to_contain_text("Case SS-")
    expect(officer.locator(".concern")).to_have_text(CONCERN)
    _shot(officer, "case-new-1280", js)

    # Accept the suggested theme with one click: it becomes the primary theme.
    officer.get_by_role("button", name=re.compile("Accept .*Bullying in the workplace")).click()
    expect(officer.get_by_role("status")).to_contain_text("Theme added.")
    expect(officer.get_by_label("Primary theme")).to_have_value("bullying")

    # A mistake first: assigning nobody is refused beside the field.
    officer.get_by_role("button", name="Assign").click()
    expect(officer.get_by_role("alert")).to_contain_text("There is a problem")
    officer.get_by_label("Assign an HR contact").select_option(label=f"Hana Rahman ({hr.email})")
    officer.get_by_role("button", name="Assign").click()
    expect(officer.get_by_role("status")).to_contain_text("HR contact assigned")

    officer.get_by_label("Add an internal note").fill("Spoke to the station manager; no names shared.")
    officer.get_by_role("button", name="Save note").click()
    expect(officer.locator("#notes")).to_contain_text("Spoke to the station manager")

    officer.get_by_label("Message to the reporter").fill("Thank you for telling us. Would a call on Thursday suit you?")
    officer.get_by_role("button", name="Send to the reporter").click()
    expect(officer.locator("#thread")).to_contain_text("Would a call on Thursday suit you?")
    expect(officer.locator("#notes")).not_to_contain_text("Thursday")
    _shot(officer, "case-worked-1280", js)

    # The HR contact sees only that case, and completes the check-in from their list.
    contact = contexts(js)
    _sign_in(contact, hr.email)
    expect(contact.locator("table.queue tbody tr")).to_have_count(1)
    contact.get_by_role("link", name="Check-ins").click()
    expect(contact.get_by_role("heading", level=1)).to_have_text("Check-ins")
    _shot(contact, "checkins-1280", js)
    contact.get_by_label("How did the check-in go?").fill("Called them; they feel supported.")
    contact.get_by_label("Yes").check()
    contact.get_by_role("button", name="Record the check-in").click()
    expect(contact.get_by_role("status")).to_contain_text("Check-in recorded")

    # The reporter reads the message.
    reporter.goto("/follow-up")
    reporter.get_by_label("Your receipt").fill(receipt)
    reporter.get_by_role("button", name="Sign in").click()
    expect(reporter.locator("#thread")).to_contain_text("Would a call on Thursday suit you?")
    expect(reporter.locator("body")).not_to_contain_text("station manager")  # the note stays internal

    # The case is closed.
    officer.reload()
    officer.get_by_label("Outcome").select_option(label="Resolved informally")
    officer.get_by_label("Closing summary").fill("Talked it through; the reporter is content.")
    officer.get_by_role("button", name="Close the case").click()
    expect(officer.get_by_role("status")).to_contain_text("Case closed")
    expect(officer.locator("#closure")).to_contain_text("Resolved informally")


def test_every_console_page_at_desk_and_phone_width(contexts: Any, make_staff: Any, live_server: str, app: Any,
                                                    backend: Any) -> None:
    """Screenshots for people to look at, and the phone layout checked: nothing wider than the screen."""
    if backend.name != "sqlite":
        pytest.skip("the pages are the same on both databases; the day of casework above runs on both")
    sg = make_staff("safeguarding", name="Sam Guard")
    admin = make_staff("admin", name="Ada Min")
    lead = make_staff("leadership", name="Lee Leader")
    reporter = contexts(False)
    for text in (CONCERN, "My partner controls our money and I am afraid to go home after night shifts."):
        reporter.goto("/report")
        reporter.get_by_label("What happened?").fill(text)
        reporter.get_by_role("button", name="Send my concern").click()
    pages = {
        sg.email: ["/staff/cases", "/staff/check-ins", "/staff/record", "/dashboard"],
        admin.email: ["/staff/users", "/staff/themes", "/staff/cases"],
        lead.email: ["/dashboard"],
    }
    for width in (1280, 390):
        for email, paths in pages.items():
            page = contexts(False, width)
            _sign_in(page, email)
            for path in paths:
                page.goto(path)
                name = f"{path.strip('/').replace('/', '-')}-{email.split('-')[0]}-{width}"
                _shot(page, name, False)
                if path == "/staff/cases" and email == sg.email:
                    page.locator("table.queue a").first.click()
                    _shot(page, f"case-{width}", False)
                    assert _widest(page) <= width, f"case page wider than {width}px"
                assert _widest(page) <= width, f"{path} is wider than {width}px for {email}"


def _widest(page: Page) -> int:
    """The page's scroll width, read without JavaScript: from a full-page screenshot's size."""
    import struct

    png = page.screenshot(full_page=True)
    return int(struct.unpack(">I", png[16:20])[0])
