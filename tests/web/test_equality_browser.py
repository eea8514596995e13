"""The optional equality monitoring section of the report form, in Chromium with JavaScript off."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from app import clock
from app.equality.models import EqualityAnswer

pytestmark = pytest.mark.browser


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"min_cell": 1}  # every answer is published at once, so the test can see it


def test_the_folded_section_opens_and_its_answers_are_stored_apart(page: Page, db: Any) -> None:
    page.goto("/report")
    summary = page.locator("summary", has_text="Equality monitoring (optional)")
    age = page.get_by_role("group", name="Age", exact=True)
    expect(summary).to_be_visible()
    expect(age).to_be_hidden()  # collapsed by default
    summary.click()  # <details> opens without JavaScript
    expect(age).to_be_visible()
    expect(page.get_by_text("never linked to it")).to_be_visible()
    expect(age.get_by_label("Not answered")).to_be_checked()  # radios: a mistaken choice can be taken back
    age.get_by_label("35-44").check()
    orientation = page.get_by_role("group", name="Sexual orientation", exact=True)
    orientation.get_by_label("Prefer not to say").check()
    orientation.get_by_label("Not answered").check()  # changed their mind...
    orientation.get_by_label("Prefer not to say").check()  # ...and back
    page.get_by_label("What happened?").fill("Comments about my accent on shift.")
    page.get_by_role("button", name="Send my concern").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your concern has been sent")
    db.rollback()
    month = clock.today().strftime("%Y-%m")
    stored = {(r.characteristic, r.value) for r in db.execute(
        select(EqualityAnswer.characteristic, EqualityAnswer.value).where(EqualityAnswer.month == month))}
    db.rollback()
    assert ("age_band", "35-44") in stored and ("sexual_orientation", "prefer_not_to_say") in stored
    assert ("sex", "not_answered") in stored
