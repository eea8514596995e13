from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from app import clock
from app.audit.models import AuditEvent
from app.checkins.models import CheckIn

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"staff_token_minutes": 60 * 24 * 365, "staff_idle_minutes": 60 * 24 * 365}  # the tests move the clock on by days


@pytest.fixture(autouse=True)
def _frozen() -> None:
    clock.set_frozen(T0)


def _complete(client, staff, case_id, check_in_id, **body):  # type: ignore[no-untyped-def]
    payload = {"summary": "Talked for 20 minutes; feels listened to.", "support_suitable": True, **body}
    return client.post(f"/api/v1/cases/{case_id}/check-ins/{check_in_id}/complete", json=payload, headers=staff.headers)


def test_hr_contact_sees_the_first_check_in_of_their_case(client, make_staff, new_case, assign):
    hr = make_staff("hr")
    case_id, _ = new_case()
    ci = assign(case_id, hr.id)
    r = client.get(f"/api/v1/cases/{case_id}/check-ins", headers=hr.headers)
    assert r.status_code == 200, r.text
    assert r.json() == [{
        "id": ci, "case_id": case_id, "due_on": "2026-03-09", "completed_at": None, "support_suitable": None,
        "overdue": False, "summary": None, "cancelled_at": None, "completed_by": None,
    }]


def test_safeguarding_sees_the_check_ins_of_any_case(client, make_staff, new_case, assign):
    hr, sg = make_staff("hr"), make_staff("safeguarding")
    case_id, _ = new_case()
    assign(case_id, hr.id)
    r = client.get(f"/api/v1/cases/{case_id}/check-ins", headers=sg.headers)
    assert r.status_code == 200 and len(r.json()) == 1


def test_another_hr_contact_gets_404_for_the_case_check_ins(client, make_staff, new_case, assign):
    hr, other = make_staff("hr"), make_staff("hr")
    case_id, _ = new_case()
    ci = assign(case_id, hr.id)
    assert client.get(f"/api/v1/cases/{case_id}/check-ins", headers=other.headers).status_code == 404
    assert _complete(client, other, case_id, ci).status_code == 404


def test_excluded_safeguarding_officer_gets_404(client, make_staff, new_case, assign, exclude):
    hr, sg = make_staff("hr"), make_staff("safeguarding")
    case_id, _ = new_case()
    ci = assign(case_id, hr.id)
    exclude(case_id, sg.id)
    assert client.get(f"/api/v1/cases/{case_id}/check-ins", headers=sg.headers).status_code == 404
    assert _complete(client, sg, case_id, ci).status_code == 404
    assert client.get("/api/v1/check-ins", headers=sg.headers).json() == []


@pytest.mark.parametrize("role", ["admin", "leadership"])
def test_admin_and_leadership_are_refused_every_check_in_endpoint(client, make_staff, new_case, assign, role):
    hr, other = make_staff("hr"), make_staff(role)
    case_id, _ = new_case()
    ci = assign(case_id, hr.id)
    assert client.get(f"/api/v1/cases/{case_id}/check-ins", headers=other.headers).status_code == 403
    assert _complete(client, other, case_id, ci).status_code == 403
    assert client.get("/api/v1/check-ins", headers=other.headers).status_code == 403


def test_without_a_staff_token_every_check_in_endpoint_is_401(client, new_case):
    case_id, _ = new_case()
    assert client.get(f"/api/v1/cases/{case_id}/check-ins").status_code == 401
    assert client.get("/api/v1/check-ins").status_code == 401
    r = client.post(f"/api/v1/cases/{case_id}/check-ins/{uuid.uuid4()}/complete",
                    json={"summary": "x", "support_suitable": True}, headers={"Authorization": "Bearer nonsense"})
    assert r.status_code == 401


def test_completing_stores_the_summary_encrypted_and_books_the_next(client, db, make_staff, new_case, assign):
    hr = make_staff("hr")
    case_id, _ = new_case()
    ci = assign(case_id, hr.id)
    clock.set_frozen(datetime(2026, 3, 10, 14, 30, tzinfo=UTC))
    r = _complete(client, hr, case_id, ci, summary="Feels better since the shift swap.", support_suitable=False)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["completed_at"] == "2026-03-10T14:30:00Z"
    assert body["support_suitable"] is False and body["completed_by"] == hr.id
    assert body["next_due_on"] == "2026-03-24"
    stored = db.get(CheckIn, uuid.UUID(ci))
    assert stored is not None and stored.summary_ct is not None
    assert b"shift swap" not in stored.summary_ct
    db.rollback()  # end the read: on SQLite every transaction holds the write lock
    listed = client.get(f"/api/v1/cases/{case_id}/check-ins", headers=hr.headers).json()
    assert [(c["due_on"], c["summary"]) for c in listed] == [
        ("2026-03-09", "Feels better since the shift swap."), ("2026-03-24", None),
    ]


def test_safeguarding_may_complete_a_check_in(client, make_staff, new_case, assign):
    hr, sg = make_staff("hr"), make_staff("safeguarding")
    case_id, _ = new_case()
    ci = assign(case_id, hr.id)
    r = _complete(client, sg, case_id, ci)
    assert r.status_code == 200 and r.json()["completed_by"] == sg.id


def test_completing_is_audited_without_its_content(client, db, make_staff, new_case, assign):
    hr = make_staff("hr")
    case_id, _ = new_case()
    ci = assign(case_id, hr.id)
    assert _complete(client, hr, case_id, ci, summary="Private words").status_code == 200
    events = db.scalars(select(AuditEvent).where(AuditEvent.action == "check_in.complete")).all()
    assert [(str(e.case_id), e.target, e.actor_id) for e in events] == [(case_id, ci, uuid.UUID(hr.id))]
    assert "Private" not in repr([(e.action, e.target, e.actor) for e in db.scalars(select(AuditEvent))])


