"""Issue 25's pages in headless Debian Chromium, with JavaScript off: a safeguarding officer
writes a reply template, takes a case nobody owns, writes a note for the safeguarding team only,
starts the message from the template, sends an organisation the administrator put in the support
directory, and prints the case's history."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.console.test_browser import _shot, _sign_in, contexts  # noqa: F401 - the fixture, shared
from tests.web.a11y import axe_violations

pytestmark = pytest.mark.browser


def test_take_a_case_note_for_safeguarding_reply_from_a_template_and_print_its_history(
    contexts: Any, make_staff: Any, client: Any  # noqa: F811
) -> None:
    sg = make_staff("safeguarding", name="Sam Guard")
    admin = make_staff("admin", name="Ada Min")
    made = client.post("/api/v1/reports", json={"description": "My crew manager makes me work unpaid overtime."})
    reference = made.json()["reference"]

    # The administrator puts an organisation in the support directory.
    scratch = contexts(True)  # axe-core runs in a page with JavaScript, on a copy of each page as it is
    problems: list[str] = []

    def check(page: Any, name: str) -> None:
        problems.extend(f"{name}: {v}" for v in axe_violations(page, scratch))

    keeper = contexts(False)
    _sign_in(keeper, admin.email)
    keeper.get_by_role("link", name="Support directory").click()
    keeper.get_by_label("Organisation", exact=True).fill("StepChange")
    keeper.get_by_label("What they help with").fill("Free debt advice")
    keeper.get_by_label("How to reach them").fill("0800 138 1111")
    keeper.get_by_label("Financial concern").check()
    keeper.get_by_role("button", name="Add the organisation").click()
    expect(keeper.get_by_role("status")).to_contain_text("Organisation added")
    _shot(keeper, "support-directory-1280", False)
    check(keeper, "support directory")

    officer = contexts(False)
    _sign_in(officer, sg.email)
    officer.get_by_role("link", name="Reply templates").click()
    expect(officer.get_by_role("heading", level=1)).to_have_text("Reply templates")
    officer.get_by_label("Name", exact=True).fill("First reply")
    officer.get_by_label("Message", exact=True).fill("Thank you for raising {reference}. We will be in touch within a week.")
    officer.get_by_role("button", name="Add the template").click()
    expect(officer.get_by_role("status")).to_contain_text("Reply template added")
    _shot(officer, "reply-templates-1280", False)
    check(officer, "reply templates")

    officer.get_by_role("link", name="Cases", exact=True).click()
    officer.get_by_role("link", name="Cases nobody owns yet").click()
    officer.get_by_role("link", name=reference).click()
    officer.get_by_role("button", name="Take this case").click()
    expect(officer.get_by_role("status")).to_contain_text("Owner changed")
    expect(officer.locator("#owner")).to_contain_text("Sam Guard (you)")

    officer.get_by_label("Add an internal note").fill("Her partner works on the same watch: keep this from HR.")
    officer.get_by_label("The safeguarding team only").check()
    officer.get_by_role("button", name="Save note").click()
    expect(officer.locator("#notes li").last).to_contain_text("safeguarding team only")
    expect(officer.locator("#notes")).to_contain_text("Sam Guard took this case.")

    officer.get_by_label("Start from a reply template").select_option(label="First reply")
    officer.get_by_role("button", name="Use this template").click()
    expect(officer.get_by_label("Message to the reporter")).to_have_value(
        f"Thank you for raising {reference}. We will be in touch within a week.")
    officer.get_by_role("button", name="Send to the reporter").click()
    expect(officer.locator("#thread")).to_contain_text(f"Thank you for raising {reference}.")
    officer.get_by_text("Send organisations that may help").click()
    officer.get_by_label("StepChange").check()
    officer.get_by_role("button", name="Send these to the reporter").click()
    expect(officer.get_by_role("status")).to_contain_text("organisations were sent")
    expect(officer.locator("#thread")).to_contain_text("StepChange")
    _shot(officer, "case-owned-1280", False)
    check(officer, "case page")

    officer.get_by_role("link", name="History of this case").click()
    expect(officer.get_by_role("heading", level=1)).to_contain_text(f"History of case {reference}")
    table = officer.locator("table.history")
    for words in ("Sent the concern", "Took the case", "Wrote an internal note", "Wrote to the reporter",
                  "Sent the reporter organisations that may help"):
        expect(table).to_contain_text(words)
    expect(table).not_to_contain_text("keep this from HR")
    _shot(officer, "case-history-1280", False)
    check(officer, "case history")
    assert problems == []
    officer.emulate_media(media="print")
    expect(officer.locator(".site-header nav")).to_be_hidden()
    expect(officer.get_by_text(re.compile("^Printed by Sam Guard"))).to_be_visible()
