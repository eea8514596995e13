"""Listing, deadlines, recording contacts, triage, the HR contact, exclusions, notes and messages."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from app import clock
from app.audit.models import AuditEvent
from app.cases.models import Case
from app.cases.views import add_months, add_years
from app.checkins.models import CheckIn
from tests.cases.conftest import DESCRIPTION, World, audit_count

NOW = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)  # a Wednesday


def _items(client: Any, headers: dict[str, str], query: str = "") -> list[dict[str, Any]]:
    r = client.get("/api/v1/cases" + query, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()["items"]


def _item(client: Any, world: World, case_id: uuid.UUID) -> dict[str, Any]:
    return next(i for i in _items(client, world.headers("safeguarding"), "?page_size=100") if i["id"] == str(case_id))


# --- dates -------------------------------------------------------------------------------------


def test_months_are_calendar_months_clipped_to_the_month_end() -> None:
    assert add_months(datetime(2026, 11, 30, 9, 0, tzinfo=UTC), 3) == datetime(2027, 2, 28, 9, 0, tzinfo=UTC)
    assert add_months(datetime(2026, 1, 15, tzinfo=UTC), 3) == datetime(2026, 4, 15, tzinfo=UTC)


def test_retention_from_29_february_ends_on_28_february() -> None:
    assert add_years(date(2028, 2, 29), 6) == date(2034, 2, 28)


# --- list --------------------------------------------------------------------------------------


def test_list_puts_urgent_cases_first_then_the_oldest(client: Any, world: World) -> None:
    sg = world.headers("safeguarding")
    ids = []
    for days_ago in (3, 9, 1):
        clock.set_frozen(NOW - timedelta(days=days_ago))
        ids.append(world.new_case(assign=False, exclude=False))
    clock.set_frozen(NOW)
    assert client.patch(f"/api/v1/cases/{ids[2]}", json={"risk": "urgent"}, headers=sg).status_code == 200
    assert [i["id"] for i in _items(client, sg)] == [str(ids[2]), str(ids[1]), str(ids[0])]


def test_list_pages_and_a_page_past_the_end_is_empty(client: Any, world: World) -> None:
    sg = world.headers("safeguarding")
    for _ in range(3):
        world.new_case(assign=False, exclude=False)
    first = client.get("/api/v1/cases?page=1&page_size=2", headers=sg).json()
    second = client.get("/api/v1/cases?page=2&page_size=2", headers=sg).json()
    past = client.get("/api/v1/cases?page=9&page_size=2", headers=sg).json()
    assert (len(first["items"]), len(second["items"]), first["total"], second["total"]) == (2, 1, 3, 3)
    assert past == {"items": [], "total": 3}


def test_list_filters_by_status_theme_and_hr_contact(client: Any, world: World) -> None:
    sg = world.headers("safeguarding")
    assigned = world.new_case()
    loose = world.new_case(assign=False, exclude=False)
    client.patch(f"/api/v1/cases/{loose}", json={"primary_theme": "gambling"}, headers=sg)

    def ids(query: str) -> set[str]:
        return {i["id"] for i in _items(client, sg, query)}

    assert ids("?status=in_progress") == {str(assigned)}
    assert ids("?status=triaged&status=in_progress") == {str(assigned), str(loose)}
    assert ids("?theme=gambling") == {str(loose)}
    assert ids(f"?hr_contact={world.id('assigned_hr')}") == {str(assigned)}
    assert ids("?hr_contact=none") == {str(loose)}


def test_hr_contact_lists_only_their_own_cases(client: Any, world: World) -> None:
    mine = world.new_case()
    world.new_case(assign=False, exclude=False)
    assert [i["id"] for i in _items(client, world.headers("assigned_hr"))] == [str(mine)]
    assert _items(client, world.headers("other_hr")) == []


def test_list_item_carries_the_contract_fields_and_no_case_text(client: Any, world: World) -> None:
    case_id = world.new_case()
    item = _item(client, world, case_id)
    assert {"id", "reference", "status", "channel", "primary_theme", "risk", "hr_contact", "received_at",
            "out_of_hours", "acknowledged_at", "acknowledgement_overdue", "feedback_overdue"} <= item.keys()
    assert item["hr_contact"] == {"id": world.id("assigned_hr"), "name": "Alex Assigned"}
    assert "description" not in item and DESCRIPTION not in str(item)


# --- deadlines ---------------------------------------------------------------------------------


def test_case_unacknowledged_after_seven_days_is_flagged(client: Any, world: World) -> None:
    clock.set_frozen(NOW)
    case_id = world.new_case(assign=False, exclude=False)
    clock.set_frozen(NOW + timedelta(days=7))
    assert _item(client, world, case_id)["acknowledgement_overdue"] is False
    clock.set_frozen(NOW + timedelta(days=7, seconds=1))
    world.staff["safeguarding"].token = _relogin(client, world, "safeguarding")
    item = _item(client, world, case_id)
    assert item["acknowledgement_overdue"] is True and item["acknowledge_by"] == "2026-06-17T12:00:00Z"


def test_triage_does_not_acknowledge_only_a_word_to_the_reporter_does(client: Any, world: World) -> None:
    clock.set_frozen(NOW)
    case_id = world.new_case(assign=False, exclude=False)
    clock.set_frozen(NOW + timedelta(days=8))
    client.patch(f"/api/v1/cases/{case_id}", json={"primary_theme": "bullying"}, headers=world.headers("safeguarding"))
    item = _item(client, world, case_id)
    assert item["status"] == "triaged"
    assert item["acknowledgement_overdue"] is True and item["acknowledged_at"] is None


def test_first_staff_message_acknowledges(client: Any, world: World) -> None:
    clock.set_frozen(NOW)
    case_id = world.new_case()
    assert client.post(f"/api/v1/cases/{case_id}/messages", json={"body": "We have your concern."},
                       headers=world.headers("assigned_hr")).status_code == 201
    assert _item(client, world, case_id)["acknowledged_at"] == "2026-06-10T12:00:00Z"


def test_no_word_to_the_reporter_for_three_months_after_acknowledgement_is_flagged(client: Any, world: World) -> None:
    clock.set_frozen(NOW)
    case_id = world.new_case()
    client.post(f"/api/v1/cases/{case_id}/messages", json={"body": "We have your concern."},
                headers=world.headers("safeguarding"))  # the acknowledgement
    clock.set_frozen(datetime(2026, 9, 10, 12, 0, tzinfo=UTC))
    world.staff["safeguarding"].token = _relogin(client, world, "safeguarding")
    assert _item(client, world, case_id)["feedback_overdue"] is False
    clock.set_frozen(datetime(2026, 9, 10, 12, 1, tzinfo=UTC))
    item = _item(client, world, case_id)
    assert item["feedback_overdue"] is True and item["feedback_due"] == "2026-09-10T12:00:00Z"


def test_a_staff_message_restarts_the_feedback_clock(client: Any, world: World) -> None:
    clock.set_frozen(NOW)
    case_id = world.new_case()
    client.patch(f"/api/v1/cases/{case_id}", json={"primary_theme": "bullying"}, headers=world.headers("safeguarding"))
    clock.set_frozen(datetime(2026, 8, 1, 9, 0, tzinfo=UTC))
    world.staff["assigned_hr"].token = _relogin(client, world, "assigned_hr")
    client.post(f"/api/v1/cases/{case_id}/messages", json={"body": "An update."}, headers=world.headers("assigned_hr"))
    clock.set_frozen(datetime(2026, 10, 1, 9, 0, tzinfo=UTC))
    world.staff["safeguarding"].token = _relogin(client, world, "safeguarding")
    item = _item(client, world, case_id)
    assert item["feedback_overdue"] is False and item["feedback_due"] == "2026-11-01T09:00:00Z"


def test_never_acknowledged_case_owes_feedback_three_months_after_the_seven_days(client: Any, world: World) -> None:
    clock.set_frozen(NOW)
    case_id = world.new_case(assign=False, exclude=False)
    assert _item(client, world, case_id)["feedback_due"] == "2026-09-17T12:00:00Z"


def test_closed_case_is_never_overdue(client: Any, world: World) -> None:
    clock.set_frozen(NOW)
    case_id = world.new_case()
    client.post(f"/api/v1/cases/{case_id}/close", json={"outcome": "withdrawn", "summary": "Withdrawn."},
                headers=world.headers("assigned_hr"))
    clock.set_frozen(NOW + timedelta(days=200))
    world.staff["safeguarding"].token = _relogin(client, world, "safeguarding")
    item = _item(client, world, case_id)
    assert item["acknowledgement_overdue"] is False and item["feedback_overdue"] is False


def _relogin(client: Any, world: World, who: str) -> str:
    staff = world.staff[who]
    r = client.post("/api/v1/auth/login", json={"email": staff.email, "password": staff.password})
    assert r.status_code == 200, r.text
    return r.json()["token"]


# --- recording a contact -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("received_at", "out_of_hours"),
    [
        ("2026-06-09T09:30:00Z", False),  # Tuesday 10:30 in London (BST)
        ("2026-06-09T16:30:00Z", True),   # Tuesday 17:30 in London
        ("2026-06-06T10:00:00Z", True),   # Saturday
        ("2026-01-07T16:30:00+00:00", False),  # Wednesday 16:30 in London (GMT)
        ("2026-01-07T17:30:00+01:00", False),  # the same instant, written with another offset
    ],
)
def test_recorded_contact_knows_if_it_was_out_of_hours(
    received_at: str, out_of_hours: bool, client: Any, world: World
) -> None:
    clock.set_frozen(NOW)
    r = client.post("/api/v1/cases", headers=world.headers("safeguarding"), json={
        "channel": "in_person", "received_at": received_at, "description": "Told me in the corridor."})
    assert r.status_code == 201, r.text
    assert r.json()["out_of_hours"] is out_of_hours


def test_recorded_contact_keeps_who_recorded_it_and_gives_a_receipt(client: Any, db: Any, world: World) -> None:
    r = client.post("/api/v1/cases", headers=world.headers("safeguarding"), json={
        "channel": "email", "received_at": "2026-01-05T10:00:00Z", "description": "By e-mail.",
        "themes": ["bullying"]})
    assert r.status_code == 201
    body = r.json()
    assert len(body["receipt"]) >= 16 and body["status"] == "received" and body["anonymous"] is True
    assert body["reporter_themes"] == ["bullying"] and body["reporter"] is None
    case = db.get(Case, uuid.UUID(body["id"]))
    assert str(case.recorded_by_id) == world.id("safeguarding")
    assert body["receipt"].encode() not in (case.receipt_lookup or b"")


# --- reading -----------------------------------------------------------------------------------


def test_reading_a_case_is_audited_and_shows_the_identity_only_when_given(client: Any, app: Any, world: World) -> None:
    case_id = world.new_case()
    before = audit_count(app)
    r = client.get(f"/api/v1/cases/{case_id}", headers=world.headers("assigned_hr"))
    assert r.status_code == 200
    case = r.json()
    assert case["description"] == DESCRIPTION and case["reporter"] is None and case["anonymous"] is True
    assert audit_count(app) == before + 1
    with app.state.sessionmaker() as s:
        last = s.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)).one()
    assert (last.action, str(last.case_id), str(last.actor_id)) == ("case.read", str(case_id), world.id("assigned_hr"))
    assert DESCRIPTION not in (last.target or "")


def test_reading_notes_messages_and_exclusions_is_audited(client: Any, app: Any, world: World) -> None:
    case_id = world.new_case()
    sg = world.headers("safeguarding")
    for what in ("notes", "messages", "exclusions"):
        before = audit_count(app)
        assert client.get(f"/api/v1/cases/{case_id}/{what}", headers=sg).status_code == 200
        assert audit_count(app) == before + 1
        with app.state.sessionmaker() as s:
            last = s.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)).one()
        assert (last.action, last.target) == ("case.read", what)


# --- triage ------------------------------------------------------------------------------------


def test_changing_the_primary_theme_keeps_the_status_and_adds_the_theme(client: Any, world: World) -> None:
    case_id = world.new_case()
    sg = world.headers("safeguarding")
    r = client.patch(f"/api/v1/cases/{case_id}", json={"primary_theme": "misconduct", "themes": ["bullying"],
                                                         "wishes": ["talk", "talk", "coaching"]}, headers=sg)
    assert r.status_code == 200
    case = r.json()
    assert case["status"] == "in_progress"
    assert case["themes"] == ["bullying", "misconduct"] and case["wishes"] == ["talk", "coaching"]
    r = client.patch(f"/api/v1/cases/{case_id}", json={"themes": []}, headers=sg)
    assert r.json()["themes"] == ["misconduct"]  # the primary theme always stays


# --- HR contact and exclusions -----------------------------------------------------------------


def test_reassignment_replaces_the_contact_and_moves_the_check_ins(client: Any, db: Any, world: World) -> None:
    clock.set_frozen(NOW)
    case_id = world.new_case()
    r = client.put(f"/api/v1/cases/{case_id}/hr-contact", json={"user_id": world.id("other_hr")},
                   headers=world.headers("safeguarding"))
    assert r.status_code == 200 and r.json()["hr_contact"]["id"] == world.id("other_hr")
    assert client.get(f"/api/v1/cases/{case_id}", headers=world.headers("assigned_hr")).status_code == 404
    assert client.get(f"/api/v1/cases/{case_id}", headers=world.headers("other_hr")).status_code == 200
    open_ = db.scalars(select(CheckIn).where(CheckIn.case_id == case_id, CheckIn.cancelled_at.is_(None))).all()
    assert [(str(c.hr_contact_id), c.due_on) for c in open_] == [(world.id("other_hr"), date(2026, 6, 17))]


def test_assigning_the_current_contact_again_changes_nothing(client: Any, app: Any, world: World) -> None:
    case_id = world.new_case()
    before = audit_count(app)
    r = client.put(f"/api/v1/cases/{case_id}/hr-contact", json={"user_id": world.id("assigned_hr")},
                   headers=world.headers("safeguarding"))
    assert r.status_code == 200
    assert audit_count(app) == before + 1  # only the read of the returned case


def test_excluding_yourself_hides_the_case_from_you(client: Any, world: World) -> None:
    case_id = world.new_case()
    sg = world.headers("safeguarding")
    r = client.post(f"/api/v1/cases/{case_id}/exclusions", json={"user_id": world.id("safeguarding"),
                                                                  "reason": "My partner is named."}, headers=sg)
    assert r.status_code == 201
    assert r.json()["user"] == {"id": world.id("safeguarding"), "name": "Sam Safeguarding"}
    assert client.get(f"/api/v1/cases/{case_id}", headers=sg).status_code == 404
    assert _items(client, sg) == []


def test_exclusions_list_shows_who_and_why(client: Any, world: World) -> None:
    case_id = world.new_case()
    r = client.get(f"/api/v1/cases/{case_id}/exclusions", headers=world.headers("safeguarding"))
    rows = r.json()
    assert [(x["user"]["name"], x["reason"]) for x in rows] == [("Fred Formerly", "named"), ("Eve Excluded", "named")]
    assert rows[0]["created_by"]["name"] == "Sam Safeguarding"


def test_excluding_the_hr_contact_unassigns_them_and_cancels_their_check_ins(
    client: Any, db: Any, world: World
) -> None:
    case_id = world.new_case()
    client.patch(f"/api/v1/cases/{case_id}", json={"primary_theme": "bullying"}, headers=world.headers("safeguarding"))
    r = client.post(f"/api/v1/cases/{case_id}/exclusions", json={"user_id": world.id("assigned_hr"), "reason": "x"},
                    headers=world.headers("safeguarding"))
    assert r.status_code == 201
    case = client.get(f"/api/v1/cases/{case_id}", headers=world.headers("safeguarding")).json()
    assert case["hr_contact"] is None and case["status"] == "triaged" and case["next_check_in"] is None
    assert db.scalars(select(CheckIn).where(CheckIn.case_id == case_id, CheckIn.cancelled_at.is_(None))).all() == []


# --- notes, messages and closure ---------------------------------------------------------------


def test_notes_are_stored_encrypted(client: Any, db: Any, world: World) -> None:
    case_id = world.new_case()
    r = client.post(f"/api/v1/cases/{case_id}/notes", json={"body": "Secret internal note"},
                    headers=world.headers("assigned_hr"))
    assert r.status_code == 201 and r.json()["body"] == "Secret internal note"
    from app.cases.models import Note

    stored = db.scalars(select(Note.body_ct).where(Note.case_id == case_id)).one()
    assert b"Secret" not in stored


def test_closing_cancels_check_ins_and_sets_the_retention_date(client: Any, db: Any, world: World) -> None:
    clock.set_frozen(NOW)
    case_id = world.new_case()
    r = client.post(f"/api/v1/cases/{case_id}/close", json={"outcome": "referred", "summary": "Referred to OH."},
                    headers=world.headers("safeguarding"))
    assert r.status_code == 200
    assert r.json()["retain_until"] == "2032-06-10" and r.json()["next_check_in"] is None
    assert db.scalars(select(CheckIn).where(CheckIn.case_id == case_id, CheckIn.cancelled_at.is_(None))).all() == []
    stored = db.get(Case, case_id)
    assert stored.closing_summary_ct is not None and b"Referred" not in stored.closing_summary_ct


def test_a_full_length_description_in_any_script_can_be_recorded(client: Any, world: World) -> None:
    # 20,000 characters that JSON escapes to six bytes each: about 120 KB, over the app's 64 KiB default.
    body = json.dumps({"channel": "phone", "received_at": "2026-01-05T10:00:00Z", "description": "é" * 20000})
    assert len(body) > 64 * 1024
    r = client.post("/api/v1/cases", content=body,
                    headers={**world.headers("safeguarding"), "Content-Type": "application/json"})
    assert r.status_code == 201, r.text[:200]


def test_an_oversized_recorded_contact_is_413(client: Any, world: World) -> None:
    r = client.post("/api/v1/cases", headers=world.headers("safeguarding"), json={
        "channel": "phone", "received_at": "2026-01-05T10:00:00Z", "description": "x" * 300_000})
    assert r.status_code == 413
    assert r.headers["content-type"].startswith("application/problem+json")


def test_openapi_describes_every_case_route(client: Any) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/api/v1/cases", "/api/v1/cases/{case_id}", "/api/v1/cases/{case_id}/hr-contact",
                 "/api/v1/cases/{case_id}/exclusions", "/api/v1/cases/{case_id}/notes",
                 "/api/v1/cases/{case_id}/messages", "/api/v1/cases/{case_id}/close"):
        for op in paths[path].values():
            assert op.get("description"), path
