"""The reporter's pages as a browser sees them (Chromium, JavaScript off unless said): one form
makes one case whatever the browser does, Back does not show what was sent, the quick exit, the
identity boxes, the outcome of a closed case, error pages, and screenshots of every page."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import Page, Route, expect

from app import clock

from .a11y import axe_violations, focus_hidden_while_tabbing
from .conftest import ARTIFACTS
from .helpers import case_count, close_case, staff_message

pytestmark = pytest.mark.browser

QUICK_EXIT = "https://www.bbc.co.uk/weather"
LEAVE = "/follow-up/leave"
TEXT = "My team leader reads my messages on my phone when I am on shift."


def shoot(page: Page, name: str) -> None:
    """Full-page screenshots at 1280 and 390 px (test-artifacts/, git-ignored), for a person to look at;
    taken in the SQLite run (the pages do not differ on PostgreSQL)."""
    if "[postgresql]" in os.environ.get("PYTEST_CURRENT_TEST", ""):
        return
    ARTIFACTS.mkdir(exist_ok=True)
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(ARTIFACTS / f"reporter-{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def send(page: Page, text: str = TEXT) -> str:
    page.goto("/report")
    page.get_by_label("What happened?").fill(text)
    page.get_by_role("button", name="Send my concern").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your concern has been sent")
    return page.locator("#receipt").inner_text().strip()


def sign_in(page: Page, receipt: str) -> None:
    page.goto("/follow-up")
    page.get_by_label("Your receipt").fill(receipt)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your concern")


# -- one form, one case ------------------------------------------------------------------------------


def test_reloading_the_confirmation_shows_the_same_receipt_and_opens_no_second_case(page: Page, db: Any) -> None:
    receipt = send(page)
    page.reload()  # the browser sends the form again
    expect(page.get_by_role("heading", level=1)).to_have_text("Your concern has been sent")
    expect(page.locator("#receipt")).to_have_text(receipt)
    expect(page.get_by_role("status")).to_contain_text("already been sent")
    assert case_count(db) == 1


def test_a_double_click_makes_one_case_and_shows_its_receipt(page: Page, db: Any) -> None:
    # (Whether Chromium sends the second click's POST depends on timing; the HTTP tests in
    # test_pages.py send both, at once and while the first is still running.)
    page.goto("/report")
    page.get_by_label("What happened?").fill(TEXT)
    page.get_by_role("button", name="Send my concern").dblclick()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your concern has been sent")
    receipt = page.locator("#receipt").inner_text().strip()
    assert case_count(db) == 1
    sign_in(page, receipt)  # and the receipt shown is the case's
    expect(page.locator("#what-you-wrote")).to_contain_text(TEXT)


def test_back_after_sending_does_not_show_the_description(page: Page, db: Any) -> None:
    send(page)
    page.go_back()
    expect(page.get_by_role("heading", level=1)).to_have_text("Raise a concern")
    expect(page.get_by_label("What happened?")).to_have_value("")
    assert case_count(db) == 1


def test_a_re_sent_form_after_the_window_says_when_it_was_sent_without_the_receipt(page: Page, db: Any) -> None:
    receipt = send(page)
    clock.set_frozen(clock.now() + timedelta(minutes=16))
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text("This concern was sent earlier")
    expect(page.locator("main")).to_contain_text("shown again only in the first 15 minutes")
    expect(page.locator("main")).not_to_contain_text(receipt)
    assert case_count(db) == 1
    shoot(page, "already-sent")


# -- quick exit ----------------------------------------------------------------------------------------


def _walk_reporter_pages(page: Page, at_each: Callable[[Page, str], None]) -> list[str]:
    """Every reporter page, reached as a reporter would; `at_each` is called on each."""
    seen: list[str] = []

    def here(name: str) -> None:
        seen.append(name)
        at_each(page, name)

    page.goto("/")
    here("home")
    page.goto("/report")
    here("report")
    page.get_by_role("button", name="Send my concern").click()
    here("report-with-errors")
    page.get_by_label("What happened?").fill(TEXT)
    page.get_by_role("button", name="Send my concern").click()
    here("confirmation")
    receipt = page.locator("#receipt").inner_text().strip()
    page.goto("/follow-up")
    here("follow-up-sign-in")
    page.get_by_label("Your receipt").fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    here("follow-up-wrong-receipt")
    sign_in(page, receipt)
    here("case")
    page.get_by_role("button", name="Sign out").first.click()
    here("signed-out")
    page.goto("/followup")
    here("not-found")
    return seen


def check_quick_exit(page: Page, name: str) -> None:
    link = page.get_by_role("link", name=re.compile(r"^Leave this site"))
    expect(link).to_have_attribute("href", LEAVE)  # through the service, which ends the session
    assert page.evaluate("!!document.getElementById('quick-exit').closest('[role=region][aria-label]')"), name
    expect(link).to_be_visible()
    # Second stop for the keyboard, straight after "Skip to main content".
    assert page.evaluate("[...document.querySelectorAll('a,button,input,textarea,select,summary')][1].id") == "quick-exit", name


def test_quick_exit_is_on_every_reporter_page_and_each_page_is_photographed(
    page: Page, chromium: Any, live_server: str
) -> None:
    """Each page also passes axe-core at 1280 and 390 px, and at 390 px the keyboard's focus is
    never hidden under the sticky exit bar (in the SQLite run: the pages do not differ)."""
    checked = "[sqlite]" in os.environ.get("PYTEST_CURRENT_TEST", "")
    problems: list[str] = []
    scripted = chromium.new_context(base_url=live_server)  # axe needs JavaScript: see a11y.py
    scratch = scripted.new_page()

    def check_and_shoot(p: Page, name: str) -> None:
        check_quick_exit(p, name)
        shoot(p, name)
        if not checked:
            return
        problems.extend(f"{name} at 1280 px: {v}" for v in axe_violations(p, scratch))
        p.set_viewport_size({"width": 390, "height": 844})
        problems.extend(f"{name} at 390 px: {v}" for v in axe_violations(p, scratch))
        problems.extend(f"{name} at 390 px: {v}" for v in focus_hidden_while_tabbing(p))
        p.set_viewport_size({"width": 1280, "height": 900})

    try:
        assert len(_walk_reporter_pages(page, check_and_shoot)) == 9
    finally:
        scripted.close()
    assert problems == []


# The server's side (session ended, cookies, Clear-Site-Data) runs on both databases in
# test_leaving_and_receipts.py; this is what the browser does with it.
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_leaving_in_one_press_leaves_nothing_to_come_back_to(chromium: Any, live_server: str) -> None:
    """With JavaScript, as on most phones: sign in, "Leave this site", Back, the address typed
    again, a reopened tab: no concern anywhere. Shift three times does the same, blanking the page
    at once. On the way: the reveal says whether it is expanded, and the receipt fits one line at
    320 px and prints alone."""
    context = chromium.new_context(base_url=live_server)  # JavaScript on
    context.set_default_timeout(10_000)
    def weather(route: Route) -> None:
        route.fulfill(status=200, content_type="text/html", body="<title>Weather</title><h1>Weather</h1>")

    context.route(QUICK_EXIT + "*", weather)
    try:
        page = context.new_page()
        page.set_viewport_size({"width": 320, "height": 700})
        page.goto("/report")
        named = page.get_by_label("Yes, give my name")
        expect(named).to_have_attribute("aria-controls", "details")
        expect(named).to_have_attribute("aria-expanded", "false")
        named.check()
        expect(named).to_have_attribute("aria-expanded", "true")
        page.get_by_label("No, stay anonymous").check()
        expect(named).to_have_attribute("aria-expanded", "false")
        receipt = send(page)
        groups = page.locator("#receipt .group")
        expect(groups).to_have_count(6)
        tops = groups.evaluate_all("gs => gs.map(g => Math.round(g.getBoundingClientRect().top))")
        assert len(set(tops)) == 1, tops  # one line at 320 px
        page.emulate_media(media="print")
        expect(page.locator("#receipt")).to_be_visible()
        for hidden in ("#quick-exit", "h1", ".site-header"):
            expect(page.locator(hidden)).to_be_hidden()
        page.emulate_media(media="screen")

        page.set_viewport_size({"width": 390, "height": 844})
        sign_in(page, receipt)
        expect(page.get_by_text("Read what you wrote")).to_be_visible()
        page.get_by_role("link", name=re.compile(r"^Leave this site")).click()
        expect(page).to_have_url(QUICK_EXIT)
        page.go_back()
        expect(page.get_by_role("heading", level=1)).not_to_have_text("Your concern")
        assert "Read what you wrote" not in page.content() and TEXT not in page.content()
        page.goto("/follow-up")  # the address typed again
        expect(page.get_by_label("Your receipt")).to_be_visible()
        assert "Read what you wrote" not in page.content()

        # Shift three times: the page is blank at once, before the browser has left.
        sign_in(page, receipt)
        left: list[str] = []
        page.route("**" + LEAVE, lambda route: (left.append(route.request.url), route.fulfill(status=204)))
        page.locator("h1").click()
        for _ in range(3):
            page.keyboard.press("Shift")
        expect(page.locator("body")).to_be_empty()
        assert page.title() == "" and left == [live_server + LEAVE]
        page.close()
        # What the browser was doing, with this browser's cookies (Playwright does not route the
        # redirect of a typed address to the neutral site, so it is not followed here).
        left_page = context.request.get(LEAVE, max_redirects=0)
        assert left_page.status == 303 and left_page.headers["location"] == QUICK_EXIT
        reopened = context.new_page()
        reopened.goto("/follow-up")  # a new tab, the address typed again
        expect(reopened.get_by_label("Your receipt")).to_be_visible()
        assert "Read what you wrote" not in reopened.content()
    finally:
        context.close()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # about the page, not the database
def test_quick_exit_without_javascript_is_a_plain_link_to_the_neutral_site(page: Page) -> None:
    page.route(QUICK_EXIT + "*", lambda route: route.fulfill(status=200, content_type="text/html", body="<h1>Weather</h1>"))
    page.goto("/report")
    page.get_by_role("link", name=re.compile(r"^Leave this site")).click()  # through /follow-up/leave
    expect(page).to_have_url(QUICK_EXIT)


# -- the form ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # about the page, not the database
def test_identity_boxes_are_hidden_while_staying_anonymous(page: Page) -> None:
    page.goto("/report")
    expect(page.get_by_label("No, stay anonymous")).to_be_checked()
    for box in ("Your name", "Email address (optional)", "Phone number (optional)"):
        expect(page.get_by_label(box)).to_be_hidden()
    page.get_by_label("Yes, give my name").check()
    for box in ("Your name", "Email address (optional)", "Phone number (optional)"):
        expect(page.get_by_label(box)).to_be_visible()
    page.get_by_label("Your name").fill("Sam")
    page.get_by_label("No, stay anonymous").check()
    expect(page.get_by_label("Your name")).to_be_hidden()



@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # about the page, not the database
def test_the_form_is_much_shorter_on_a_phone(page: Page) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/report")
    height = page.evaluate("document.documentElement.scrollHeight")
    # 3,850 px before the topics were folded away and the identity boxes hidden; 2,600 before the
    # radios and checkboxes became 40 px targets.
    assert height < 2800, height
    page.get_by_text("Choose topics that fit your concern").click()
    expect(page.get_by_label("Domestic abuse")).to_be_visible()


def test_text_typed_into_an_expired_form_is_not_lost(page: Page) -> None:
    page.goto("/report")
    page.context.clear_cookies()  # the browser was closed and reopened: the form's token is no longer valid
    page.get_by_label("What happened?").fill(TEXT)
    page.get_by_label("Talk it through with someone").check()
    page.get_by_role("button", name="Send my concern").click()
    expect(page.get_by_role("alert")).to_contain_text("this form had expired, so nothing was sent")
    expect(page.get_by_label("What happened?")).to_have_value(TEXT)
    expect(page.get_by_label("Talk it through with someone")).to_be_checked()
    shoot(page, "report-expired")
    page.get_by_role("button", name="Send my concern").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your concern has been sent")


# -- following up ------------------------------------------------------------------------------------


def test_reporter_rereads_what_they_wrote_and_sees_who_wrote_each_message(page: Page, app: Any) -> None:
    receipt = send(page)
    staff_message(app, receipt, "Thank you for telling us. We have read it.")
    staff_message(app, receipt, "I am Hana, your point of contact. Can we talk on Monday?", by_hr_contact=True)
    sign_in(page, receipt)
    page.get_by_text("Read what you wrote").click()
    expect(page.locator("#what-you-wrote")).to_contain_text(TEXT)
    metas = page.locator("#thread .meta strong")
    expect(metas).to_have_text(["The safeguarding team", "Your HR contact"])
    page.get_by_label("Your message").fill("Monday after 2pm is fine.")
    page.get_by_role("button", name="Send message").click()
    expect(page.locator("#thread .meta strong").last).to_have_text("You")
    shoot(page, "case")


def test_a_closed_case_shows_its_outcome_and_asks_for_feedback_after_the_last_messages(page: Page, app: Any) -> None:
    receipt = send(page)
    staff_message(app, receipt, "We have put you in touch with the counselling service. Take care.")
    close_case(app, receipt)
    sign_in(page, receipt)
    expect(page.locator("#outcome")).to_contain_text("Pointed to other support")
    order = page.evaluate(
        "[...document.querySelectorAll('#thread-title, #feedback-title, #reply-title')].map(e => e.id)")
    assert order == ["thread-title", "feedback-title", "reply-title"]
    shoot(page, "case-closed")


# -- errors ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # about the page, not the database
def test_a_browser_gets_an_html_404_page(page: Page) -> None:
    response = page.goto("/followup")
    assert response is not None and response.status == 404
    assert response.headers["content-type"].startswith("text/html")
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    expect(page.get_by_role("link", name="follow up with your receipt", exact=True)).to_have_attribute("href", "/follow-up")
    shoot(page, "not-found")


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # about the page, not the database
def test_the_favicon_is_served(page: Page, live_server: str) -> None:
    for path, kind in (("/favicon.ico", "image/x-icon"), ("/static/favicon.svg", "image/svg+xml")):
        response = page.request.get(live_server + path)
        assert response.status == 200 and response.headers["content-type"].startswith(kind)


