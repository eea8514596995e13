"""Issue 25's second part in headless Debian Chromium, with JavaScript off: a safeguarding officer
searches inside the cases, saves the search as their default view, records the reporter's answer
about sharing their name, redacts a passage, and downloads the PDF hand-off; axe-core finds
nothing on the pages they used."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.console.test_browser import _shot, _sign_in, contexts  # noqa: F401 - the fixture, shared
from tests.web.a11y import axe_violations

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # about the pages, not the database
def test_search_save_a_view_record_consent_redact_and_export(contexts: Any, make_staff: Any, client: Any) -> None:  # noqa: F811
    sg = make_staff("safeguarding", name="Sam Guard")
    made = client.post("/api/v1/reports", json={
        "description": "My crew manager bullies me. Ask for Dana Reeve at the station.", "anonymous": False,
        "reporter": {"name": "Lee Moss"}, "identity_sharing": "ask_me"}).json()
    client.post("/api/v1/reports", json={"description": "Money worries since the divorce."})
    scratch = contexts(True)
    problems: list[str] = []

    def check(page: Any, name: str) -> None:
        problems.extend(f"{name}: {v}" for v in axe_violations(page, scratch))

    officer = contexts(False)
    _sign_in(officer, sg.email)
    officer.get_by_role("link", name="Cases", exact=True).click()
    officer.get_by_label("Search inside the cases").fill("bullied")
    officer.get_by_role("button", name="Search", exact=True).click()
    expect(officer.locator("table.queue tbody tr")).to_have_count(1)
    expect(officer.locator("table.queue")).to_contain_text(made["reference"])

    officer.get_by_text("Save what this list shows as a view").click()
    officer.get_by_label("Name of the view").fill("Bullying")
    officer.get_by_label("Open the list on this view from now on").check()
    officer.get_by_role("button", name="Save this view").click()
    expect(officer.get_by_role("status").first).to_contain_text("View saved")
    expect(officer.get_by_label("Your saved views")).to_contain_text("Bullying (opens first)")
    _shot(officer, "queue-saved-view-1280", False)
    check(officer, "queue with a search and a saved view")
    officer.goto("/staff/cases")
    expect(officer.get_by_label("Search inside the cases")).to_have_value("bullied")

    officer.get_by_role("link", name=made["reference"]).click()
    officer.get_by_text("Record their answer").click()
    officer.get_by_label("Yes: their identity may go with the case").check()
    officer.get_by_role("button", name="Record the answer").click()
    expect(officer.get_by_role("status").first).to_contain_text("answer about sharing their identity")

    officer.get_by_label("Add an internal note").fill("Dana Reeve is her sister.")
    officer.get_by_role("button", name="Save note").click()
    notes = officer.locator("#notes li")
    notes.last.get_by_text("Redact a passage").click()
    notes.last.get_by_label("The words to take out, copied exactly").fill("Dana Reeve")
    notes.last.get_by_role("button", name="Redact").click()
    expect(officer.locator("#notes li").last).to_contain_text("[redacted] is her sister.")
    check(officer, "case page")

    officer.get_by_text("Hand this case to a formal investigation (PDF)").click()
    with officer.expect_download() as got:
        officer.get_by_role("button", name="Download the PDF").click()
    assert got.value.suggested_filename == f"{made['reference']}.pdf"
    officer.get_by_role("link", name="History of this case").click()
    table = officer.locator("table.history")
    for words in ("Redacted a passage", "Exported the case for a formal investigation",
                  "Recorded the reporter's answer about sharing their identity"):
        expect(table).to_contain_text(words)
    expect(table).not_to_contain_text("Dana")
    assert problems == []
