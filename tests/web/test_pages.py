"""The reporters' pages at the HTTP level: forms, validation, CSRF, headers and what is stored."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.cases import intake, thread
from app.cases.models import Case, Feedback, Message
from app.crypto import receipts
from app.enums import Channel, Sender
from app.reports import sessions
from tests import support

from .helpers import (
    DESCRIPTION,
    case_count,
    case_id_for,
    close_case,
    csrf,
    receipt_in,
    report_form,
    sign_in,
    staff_message,
    submit,
)

PAGES = ["/", "/report", "/follow-up"]


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {
        "organisation_name": "Northshire Fire and Rescue",
        "other_routes_html": "<li>Speak to <strong>your station manager</strong>.</li>",
        "receipt_max_failures": 3,
    }


def _signed_in(client: TestClient) -> str:
    receipt = submit(client)
    sign_in(client, receipt)
    return receipt


# -- Home ----------------------------------------------------------------------------------------


def test_home_page_explains_safe_share_and_the_other_routes(client: TestClient) -> None:
    r = client.get("/")
    assert r.status_code == 200
    text = r.text
    assert "Northshire Fire and Rescue" in text
    assert "24 hours a day, 7 days a week" in text
    assert "anonymous" in text
    assert "safeguarding team reads" in text and "receipt" in text and "HR" in text
    # Trusted HTML from settings is rendered, not escaped.
    assert "<li>Speak to <strong>your station manager</strong>.</li>" in text


@pytest.mark.parametrize("path", PAGES)
def test_page_has_one_h1_a_language_and_labelled_controls(client: TestClient, path: str) -> None:
    html = client.get(path).text
    assert '<html lang="en">' in html
    assert len(re.findall(r"<h1[\s>]", html)) == 1
    ids = set(re.findall(r'<(?:input|textarea|select)(?![^>]*type="hidden")[^>]*\sid="([^"]+)"', html))
    controls = re.findall(r'<(?:input|textarea|select)(?![^>]*type="hidden")[^>]*>', html)
    assert len(ids) == len(controls), "every visible control needs an id"
    for control_id in ids:
        assert f'<label for="{control_id}"' in html, f"no label for #{control_id}"


# -- Security headers and assets -----------------------------------------------------------------


@pytest.mark.parametrize("path", PAGES)
def test_pages_send_strict_security_headers(client: TestClient, path: str) -> None:
    r = client.get(path)
    csp = r.headers["content-security-policy"]
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp
    assert "script-src 'self';" in csp  # this site's own files only (the quick exit), never inline
    assert r.headers["referrer-policy"] == "no-referrer"
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["x-content-type-options"] == "nosniff"


def test_confirmation_page_is_not_cached(client: TestClient) -> None:
    r = client.post("/report", data=report_form(csrf(client)))
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-store"
    assert "location" not in r.headers


QUICK_EXIT = '<a class="quick-exit" id="quick-exit" href="/follow-up/leave" rel="noreferrer">'
SCRIPT = '<script src="/static/quick-exit.js" defer></script>'
REVEAL = '<script src="/static/reveal.js" defer></script>'  # the report form's conditional reveal


def _assert_self_contained(html: str) -> None:
    # The one link elsewhere is the quick exit (a navigation, nothing loaded from there), and the
    # one script is this site's own file; both are taken out before looking for anything else.
    assert html.count(QUICK_EXIT) == 1 and html.count(SCRIPT) == 1
    html = html.replace(QUICK_EXIT, "").replace(SCRIPT, "").replace(REVEAL, "")
    urls = re.findall(r'(?:href|src|action|srcset|formaction)\s*=\s*"([^"]*)"', html)
    assert urls
    for url in urls:
        assert url.startswith(("/", "#")) and not url.startswith("//"), f"external or odd URL: {url}"
    assert "http://" not in html and "https://" not in html
    assert "<script" not in html.lower()
    assert "<style" not in html.lower() and " style=" not in html.lower()


def test_no_page_loads_anything_from_elsewhere_or_inline(client: TestClient, db: Session) -> None:
    for path in PAGES:
        _assert_self_contained(client.get(path).text)
    _assert_self_contained(client.post("/report", data=report_form(csrf(client), description="")).text)
    _assert_self_contained(client.post("/report", data=report_form(csrf(client))).text)
    _assert_self_contained(client.post("/report", data=report_form("forged")).text)
    _assert_self_contained(client.get("/no-such-page", headers={"Accept": "text/html"}).text)
    _assert_self_contained(client.post("/follow-up", data={"csrf_token": csrf(client), "receipt": "nope"}).text)
    receipt = _signed_in(client)
    staff_message(client.app, receipt, "Hello")
    _assert_self_contained(client.get("/follow-up").text)
    _assert_self_contained(client.post("/follow-up/sign-out", data={"csrf_token": csrf(client)}).text)


def test_stylesheet_is_served_from_this_site(client: TestClient) -> None:
    r = client.get("/static/site.css")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/css")
    assert "@import" not in r.text and "url(" not in r.text


# -- The report form -----------------------------------------------------------------------------


def test_report_form_offers_active_themes_and_plain_wishes(client: TestClient, db: Session) -> None:
    from app.themes import service as themes

    active = themes.list_themes(db, active_only=True)
    db.rollback()
    html = client.get("/report").text
    assert active, "the migration seeds themes"
    for theme in active:
        assert f'value="{theme.slug}"' in html
    assert "A facilitated conversation" in html and "A formal investigation" in html
    assert 'name="identity" value="anonymous"' in html


def test_valid_report_shows_the_receipt_once_and_stores_a_web_case(client: TestClient, db: Session) -> None:
    token = csrf(client)
    r = client.post("/report", data=report_form(token, wish=["talk", "investigation"], about="colleague"))
    assert r.status_code == 200
    receipt = receipt_in(r.text)
    assert receipt
    assert "we cannot show it to you again later" in r.text
    case = intake.find_by_receipt(db, client.app.state.keyring, receipt)
    assert case is not None and case.channel is Channel.WEB and case.anonymous
    assert case.wishes == ["talk", "investigation"]
    assert support.read_description(db, client.app.state.keyring, case) == DESCRIPTION
    assert case.reference in r.text
    db.rollback()


def test_named_report_stores_the_reporters_details(client: TestClient, db: Session) -> None:
    receipt = submit(client, identity="named", name="Sam Okafor", email="sam@example.org", phone="07700 900123")
    case = intake.find_by_receipt(db, client.app.state.keyring, receipt)
    assert case is not None and not case.anonymous
    assert support.read_reporter(db, client.app.state.keyring, case) == {
        "name": "Sam Okafor", "email": "sam@example.org", "phone": "07700 900123"}
    db.rollback()


def test_empty_description_is_422_with_a_linked_error_and_nothing_lost(client: TestClient, db: Session) -> None:
    token = csrf(client)
    r = client.post("/report", data=report_form(token, description="   ", identity="named", name="Sam",
                                                 email="sam@example.org", wish=["coaching"], about="other"))
    assert r.status_code == 422
    html = r.text
    assert 'role="alert"' in html and '<a href="#description">' in html
    assert 'id="description-error"' in html
    assert re.search(r'<textarea id="description"[^>]*aria-describedby="[^"]*description-error', html)
    assert 'value="Sam"' in html and 'value="sam@example.org"' in html
    assert re.search(r'id="identity-named"[^>]*checked', html)
    assert re.search(r'id="wish-coaching"[^>]*checked', html)
    assert re.search(r'id="about-other"[^>]*checked', html)
    assert html.count("<title>Error:") == 1
    assert case_count(db) == 0


def test_named_report_without_a_name_asks_for_one(client: TestClient, db: Session) -> None:
    r = client.post("/report", data=report_form(csrf(client), identity="named"))
    assert r.status_code == 422
    assert '<a href="#name">Enter your name, or choose to stay anonymous.</a>' in r.text
    assert DESCRIPTION in r.text
    assert case_count(db) == 0


def test_anonymous_report_with_details_typed_in_is_sent_without_them(client: TestClient, db: Session) -> None:
    # The boxes are hidden once "stay anonymous" is chosen: what they still hold is never sent.
    r = client.post("/report", data=report_form(csrf(client), identity="anonymous", name="Sam Okafor",
                                                 email="sam@example.org"))
    assert r.status_code == 200
    assert "You chose to stay anonymous, so the name or contact details you had typed were" in r.text
    assert "Sam Okafor" not in r.text
    case = db.scalars(select(Case)).one()
    assert case.anonymous and case.reporter_ct is None


def test_badly_formed_email_gets_a_message_beside_the_field(client: TestClient, db: Session) -> None:
    r = client.post("/report", data=report_form(csrf(client), identity="named", name="Sam", email="sam-at-home"))
    assert r.status_code == 422
    assert 'id="email-error"' in r.text and 'value="sam-at-home"' in r.text
    assert case_count(db) == 0


def test_description_over_20000_characters_is_refused_but_kept(client: TestClient, db: Session) -> None:
    long = "x" * 20001
    r = client.post("/report", data=report_form(csrf(client), description=long))
    assert r.status_code == 422
    assert "too long" in r.text and long in r.text
    assert case_count(db) == 0


def test_line_breaks_count_once_towards_the_limit(client: TestClient, db: Session) -> None:
    text = "line\r\n" * 3333 + "ab"  # 20,000 characters as the person sees them
    r = client.post("/report", data=report_form(csrf(client), description=text))
    assert r.status_code == 200
    assert case_count(db) == 1


def test_unknown_wish_or_theme_is_refused(client: TestClient, db: Session) -> None:
    r = client.post("/report", data=report_form(csrf(client), wish=["revenge"], theme=["no-such-theme"]))
    assert r.status_code == 422
    assert '<a href="#wishes">' in r.text and '<a href="#themes">' in r.text
    assert case_count(db) == 0


def test_user_text_is_escaped(client: TestClient) -> None:
    r = client.post("/report", data=report_form(csrf(client), description="<script>alert(1)</script>", identity="x"))
    assert "<script>alert(1)" not in r.text and "&lt;script&gt;alert(1)" in r.text


# -- CSRF ----------------------------------------------------------------------------------------


def test_report_without_csrf_token_is_refused_and_nothing_stored(client: TestClient, db: Session) -> None:
    csrf(client)
    data = report_form("", wish=["talk"])
    del data["csrf_token"]
    r = client.post("/report", data=data)
    assert r.status_code == 403
    assert "this form had expired, so nothing was sent" in r.text
    # Nothing typed is lost: the form comes back as it was, with a fresh token that works.
    assert DESCRIPTION in r.text and 'value="talk" aria-describedby="wish-talk-hint" checked' in r.text
    assert case_count(db) == 0
    token = re.search(r'name="csrf_token" value="([^"]+)"', r.text)
    assert token
    assert client.post("/report", data=report_form(token.group(1))).status_code == 200
    assert case_count(db) == 1


def test_post_from_another_site_is_refused_without_echoing_it(client: TestClient, db: Session) -> None:
    token = csrf(client)
    r = client.post("/report", data=report_form(token, description="Planted by another site"),
                    headers={"Sec-Fetch-Site": "same-site"})
    assert r.status_code == 403
    assert "Nothing was sent or saved" in r.text and "Planted by another site" not in r.text
    r = client.post("/report", data=report_form(token), headers={"Origin": "https://evil.example.org"})
    assert r.status_code == 403
    assert case_count(db) == 0


def test_report_with_wrong_csrf_token_is_refused_and_nothing_stored(client: TestClient, db: Session) -> None:
    csrf(client)
    r = client.post("/report", data=report_form("x" * 43))
    assert r.status_code == 403
    assert case_count(db) == 0


def test_report_without_csrf_cookie_is_refused(app: Any, db: Session) -> None:
    with TestClient(app) as first:
        token = csrf(first)
    with TestClient(app) as other:  # a forged cross-site post carries no cookie of ours
        r = other.post("/report", data=report_form(token))
    assert r.status_code == 403
    assert case_count(db) == 0


def test_follow_up_forms_check_csrf(client: TestClient, db: Session) -> None:
    case_id = case_id_for(client.app, _signed_in(client))
    for path, data in [("/follow-up/messages", {"body": "Hi"}), ("/follow-up", {"receipt": "abcd"}),
                       ("/follow-up/feedback", {"listened_to": "5"})]:
        r = client.post(path, data={**data, "csrf_token": "wrong" * 9}, follow_redirects=False)
        assert r.status_code == 403, path
    assert db.scalars(select(Message).where(Message.case_id == case_id)).all() == []
    db.rollback()
    assert client.get("/follow-up").text.count("Send a message") == 1  # still signed in


def test_message_whose_form_expired_is_kept_in_the_box(client: TestClient, db: Session) -> None:
    _signed_in(client)
    r = client.post("/follow-up/messages", data={"body": "Please call me after six.", "csrf_token": "stale"})
    assert r.status_code == 403
    assert "your message was not sent" in r.text
    assert '<textarea id="body" name="body" rows="6" aria-describedby="body-hint">Please call me after six.</textarea>' in r.text


# -- Follow-up -----------------------------------------------------------------------------------


def test_sign_in_cookie_is_httponly_strict_and_scoped(client: TestClient) -> None:
    receipt = submit(client)
    r = client.post("/follow-up", data={"csrf_token": csrf(client, "/follow-up"), "receipt": receipt},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/follow-up"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("ss_reporter=ssr_")
    lower = cookie.lower()
    assert "httponly" in lower and "samesite=strict" in lower and "path=/follow-up" in lower
    assert receipt not in r.headers["location"]


def test_receipt_is_accepted_in_lower_case_with_spaces(client: TestClient) -> None:
    receipt = submit(client)
    sign_in(client, receipt.replace("-", " ").lower())
    page = client.get("/follow-up").text
    assert "Your concern" in page and "Received" in page


def test_wrong_receipt_is_one_calm_401(client: TestClient) -> None:
    submit(client)
    unknown = receipts.new_receipt()  # well formed, check character right: nobody's
    r = client.post("/follow-up", data={"csrf_token": csrf(client, "/follow-up"), "receipt": unknown})
    assert r.status_code == 401
    assert r.text.count('class="error-message"') == 1
    assert "We could not find a concern with that receipt" in r.text
    assert "ss_reporter=ssr_" not in r.headers.get("set-cookie", "")


def test_empty_receipt_asks_for_one(client: TestClient) -> None:
    r = client.post("/follow-up", data={"csrf_token": csrf(client, "/follow-up"), "receipt": " "})
    assert r.status_code == 422 and "Enter the receipt" in r.text


def test_too_many_wrong_receipts_say_how_long_to_wait(client: TestClient) -> None:
    token = csrf(client, "/follow-up")
    for _ in range(3):
        client.post("/follow-up", data={"csrf_token": token, "receipt": "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF"})
    r = client.post("/follow-up", data={"csrf_token": token, "receipt": "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF"})
    assert r.status_code == 429
    assert int(r.headers["retry-after"]) > 0
    assert re.search(r"Please wait \d+ minutes? and try again", r.text)


def test_staff_message_shows_and_reply_is_stored(client: TestClient, db: Session) -> None:
    receipt = _signed_in(client)
    staff_message(client.app, receipt, "Thank you for telling us.\nCan we talk?")
    assert "Thank you for telling us." in client.get("/follow-up").text
    r = client.post("/follow-up/messages", data={"csrf_token": csrf(client, "/follow-up"), "body": "Yes, Tuesday."},
                    follow_redirects=False)
    assert r.status_code == 303
    page = client.get(r.headers["location"]).text
    assert "Your message has been sent" in page and "Yes, Tuesday." in page
    case = intake.find_by_receipt(db, client.app.state.keyring, receipt)
    assert case is not None
    bodies = [(m.sender, body) for m, body in thread.read_messages(db, client.app.state.keyring, case)]
    assert bodies == [(Sender.STAFF, "Thank you for telling us.\nCan we talk?"), (Sender.REPORTER, "Yes, Tuesday.")]
    db.rollback()


def test_empty_reply_is_422_and_nothing_stored(client: TestClient, db: Session) -> None:
    case_id = case_id_for(client.app, _signed_in(client))
    r = client.post("/follow-up/messages", data={"csrf_token": csrf(client, "/follow-up"), "body": "  "})
    assert r.status_code == 422 and '<a href="#body">' in r.text
    assert db.scalars(select(Message).where(Message.case_id == case_id)).all() == []
    db.rollback()


def test_reply_after_sign_in_expired_is_kept_for_copying(client: TestClient) -> None:
    receipt = submit(client)
    sign_in(client, receipt)
    client.cookies.set("ss_reporter", "ssr_" + "x" * 43, path="/follow-up")
    r = client.post("/follow-up/messages", data={"csrf_token": csrf(client, "/follow-up"), "body": "Please call me"})
    assert r.status_code == 401
    assert "your message was not sent" in r.text and "Please call me" in r.text


def test_feedback_form_appears_only_after_closure(client: TestClient, db: Session) -> None:
    receipt = _signed_in(client)
    assert "How did it go?" not in client.get("/follow-up").text
    close_case(client.app, receipt)
    page = client.get("/follow-up").text
    assert "How did it go?" in page and "messages can no longer be sent" in page


def test_feedback_with_a_missing_rating_keeps_the_other_answers(client: TestClient, db: Session) -> None:
    receipt = _signed_in(client)
    close_case(client.app, receipt)
    r = client.post("/follow-up/feedback", data={"csrf_token": csrf(client, "/follow-up"), "listened_to": "4",
                                                  "kept_informed": "2", "support_suitable": "5", "comment": "Kind"})
    assert r.status_code == 422
    assert '<a href="#would_recommend-1">' in r.text
    assert re.search(r'id="kept_informed-2"[^>]*checked', r.text) and ">Kind</textarea>" in r.text
    assert db.get(Feedback, case_id_for(client.app, receipt)) is None
    db.rollback()


def test_feedback_is_stored_once(client: TestClient, db: Session) -> None:
    receipt = _signed_in(client)
    close_case(client.app, receipt)
    data = {"csrf_token": csrf(client, "/follow-up"), "listened_to": "4", "kept_informed": "3",
            "support_suitable": "5", "would_recommend": "4"}
    r = client.post("/follow-up/feedback", data=data, follow_redirects=False)
    assert r.status_code == 303
    page = client.get(r.headers["location"]).text
    assert "Thank you for your feedback" in page and "How did it go?" not in page
    again = client.post("/follow-up/feedback", data={**data, "listened_to": "1"}, follow_redirects=False)
    assert again.status_code == 303
    assert db.get(Feedback, case_id_for(client.app, receipt)).listened_to == 4  # type: ignore[union-attr]
    db.rollback()


def test_sign_out_ends_the_session(client: TestClient, db: Session) -> None:
    _signed_in(client)
    token = client.cookies.get("ss_reporter")
    r = client.post("/follow-up/sign-out", data={"csrf_token": csrf(client, "/follow-up")})
    assert r.status_code == 200 and "You have signed out" in r.text
    assert 'ss_reporter=""' in r.headers["set-cookie"] or "Max-Age=0" in r.headers["set-cookie"]
    assert sessions.case_for_token(db, token) is None
    db.rollback()


# -- Errors: a page for a browser, problem+json for an API client ---------------------------------------


BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.mark.parametrize("accept", [BROWSER_ACCEPT, "text/html"])
def test_browser_gets_an_html_404_page(client: TestClient, accept: str) -> None:
    r = client.get("/followup", headers={"Accept": accept})
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    assert "<h1>Page not found</h1>" in r.text and 'href="/follow-up"' in r.text
    assert r.headers["cache-control"] == "no-store" and "frame-ancestors 'none'" in r.headers["content-security-policy"]


@pytest.mark.parametrize("accept", ["*/*", "application/json", "application/problem+json", "",
                                    "text/html;q=0.5, application/json"])
def test_api_clients_get_problem_json_for_a_missing_page(client: TestClient, accept: str) -> None:
    r = client.get("/followup", headers={"Accept": accept})
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["status"] == 404


def test_the_api_answers_in_problem_json_even_to_a_browser(client: TestClient) -> None:
    r = client.get("/api/v1/no-such-thing", headers={"Accept": BROWSER_ACCEPT})
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    r = client.get("/api/v1/reporter/case", headers={"Accept": BROWSER_ACCEPT})
    assert r.status_code == 401 and r.headers["content-type"] == "application/problem+json"


def test_wrong_method_on_a_page_is_an_html_page_for_a_browser(client: TestClient) -> None:
    r = client.delete("/report", headers={"Accept": BROWSER_ACCEPT})
    assert r.status_code == 405 and r.headers["content-type"].startswith("text/html")
    assert "allow" in {k.lower() for k in r.headers}


def test_favicon_is_served_at_the_conventional_address(client: TestClient) -> None:
    r = client.get("/favicon.ico")
    assert r.status_code == 200 and r.headers["content-type"] == "image/x-icon" and r.content[:4] == b"\x00\x00\x01\x00"
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in client.get("/").text
