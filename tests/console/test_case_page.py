"""One case on one page: what each person sees, the forms, and the same audit entries as the API."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.cases.models import Case, Exclusion, Message, Note
from app.checkins.models import CheckIn
from app.enums import Status
from app.notify.models import Notification
from tests.cases.conftest import World


def _audit_since(app: Any, after: int) -> list[tuple[str, str | None, str | None]]:
    with app.state.sessionmaker() as s:
        rows = s.execute(select(AuditEvent.action, AuditEvent.target, AuditEvent.actor).where(AuditEvent.id > after)
                         .order_by(AuditEvent.id)).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def _last_audit_id(app: Any) -> int:
    with app.state.sessionmaker() as s:
        return s.scalar(select(func.max(AuditEvent.id))) or 0


def _count(app: Any, model: Any, **where: Any) -> int:
    with app.state.sessionmaker() as s:
        q = select(func.count()).select_from(model)
        for k, v in where.items():
            q = q.where(getattr(model, k) == v)
        return s.scalar(q) or 0


def _case(app: Any, case_id: uuid.UUID) -> Case:
    with app.state.sessionmaker() as s:
        case = s.get(Case, case_id)
        assert case is not None
        _ = case.theme_slugs
        s.expunge(case)
        return case


@pytest.mark.parametrize("who", ["safeguarding", "assigned_hr"])
def test_reading_the_page_writes_the_api_s_audit_entries(app: Any, world: World, as_: Any, client: Any, who: str) -> None:
    case_id = world.new_case()
    headers = world.staff[who].headers
    mark = _last_audit_id(app)
    for path in ("", "/notes", "/messages", "/check-ins", "/referrals") + (("/exclusions",) if who == "safeguarding" else ()):
        assert client.get(f"/api/v1/cases/{case_id}{path}", headers=headers).status_code == 200
    api = sorted((a, t) for a, t, _ in _audit_since(app, mark))
    mark = _last_audit_id(app)
    assert as_(who).get(f"/staff/cases/{case_id}").status_code == 200
    page = sorted((a, t) for a, t, _ in _audit_since(app, mark))
    assert page == api
    assert ("case.read", "case") in page


def test_the_page_shows_the_concern_and_a_named_reporter_to_those_who_may_see_them(
    app: Any, world: World, as_: Any, client: Any
) -> None:
    r = client.post("/api/v1/reports", json={"description": "The crew manager keeps my overtime pay back.",
                                             "anonymous": False, "reporter": {"name": "Dana Price", "phone": "07700 900123"}})
    assert r.status_code == 201
    page = as_("safeguarding").get("/staff/cases", params={"reference": r.json()["reference"]})
    case_url = page.headers["location"]
    text = as_("safeguarding").get(case_url).text
    assert "The crew manager keeps my overtime pay back." in text
    assert "Dana Price" in text and "07700 900123" in text
    assert "Only the safeguarding team and this case's HR contact can see these details." in text


def test_hr_sees_the_case_but_no_triage_assignment_or_exclusions(app: Any, world: World, as_: Any) -> None:
    case_id = world.new_case()
    text = as_("assigned_hr").get(f"/staff/cases/{case_id}").text
    assert f'form=/staff/cases/{case_id}/notes"' in text
    assert f'form=/staff/cases/{case_id}/messages"' in text
    for hidden in ("/triage", "/hr-contact", "/exclusions", "/themes"):
        assert f'form=/staff/cases/{case_id}{hidden}"' not in text
    assert "Fred Formerly" not in text  # who is excluded is safeguarding's business


def test_a_suggested_theme_is_accepted_with_one_click(app: Any, world: World, as_: Any) -> None:
    case_id = world.new_case(assign=False, exclude=False,
                             description="My manager bullies me and humiliates me in front of the whole watch.")
    sg = as_("safeguarding")
    page = sg.get(f"/staff/cases/{case_id}").text
    assert 'name="theme" value="bullying"' in page  # offered as a one-click suggestion
    token = sg.token(f"/staff/cases/{case_id}")
    r = sg.post(f"/staff/cases/{case_id}/themes", {"theme": "bullying"}, token=token)
    assert r.status_code == 303 and r.headers["location"].endswith("done=theme#triage")
    case = _case(app, case_id)
    # The theme only: nobody wrote to the reporter, so the case is not acknowledged.
    assert case.primary_theme == "bullying" and case.status is Status.TRIAGED and case.acknowledged_at is None
    assert "Theme added." in sg.get(r.headers["location"]).text


def test_triage_form_saves_themes_primary_risk_and_wishes_and_tells_the_team_when_urgent(
    app: Any, world: World, as_: Any, make_staff: Any
) -> None:
    other_sg = make_staff("safeguarding", name="Olu Other")
    case_id = world.new_case(assign=False, exclude=False)
    sg = as_("safeguarding")
    token = sg.token(f"/staff/cases/{case_id}")
    r = sg.post(f"/staff/cases/{case_id}/triage", {"theme": ["bullying", "line_manager"], "primary_theme": "line_manager",
                                                  "risk": "urgent", "wish": ["talk", "investigation"]}, token=token)
    assert r.status_code == 303
    case = _case(app, case_id)
    assert (case.primary_theme, case.theme_slugs, case.risk.value, case.wishes) == (
        "line_manager", ["bullying", "line_manager"], "urgent", ["talk", "investigation"])
    with app.state.sessionmaker() as s:
        urgent = s.execute(select(Notification.user_id, Notification.urgent).where(Notification.kind == "urgent")).all()
    told = {str(u) for u, _ in urgent}
    assert other_sg.id in told and world.id("safeguarding") not in told  # not the one who did it
    assert world.id("assigned_hr") not in told and all(flag for _, flag in urgent)


def test_a_bad_triage_is_refused_beside_the_field_and_changes_nothing(app: Any, world: World, as_: Any) -> None:
    case_id = world.new_case(assign=False, exclude=False)
    sg = as_("safeguarding")
    token = sg.token(f"/staff/cases/{case_id}")
    r = sg.post(f"/staff/cases/{case_id}/triage", {"theme": ["bullying"], "primary_theme": "no_such_theme"}, token=token)
    assert r.status_code == 422
    assert 'href="#triage-primary_theme"' in r.text and "Unknown theme" in r.text
    assert _case(app, case_id).primary_theme is None


def test_assigning_books_a_check_in_and_tells_the_contact(app: Any, world: World, as_: Any) -> None:
    case_id = world.new_case(assign=False, exclude=False)
    sg = as_("safeguarding")
    token = sg.token(f"/staff/cases/{case_id}")
    r = sg.post(f"/staff/cases/{case_id}/hr-contact", {"user_id": world.id("assigned_hr")}, token=token)
    assert r.status_code == 303
    assert _count(app, CheckIn, case_id=case_id) == 1
    assert _count(app, Notification, kind="assignment", user_id=uuid.UUID(world.id("assigned_hr"))) == 1
    assert "Alex Assigned" in sg.get(f"/staff/cases/{case_id}").text


def test_only_eligible_hr_contacts_are_offered(app: Any, world: World, as_: Any) -> None:
    case_id = world.new_case(assign=False)  # excluded_hr is excluded
    page = as_("safeguarding").get(f"/staff/cases/{case_id}").text
    select_box = page.split('id="contact-user_id"', 1)[1].split("</select>", 1)[0]
    assert "Alex Assigned" in select_box and "Olly Other" in select_box
    assert "Fred Formerly" not in select_box and "Sam Safeguarding" not in select_box


def test_excluding_the_hr_contact_unassigns_them_and_hides_the_case_from_them(app: Any, world: World, as_: Any) -> None:
    case_id = world.new_case(exclude=False)
    sg = as_("safeguarding")
    token = sg.token(f"/staff/cases/{case_id}")
    r = sg.post(f"/staff/cases/{case_id}/exclusions", {"user_id": world.id("assigned_hr"), "reason": "Named in the concern"},
                token=token)
    assert r.status_code == 303
    case = _case(app, case_id)
    assert case.hr_contact_id is None and case.status is Status.RECEIVED
    assert as_("assigned_hr").get(f"/staff/cases/{case_id}").status_code == 404
    assert "Named in the concern" in sg.get(f"/staff/cases/{case_id}").text


def test_an_exclusion_needs_a_reason_and_nothing_is_stored_without_one(app: Any, world: World, as_: Any) -> None:
    case_id = world.new_case(exclude=False)
    sg = as_("safeguarding")
    token = sg.token(f"/staff/cases/{case_id}")
    r = sg.post(f"/staff/cases/{case_id}/exclusions", {"user_id": world.id("other_hr"), "reason": "  "}, token=token)
    assert r.status_code == 422 and 'href="#exclusion-reason"' in r.text
    assert _count(app, Exclusion, case_id=case_id) == 0


def test_a_note_stays_internal_and_a_message_reaches_the_reporter(app: Any, world: World, as_: Any, client: Any) -> None:
    case_id = world.new_case()
    hr = as_("assigned_hr")
    token = hr.token(f"/staff/cases/{case_id}")
    assert hr.post(f"/staff/cases/{case_id}/notes", {"body": "Internal: spoke to the station manager."},
                   token=token).status_code == 303
    assert hr.post(f"/staff/cases/{case_id}/messages", {"body": "Thank you for telling us. We are here."},
                   token=token).status_code == 303
    reporter = client.get("/api/v1/reporter/case",
                          headers={"Authorization": f"Bearer {world.reporter_token(case_id)}"}).json()
    bodies = [m["body"] for m in reporter["messages"]]
    assert bodies == ["Thank you for telling us. We are here."]
    page = hr.get(f"/staff/cases/{case_id}").text
    notes, thread = page.split('id="notes"', 1)[1].split('id="thread"', 1)
    assert "Internal: spoke to the station manager." in notes and "Internal: spoke" not in thread
    assert "Thank you for telling us." in thread


def test_an_empty_note_keeps_nothing_and_says_so(app: Any, world: World, as_: Any) -> None:
    case_id = world.new_case()
    hr = as_("assigned_hr")
    r = hr.post(f"/staff/cases/{case_id}/notes", {"body": "   "}, token=hr.token(f"/staff/cases/{case_id}"))
    assert r.status_code == 422 and 'href="#note-body"' in r.text
    assert _count(app, Note, case_id=case_id) == 0


def test_a_form_without_its_token_is_refused_and_nothing_is_stored(app: Any, world: World, as_: Any) -> None:
    case_id = world.new_case()
    hr = as_("assigned_hr")
    r = hr.post(f"/staff/cases/{case_id}/messages", {"body": "hello"}, token="forged")
    assert r.status_code == 403 and "could not be sent" in r.text
    assert _count(app, Message, case_id=case_id) == 0


def test_a_check_in_is_completed_on_the_case_page(app: Any, world: World, as_: Any) -> None:
    case_id = world.new_case()
    hr = as_("assigned_hr")
    page = hr.get(f"/staff/cases/{case_id}").text
    check_in = re.search(r'form=/staff/cases/[^/]+/check-ins/([0-9a-f-]{36})/complete"', page)
    assert check_in
    url = f"/staff/cases/{case_id}/check-ins/{check_in.group(1)}/complete"
    missing = hr.post(url, {"summary": "Went well."}, token=hr.token(f"/staff/cases/{case_id}"))
    assert missing.status_code == 422 and "Went well." in missing.text  # what was typed is kept
    r = hr.post(url, {"summary": "Went well.", "support_suitable": "yes"}, token=hr.token(f"/staff/cases/{case_id}"))
    assert r.status_code == 303
    # done, and the next one booked
    assert _count(app, CheckIn, case_id=case_id, hr_contact_id=uuid.UUID(world.id("assigned_hr"))) == 2
    assert "Went well." in hr.get(f"/staff/cases/{case_id}").text


def test_closing_ends_check_ins_and_asks_the_reporter_for_feedback(app: Any, world: World, as_: Any, client: Any) -> None:
    case_id = world.new_case()
    hr = as_("assigned_hr")
    token = hr.token(f"/staff/cases/{case_id}")
    bad = hr.post(f"/staff/cases/{case_id}/close", {"summary": "Resolved by talking."}, token=token)
    assert bad.status_code == 422 and "Resolved by talking." in bad.text
    assert _case(app, case_id).status is not Status.CLOSED
    r = hr.post(f"/staff/cases/{case_id}/close", {"outcome": "resolved_informally", "summary": "Resolved by talking."},
                token=token)
    assert r.status_code == 303
    assert _case(app, case_id).status is Status.CLOSED
    reporter = client.get("/api/v1/reporter/case", headers={"Authorization": f"Bearer {world.reporter_token(case_id)}"})
    assert reporter.json()["feedback_requested"] is True
    again = hr.post(f"/staff/cases/{case_id}/messages", {"body": "one more"}, token=token)
    assert again.status_code == 303  # staff may still write after closure, as on the API
    page = hr.get(f"/staff/cases/{case_id}").text
    assert "Resolved informally" in page and f'form=/staff/cases/{case_id}/close"' not in page


def test_record_a_phone_call_gives_the_receipt_once(app: Any, world: World, as_: Any) -> None:
    sg = as_("safeguarding")
    token = sg.token("/staff/record")
    r = sg.post("/staff/record", {"channel": "phone", "received_at": "2026-03-02T21:15", "duration_minutes": "25",
                                  "description": "Caller worried about a colleague's drinking on shift.",
                                  "about": "colleague", "identity": "anonymous", "risk": "urgent"}, token=token)
    assert r.status_code == 200
    receipt = re.search(r'<p class="receipt"[^>]*>([^<]+)</p>', r.text)
    assert receipt
    with app.state.sessionmaker() as s:
        case = s.scalar(select(Case).where(Case.channel == "phone"))
        assert case is not None and case.duration_minutes == 25 and case.risk.value == "urgent"
        assert case.out_of_hours  # 21:15 London time
    redeemed = sg.client.post("/api/v1/reporter/session", json={"receipt": receipt.group(1)})
    assert redeemed.status_code == 200


def test_a_record_with_the_time_missing_is_refused_and_kept(app: Any, as_: Any, world: World) -> None:
    sg = as_("safeguarding")
    r = sg.post("/staff/record", {"channel": "phone", "received_at": "", "description": "Something happened."},
                token=sg.token("/staff/record"))
    assert r.status_code == 422 and "Something happened." in r.text and 'href="#record-received_at"' in r.text
    assert _count(app, Case) == 0


def test_the_console_logs_no_case_text_token_or_receipt(
    app: Any, world: World, as_: Any, client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    caplog.set_level(logging.DEBUG)
    secret_note, secret_message = "Internal: Mr Ortega named", "We will call you at 6pm"
    r = client.post("/api/v1/reports", json={"description": "Sensitive: Mrs Kowalski at Red Watch", "anonymous": False,
                                             "reporter": {"name": "Tomasz Nowak"}})
    receipt = r.json()["receipt"]
    sg = as_("safeguarding")
    case_url = sg.get("/staff/cases", params={"reference": r.json()["reference"]}).headers["location"]
    token = sg.token(case_url)
    sg.post(case_url + "/notes", {"body": secret_note}, token=token)
    sg.post(case_url + "/messages", {"body": secret_message}, token=token)
    sg.post(case_url + "/notes", {"body": ""}, token=token)  # an error path too
    sg.get(case_url)
    logged = "\n".join(f"{rec.name} {rec.getMessage()} {vars(rec)!r}" for rec in caplog.records)
    assert logged  # the access log did write
    for secret in ("Kowalski", "Tomasz", secret_note, secret_message, receipt, world.staff["safeguarding"].token):
        assert secret not in logged
