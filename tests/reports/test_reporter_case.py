"""With a reporter token: the case view, messages, next check-in and the closing feedback."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app import clock
from app.cases import thread
from app.cases.models import Case, Feedback
from app.checkins import service as checkins
from app.crypto import fields
from app.enums import Sender
from tests.reports.conftest import count, report

RATINGS = {"listened_to": 5, "kept_informed": 3, "support_suitable": 4, "would_recommend": 2}


def _case(db, reference: str) -> Case:
    db.rollback()
    return db.scalar(select(Case).where(Case.reference == reference))


def test_new_case_view(client, submit, sign_in):
    created = submit()
    r = client.get("/api/v1/reporter/case", headers=sign_in(created["receipt"]))
    assert r.status_code == 200
    assert r.json() == {
        "reference": created["reference"],
        "status": "received",
        "created_at": created["created_at"],
        "description": report()["description"],  # the reporter can reread what they wrote
        "messages": [],
        "next_check_in": None,
        "feedback_requested": False,
        "outcome": None,
        "closed_at": None,
        "attachments": [],
        "hr_contact_changed_on": None,
    }


def test_reporter_message_is_posted_and_shown_in_the_thread(client, submit, sign_in):
    headers = sign_in(submit()["receipt"])
    r = client.post("/api/v1/reporter/messages", json={"body": "  One more thing: it happened twice.  "}, headers=headers)
    assert r.status_code == 201
    msg = r.json()
    assert set(msg) == {"id", "from", "sent_by", "sent_by_label", "body", "created_at", "attachments"}
    assert msg["from"] == "reporter" and msg["body"] == "One more thing: it happened twice."
    assert (msg["sent_by"], msg["sent_by_label"]) == ("reporter", "You")
    thread = client.get("/api/v1/reporter/case", headers=headers).json()["messages"]
    assert thread == [msg]


def test_staff_reply_appears_in_order_and_without_the_author(client, submit, sign_in, db, app, make_staff):
    created = submit()
    headers = sign_in(created["receipt"])
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    with clock.frozen(start):
        client.post("/api/v1/reporter/messages", json={"body": "Hello?"}, headers=headers)
    staff = make_staff("safeguarding")
    from app.auth.models import User

    with clock.frozen(start + timedelta(hours=1)):
        case = _case(db, created["reference"])
        thread.add_message(db, app.state.keyring, case=case, sender=Sender.STAFF, body="We are here to help.",
                            author=db.get(User, uuid.UUID(staff.id)))
        db.commit()
    messages = client.get("/api/v1/reporter/case", headers=headers).json()["messages"]
    assert [(m["from"], m["body"]) for m in messages] == [("reporter", "Hello?"), ("staff", "We are here to help.")]
    assert messages[1]["created_at"] == "2026-03-02T10:00:00Z"
    assert staff.email not in str(messages)


@pytest.mark.parametrize("body", ["", "   ", "x" * 20001])
def test_empty_or_too_long_message_is_422_and_not_stored(client, submit, sign_in, db, body):
    from app.cases.models import Message

    headers = sign_in(submit()["receipt"])
    r = client.post("/api/v1/reporter/messages", json={"body": body}, headers=headers)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "body"
    assert count(db, Message) == 0


def test_message_of_20000_characters_is_accepted(client, submit, sign_in):
    headers = sign_in(submit()["receipt"])
    assert client.post("/api/v1/reporter/messages", json={"body": "m" * 20000}, headers=headers).status_code == 201


def test_message_on_a_closed_case_is_409(client, submit, sign_in, close_case):
    created = submit()
    headers = sign_in(created["receipt"])
    close_case(created["reference"])
    r = client.post("/api/v1/reporter/messages", json={"body": "Still there?"}, headers=headers)
    assert r.status_code == 409
    assert r.headers["content-type"].startswith("application/problem+json")


def test_next_check_in_date_is_shown(client, submit, sign_in, db, settings, make_staff):
    created = submit()
    hr = make_staff("hr")
    with clock.frozen(datetime(2026, 3, 2, 9, 0, tzinfo=UTC)):
        checkins.schedule_first(db, settings, case_id=_case(db, created["reference"]).id, hr_contact_id=uuid.UUID(hr.id))
        db.commit()
    view = client.get("/api/v1/reporter/case", headers=sign_in(created["receipt"])).json()
    assert view["next_check_in"] == (datetime(2026, 3, 2).date() + timedelta(days=settings.checkin_first_days)).isoformat()


def test_feedback_before_closure_is_409(client, submit, sign_in, db):
    headers = sign_in(submit()["receipt"])
    r = client.post("/api/v1/reporter/feedback", json={"ratings": RATINGS}, headers=headers)
    assert r.status_code == 409
    assert r.headers["content-type"].startswith("application/problem+json")
    assert count(db, Feedback) == 0


def test_closed_case_asks_for_feedback_once(client, submit, sign_in, close_case, db):
    created = submit()
    headers = sign_in(created["receipt"])
    close_case(created["reference"])
    view = client.get("/api/v1/reporter/case", headers=headers).json()
    assert view["status"] == "closed" and view["feedback_requested"] is True
    r = client.post("/api/v1/reporter/feedback", json={"ratings": RATINGS, "comment": "Kind and quick."}, headers=headers)
    assert r.status_code == 201
    assert r.json()["ratings"] == RATINGS and r.json()["comment"] == "Kind and quick."
    assert client.get("/api/v1/reporter/case", headers=headers).json()["feedback_requested"] is False
    stored = db.get(Feedback, _case(db, created["reference"]).id)
    assert (stored.listened_to, stored.kept_informed, stored.support_suitable, stored.would_recommend) == (5, 3, 4, 2)
    db.rollback()


def test_feedback_twice_is_409(client, submit, sign_in, close_case, db):
    created = submit()
    headers = sign_in(created["receipt"])
    close_case(created["reference"])
    assert client.post("/api/v1/reporter/feedback", json={"ratings": RATINGS}, headers=headers).status_code == 201
    r = client.post("/api/v1/reporter/feedback", json={"ratings": {**RATINGS, "listened_to": 1}}, headers=headers)
    assert r.status_code == 409
    assert count(db, Feedback) == 1


def test_feedback_comment_is_encrypted_and_reads_back(client, submit, sign_in, close_case, db, app):
    created = submit()
    headers = sign_in(created["receipt"])
    close_case(created["reference"])
    client.post("/api/v1/reporter/feedback", json={"ratings": RATINGS, "comment": "Secret praise"}, headers=headers)
    case = _case(db, created["reference"])
    stored = db.get(Feedback, case.id)
    assert b"Secret praise" not in stored.comment_ct
    from app.crypto import keys as crypto

    assert crypto.case_cipher(db, app.state.keyring, case.id).decrypt(fields.FEEDBACK_COMMENT, case.id, stored.comment_ct) == "Secret praise"
    db.rollback()


@pytest.mark.parametrize("ratings", [
    {**RATINGS, "listened_to": 0},
    {**RATINGS, "would_recommend": 6},
    {**RATINGS, "kept_informed": "4"},
    {**RATINGS, "kept_informed": 4.5},
    {k: v for k, v in RATINGS.items() if k != "support_suitable"},
    {**RATINGS, "value_for_money": 3},
])
def test_bad_ratings_are_422(client, submit, sign_in, close_case, db, ratings):
    created = submit()
    headers = sign_in(created["receipt"])
    close_case(created["reference"])
    r = client.post("/api/v1/reporter/feedback", json={"ratings": ratings}, headers=headers)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"].startswith("ratings")
    assert count(db, Feedback) == 0


def test_feedback_comment_over_5000_characters_is_422(client, submit, sign_in, close_case, db):
    created = submit()
    headers = sign_in(created["receipt"])
    close_case(created["reference"])
    r = client.post("/api/v1/reporter/feedback", json={"ratings": RATINGS, "comment": "c" * 5001}, headers=headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "comment"
    assert count(db, Feedback) == 0


def test_one_reporters_token_never_shows_another_case(client, submit, sign_in):
    first, second = submit(), submit()
    assert client.get("/api/v1/reporter/case", headers=sign_in(second["receipt"])).json()["reference"] == second["reference"]
    assert client.get("/api/v1/reporter/case", headers=sign_in(first["receipt"])).json()["reference"] == first["reference"]


def test_purged_case_cannot_be_signed_into(client, submit, sign_in, db):
    created = submit()
    headers = sign_in(created["receipt"])
    case = _case(db, created["reference"])
    case.purged_at = clock.now()
    db.commit()
    assert client.get("/api/v1/reporter/case", headers=headers).status_code == 401
    assert client.post("/api/v1/reporter/session", json={"receipt": created["receipt"]}).status_code == 401


def test_staff_messages_say_whether_the_hr_contact_or_the_safeguarding_team_sent_them(
    client, submit, sign_in, db, make_staff
):
    created = submit()
    headers = sign_in(created["receipt"])
    case_id = _case(db, created["reference"]).id
    db.rollback()
    safeguarding, hr = make_staff("safeguarding"), make_staff("hr")
    assert client.put(f"/api/v1/cases/{case_id}/hr-contact", json={"user_id": hr.id}, headers=safeguarding.headers).status_code == 200
    for staff, body in ((safeguarding, "We have read your concern."), (hr, "I am your point of contact.")):
        r = client.post(f"/api/v1/cases/{case_id}/messages", json={"body": body}, headers=staff.headers)
        assert r.status_code == 201, r.text
    messages = client.get("/api/v1/reporter/case", headers=headers).json()["messages"]
    assert [(m["from"], m["sent_by"], m["sent_by_label"]) for m in messages] == [
        ("staff", "safeguarding", "The safeguarding team"),
        ("staff", "hr_contact", "Your HR contact"),
    ]
    assert hr.email not in str(messages) and safeguarding.email not in str(messages)


def test_closed_case_shows_its_outcome_but_never_the_closing_summary(client, submit, sign_in, db, make_staff):
    created = submit()
    headers = sign_in(created["receipt"])
    case_id = _case(db, created["reference"]).id
    db.rollback()
    safeguarding = make_staff("safeguarding")
    r = client.post(f"/api/v1/cases/{case_id}/close", headers=safeguarding.headers,
                    json={"outcome": "signposted", "summary": "Internal: manager warned informally."})
    assert r.status_code == 200, r.text
    view = client.get("/api/v1/reporter/case", headers=headers).json()
    assert view["status"] == "closed" and view["outcome"] == "signposted"
    assert view["closed_at"] is not None and view["closed_at"].endswith("Z")
    assert "manager warned" not in str(view)
