"""The reporter's journey in headless Debian Chromium with JavaScript switched off."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from .conftest import ARTIFACTS
from .helpers import close_case, staff_message

pytestmark = pytest.mark.browser

DESCRIPTION = "On night shifts a colleague keeps making jokes about my religion.\nI have asked him to stop."


def _report_with_a_mistake_first(page: Page) -> None:
    page.goto("/report")
    page.get_by_label("What happened?").fill(DESCRIPTION)
    page.get_by_label("Something that happened to me").check()
    page.get_by_label("Yes, give my name").check()  # ...but no name: a validation error
    page.get_by_label("Talk it through with someone").check()
    page.get_by_role("button", name="Send my concern").click()

    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("There is a problem")
    link = summary.get_by_role("link", name="Enter your name, or choose to stay anonymous.")
    expect(link).to_have_attribute("href", "#name")
    name = page.get_by_label("Your name")
    expect(name).to_have_attribute("aria-describedby", re.compile(r"\bname-error\b"))
    expect(page.locator("#name-error")).to_contain_text("Enter your name")
    # Nothing typed was lost.
    expect(page.get_by_label("What happened?")).to_have_value(DESCRIPTION)
    expect(page.get_by_label("Yes, give my name")).to_be_checked()
    expect(page.get_by_label("Talk it through with someone")).to_be_checked()
    # The error link leads to the field (a plain fragment link, no script needed).
    link.click()
    expect(page).to_have_url(re.compile(r"/report#name$"))


def test_reporter_submits_follows_up_reads_replies_and_signs_out(page: Page, app: Any) -> None:
    _report_with_a_mistake_first(page)
    page.get_by_label("No, stay anonymous").check()
    page.get_by_role("button", name="Send my concern").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Your concern has been sent")
    receipt = page.locator("#receipt").inner_text().strip()
    assert re.fullmatch(r"[0-9A-Z]{4}( [0-9A-Z]{4}){5}", receipt)  # six groups, as they are written down
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "confirmation.png"), full_page=True)

    staff_message(app, receipt, "Thank you for raising this. Would you like to talk on Thursday?")

    page.goto("/follow-up")
    page.get_by_label("Your receipt").fill(receipt.replace(" ", "-").lower())
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your concern")
    expect(page.locator("#thread")).to_contain_text("Would you like to talk on Thursday?")
    expect(page.locator("#thread")).to_contain_text("The safeguarding team")

    page.get_by_label("Your message").fill("Yes please, after 2pm.")
    page.get_by_role("button", name="Send message").click()
    expect(page.get_by_role("status")).to_contain_text("Your message has been sent")
    expect(page.locator("#thread li").last).to_contain_text("Yes please, after 2pm.")

    page.get_by_role("button", name="Sign out").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("You have signed out")
    page.goto("/follow-up")
    expect(page.get_by_label("Your receipt")).to_be_visible()
    expect(page.locator("#thread")).to_have_count(0)


def test_reporter_gives_feedback_after_closure(page: Page, app: Any) -> None:
    page.goto("/report")
    page.get_by_label("What happened?").fill("Someone took credit for my work again.")
    page.get_by_role("button", name="Send my concern").click()
    receipt = page.locator("#receipt").inner_text().strip()
    close_case(app, receipt)

    page.goto("/follow-up")
    page.get_by_label("Your receipt").fill(receipt)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("dl.summary")).to_contain_text("Closed")
    for question, answer in [("Did you feel listened to?", "Very much"),
                             ("Were you kept informed about what was happening?", "Mostly"),
                             ("Was the support offered right for you?", "Partly"),
                             ("Would you recommend Safe Share to a colleague?", "Very much")]:
        page.get_by_role("group", name=question).get_by_label(answer).check()
    page.get_by_label("Anything else you would like to tell us?").fill("Thank you for listening.")
    page.get_by_role("button", name="Send feedback").click()
    expect(page.get_by_role("status")).to_contain_text("Thank you for your feedback")
    expect(page.get_by_role("heading", name="How did it go?")).to_have_count(0)


def test_wrong_receipt_shows_one_calm_error(page: Page) -> None:
    page.goto("/follow-up")
    page.get_by_label("Your receipt").fill("abcd efgh 2345 6789 jkmn pqrs")
    response_status: list[int] = []
    page.on("response", lambda r: response_status.append(r.status) if r.request.method == "POST" else None)
    page.get_by_role("button", name="Sign in").click()
    # The example from the hint fails its check character: a typo, said as one.
    expect(page.get_by_role("alert")).to_contain_text("One character looks wrong: check it against what you wrote down")
    expect(page.locator(".error-message")).to_have_count(1)
    expect(page.get_by_label("Your receipt")).to_have_value("abcd efgh 2345 6789 jkmn pqrs")
    assert response_status == [401]


def test_keyboard_alone_reaches_the_form_past_the_navigation(page: Page) -> None:
    page.goto("/report")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to main content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    expect(page.get_by_label("What happened?")).to_be_focused()