def test_completing_twice_is_a_conflict(client, make_staff, new_case, assign):
    hr = make_staff("hr")
    case_id, _ = new_case()
    ci = assign(case_id, hr.id)
    assert _complete(client, hr, case_id, ci).status_code == 200
    r = _complete(client, hr, case_id, ci)
    assert r.status_code == 409
    assert r.headers["content-type"].startswith("application/problem+json")
    assert len(client.get(f"/api/v1/cases/{case_id}/check-ins", headers=hr.headers).json()) == 2


def test_completing_a_cancelled_check_in_is_a_conflict(client, make_staff, new_case, assign):
    hr, sg = make_staff("hr"), make_staff("safeguarding")
    case_id, _ = new_case()
    first = assign(case_id, hr.id)
    assign(case_id, hr.id)  # reassignment cancels the first and books a fresh one
    assert _complete(client, sg, case_id, first).status_code == 409


def test_completing_on_a_closed_case_is_a_conflict(client, make_staff, new_case, assign, close_case):
    hr, sg = make_staff("hr"), make_staff("safeguarding")
    case_id, _ = new_case()
    ci = assign(case_id, hr.id)
    close_case(case_id)
    assert _complete(client, sg, case_id, ci).status_code == 409


def test_a_check_in_of_another_case_is_404(client, make_staff, new_case, assign):
    sg, hr = make_staff("safeguarding"), make_staff("hr")
    case_a, _ = new_case()
    case_b, _ = new_case()
    assign(case_a, hr.id)
    ci_b = assign(case_b, hr.id)
    assert _complete(client, sg, case_a, ci_b).status_code == 404
    assert _complete(client, sg, case_a, uuid.uuid4()).status_code == 404


@pytest.mark.parametrize("body", [
    {"summary": "", "support_suitable": True},
    {"summary": "   ", "support_suitable": True},
    {"summary": "x" * 20001, "support_suitable": True},
    {"summary": "fine", "support_suitable": "yes"},
    {"summary": "fine"},
    {"summary": "fine", "support_suitable": True, "rating": 5},
])
def test_a_bad_completion_is_422_and_changes_nothing(client, db, make_staff, new_case, assign, body):
    hr = make_staff("hr")
    case_id, _ = new_case()
    ci = assign(case_id, hr.id)
    r = client.post(f"/api/v1/cases/{case_id}/check-ins/{ci}/complete", json=body, headers=hr.headers)
    assert r.status_code == 422
    assert r.json()["errors"]
    stored = db.get(CheckIn, uuid.UUID(ci))
    assert stored is not None and stored.completed_at is None and stored.summary_ct is None


def test_the_longest_summary_is_accepted(client, make_staff, new_case, assign):
    hr = make_staff("hr")
    case_id, _ = new_case()
    ci = assign(case_id, hr.id)
    assert _complete(client, hr, case_id, ci, summary="y" * 20000).status_code == 200


def test_an_hr_contact_lists_only_their_own_open_check_ins(client, make_staff, new_case, assign):
    hr, other = make_staff("hr"), make_staff("hr")
    mine, _ = new_case()
    theirs, _ = new_case()
    ci = assign(mine, hr.id)
    assign(theirs, other.id)
    r = client.get("/api/v1/check-ins", headers=hr.headers)
    assert r.status_code == 200
    assert r.json() == [{"id": ci, "case_id": mine, "due_on": "2026-03-09", "completed_at": None,
                         "support_suitable": None, "overdue": False}]


def test_safeguarding_lists_every_open_check_in(client, make_staff, new_case, assign):
    hr, other, sg = make_staff("hr"), make_staff("hr"), make_staff("safeguarding")
    a, _ = new_case()
    b, _ = new_case()
    assign(a, hr.id)
    assign(b, other.id)
    assert {c["case_id"] for c in client.get("/api/v1/check-ins", headers=sg.headers).json()} == {a, b}


def test_the_open_list_leaves_out_completed_cancelled_and_closed(client, make_staff, new_case, assign, close_case):
    hr, sg = make_staff("hr"), make_staff("safeguarding")
    done, _ = new_case()
    closed, _ = new_case()
    ci = assign(done, hr.id)
    assign(closed, hr.id)
    assert _complete(client, hr, done, ci).status_code == 200
    close_case(closed)
    listed = client.get("/api/v1/check-ins", headers=sg.headers).json()
    assert [(c["case_id"], c["due_on"]) for c in listed] == [(done, "2026-03-16")]


def test_due_before_filters_and_overdue_is_flagged(client, make_staff, new_case, assign):
    hr = make_staff("hr")
    early, _ = new_case()
    assign(early, hr.id)  # due 2026-03-09
    clock.set_frozen(datetime(2026, 3, 5, 9, 0, tzinfo=UTC))
    late, _ = new_case()
    assign(late, hr.id)  # due 2026-03-12
    clock.set_frozen(datetime(2026, 3, 10, 9, 0, tzinfo=UTC))
    listed = client.get("/api/v1/check-ins", headers=hr.headers).json()
    assert [(c["case_id"], c["overdue"]) for c in listed] == [(early, True), (late, False)]
    only = client.get("/api/v1/check-ins?due_before=2026-03-12", headers=hr.headers).json()
    assert [c["case_id"] for c in only] == [early]


def test_a_malformed_due_before_is_422(client, make_staff):
    sg = make_staff("safeguarding")
    r = client.get("/api/v1/check-ins?due_before=next-week", headers=sg.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"].endswith("due_before")
