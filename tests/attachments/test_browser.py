"""Attachments in headless Debian Chromium with JavaScript off: a reporter sends a photo with the
form and a file with a reply, the safeguarding officer sees the preview on the case page. Each page
is photographed at 1280 and 390 px into test-artifacts/attachments/ for a person to look at."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.attachments import files

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "attachments"


@pytest.fixture
def new_page(chromium: Browser, live_server: str) -> Iterator[Any]:
    contexts = []

    def make() -> Page:
        ctx = chromium.new_context(java_script_enabled=False, base_url=live_server)
        ctx.set_default_timeout(15_000)
        contexts.append(ctx)
        return ctx.new_page()

    yield make
    for ctx in contexts:
        ctx.close()


def shoot(page: Page, name: str) -> None:
    if "[postgresql]" in os.environ.get("PYTEST_CURRENT_TEST", ""):
        return
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(ARTIFACTS / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def test_a_photo_goes_from_the_reporters_phone_to_the_case_page_without_its_details(
    new_page: Any, make_staff: Any, tmp_path: Path
) -> None:
    photo = tmp_path / "IMG_20260131_221500.jpg"
    photo.write_bytes(files.phone_photo(640, 480))
    word = tmp_path / "statement.docx"
    word.write_bytes(files.word_document())
    reporter = new_page()
    reporter.goto("/report")
    reporter.get_by_label("What happened?").fill("He keeps sending me messages like these late at night.")
    reporter.get_by_label("Photos or documents (optional)").set_input_files([str(photo), str(word)])
    reporter.get_by_role("button", name="Send my concern").click()
    expect(reporter.locator(".error-summary")).to_contain_text("Save it as a PDF")
    expect(reporter.locator("#attachments-rechoose")).to_contain_text("statement.docx")
    shoot(reporter, "report-refused")
    reporter.get_by_label("Photos or documents (optional)").set_input_files([str(photo)])
    reporter.get_by_role("button", name="Send my concern").click()
    expect(reporter.get_by_role("heading", level=1)).to_have_text("Your concern has been sent")
    expect(reporter.locator(".file-report")).to_contain_text("location (GPS)")
    shoot(reporter, "confirmation")
    receipt = reporter.locator("#receipt").inner_text().strip()

    reporter.goto("/follow-up")
    reporter.get_by_label("Your receipt").fill(receipt)
    reporter.get_by_role("button", name="Sign in").click()
    reporter.get_by_label("Your message").fill("And this is the note he left on my locker.")
    note = tmp_path / "note.txt"
    note.write_text("You will regret it.\n")
    reporter.get_by_label("Add photos or documents (optional)").set_input_files([str(note)])
    reporter.get_by_role("button", name="Send message").click()
    expect(reporter.locator(".thread")).to_contain_text("note.txt")
    expect(reporter.get_by_role("button", name="Withdraw note.txt")).to_be_visible()
    shoot(reporter, "follow-up")

    officer = make_staff("safeguarding", name="Sam Safeguarding")
    staff = new_page()
    staff.goto("/login")
    staff.get_by_label("E-mail address").fill(officer.email)
    staff.get_by_label("Password").fill(officer.password)
    staff.get_by_role("button", name="Sign in").click()
    staff.goto("/staff/cases")
    staff.locator("table a, .cases a").filter(has_text="SS-").first.click()
    preview = staff.get_by_role("img", name="Preview of photo.jpg")
    expect(preview).to_be_visible()
    preview.evaluate("img => img.decode()")  # measured once the cleaned copy has arrived, not while it loads
    box = preview.bounding_box()
    assert box is not None and box["width"] > 50  # the cleaned copy loaded and is shown
    expect(staff.locator("#thread")).to_contain_text("note.txt")
    shoot(staff, "case-page")
