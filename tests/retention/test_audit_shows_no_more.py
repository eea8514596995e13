"""The audit trail says who did what to which case and when, and no more: no theme, no person named
in or excluded from a case, the reporter's activity to the minute; reading it is itself audited.
Purge removes the exclusions and cuts every time that survives to the day."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from app import clock
from app.audit.models import AuditEvent
from app.cases.models import Case, Feedback, Message, Note
from app.checkins.models import CheckIn
from tests.cases.conftest import World, run_purge

ODD_TIME = datetime(2026, 3, 2, 10, 17, 42, 123456, tzinfo=UTC)


def test_the_trail_names_no_theme_and_no_person_of_the_case(app: Any, client: Any, world: World) -> None:
    clock.set_frozen(ODD_TIME)
    case_id = world.new_case()  # the excluded HR user was its contact, then excluded with another; then assigned_hr
    sg = world.headers("safeguarding")
    r = client.patch(f"/api/v1/cases/{case_id}", headers=sg,
                     json={"themes": ["misogyny", "bullying"], "primary_theme": "misogyny"})
    assert r.status_code == 200, r.text

    r = client.get("/api/v1/audit", params={"case_id": str(case_id)}, headers=world.headers("admin"))
    assert r.status_code == 200
    actions = {i["action"] for i in r.json()["items"]}
    assert {"case.create", "case.assign", "case.exclude", "case.unassign", "case.triage"} <= actions
    shown = r.text
    with app.state.sessionmaker() as s:
        stored = " ".join(str(t) for t in s.scalars(sa.select(AuditEvent.target).where(AuditEvent.case_id == case_id)))
    for where in (shown, stored):
        for person in ("excluded_hr", "excluded_safeguarding", "assigned_hr"):
            assert world.id(person) not in where, person
            assert world.id(person).replace("-", "") not in where, person
        assert "misogyny" not in where and "bullying" not in where


def test_administrators_see_that_something_happened_not_what_nor_who(app: Any, client: Any, world: World) -> None:
    """Issue 21: no referral kind, no closure outcome, and on a case's entries the role, not the name."""
    case_id = world.new_case()
    sg, hr = world.headers("safeguarding"), world.headers("assigned_hr")
    assert client.post(f"/api/v1/cases/{case_id}/referrals", json={"kind": "police", "note": "Called 101."},
                       headers=hr).status_code == 201
    assert client.post(f"/api/v1/cases/{case_id}/close", headers=sg,
                       json={"outcome": "investigation", "summary": "Passed on."}).status_code == 200
    r = client.get("/api/v1/audit", params={"case_id": str(case_id)}, headers=world.headers("admin"))
    items = r.json()["items"]
    assert {"referral.create", "case.close"} <= {i["action"] for i in items}
    assert "police" not in r.text and "investigation" not in r.text
    for person in ("safeguarding", "assigned_hr", "excluded_hr"):
        assert world.staff[person].email not in r.text
    actors = {i["action"]: i["actor"] for i in items}
    assert actors["referral.create"] == "an HR contact" and actors["case.close"] == "the safeguarding team"
    assert actors["case.create"] == "reporter"


def test_the_reporters_activity_is_recorded_to_the_minute(app: Any, client: Any, world: World) -> None:
    clock.set_frozen(ODD_TIME)
    report = client.post("/api/v1/reports", json={"description": "The rota is rigged against me."})
    assert report.status_code == 201
    token = client.post("/api/v1/reporter/session", json={"receipt": report.json()["receipt"]}).json()["token"]
    reporter = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/reporter/case", headers=reporter).status_code == 200
    assert client.post("/api/v1/reporter/messages", json={"body": "Any news?"}, headers=reporter).status_code == 201
    with app.state.sessionmaker() as s:
        times = s.execute(sa.select(AuditEvent.action, AuditEvent.at).where(AuditEvent.actor == "reporter")).all()
    assert {a for a, _ in times} >= {"case.create", "reporter.session.start", "reporter.case.view", "message.create"}
    assert all(at == datetime(2026, 3, 2, 10, 17, tzinfo=UTC) for _, at in times), times
    items = client.get("/api/v1/audit", headers=world.headers("admin")).json()["items"]
    assert all(i["at"] == "2026-03-02T10:17:00Z" for i in items if i["actor"] == "reporter")
    # Staff actions keep their exact time.
    with app.state.sessionmaker() as s:
        staff_times = s.scalars(sa.select(AuditEvent.at).where(AuditEvent.actor != "reporter",
                                                                AuditEvent.at >= ODD_TIME.replace(second=0),
                                                                AuditEvent.at < datetime(2026, 3, 3, tzinfo=UTC))).all()
    assert staff_times and all(at == ODD_TIME for at in staff_times)


def test_reading_the_trail_is_itself_in_the_trail(app: Any, client: Any, world: World) -> None:
    admin = world.headers("admin")
    case_id = world.new_case(assign=False, exclude=False)
    assert client.get("/api/v1/audit", params={"case_id": str(case_id)}, headers=admin).status_code == 200
    assert client.get("/api/v1/audit/verify", headers=admin).json()["intact"] is True
    items = client.get("/api/v1/audit", headers=admin).json()["items"]
    reads = [(i["action"], i["actor"], i["case_id"]) for i in items if i["action"].startswith("audit.")]
    email = world.staff["admin"].email
    assert ("audit.read", email, str(case_id)) in reads and ("audit.verify", email, None) in reads


def test_purge_removes_exclusions_and_cuts_every_surviving_time_to_the_day(app: Any, client: Any, world: World,
                                                                          settings: Any) -> None:
    clock.set_frozen(ODD_TIME)
    case_id = world.new_case()
    sg, hr = world.headers("safeguarding"), world.headers("assigned_hr")
    assert client.post(f"/api/v1/cases/{case_id}/notes", json={"body": "A note."}, headers=hr).status_code == 201
    assert client.post(f"/api/v1/cases/{case_id}/messages", json={"body": "Hello."}, headers=hr).status_code == 201
    reporter = world.headers("reporter", case_id)
    assert client.post("/api/v1/reporter/messages", json={"body": "Hi."}, headers=reporter).status_code == 201
    with app.state.sessionmaker() as s, s.begin():
        check_in = s.scalars(sa.select(CheckIn).where(CheckIn.case_id == case_id, CheckIn.cancelled_at.is_(None))).one()
        check_in.completed_at, check_in.support_suitable = clock.now(), True
    r = client.post(f"/api/v1/cases/{case_id}/close", headers=sg, json={"outcome": "withdrawn", "summary": "Done."})
    assert r.status_code == 200, r.text
    assert client.post("/api/v1/reporter/feedback", headers=reporter, json={"ratings": {
        "listened_to": 4, "kept_informed": 4, "support_suitable": 3, "would_recommend": 5}}).status_code == 201
    excluded = [e["user"]["id"] for e in client.get(f"/api/v1/cases/{case_id}/exclusions", headers=sg).json()]
    assert world.id("excluded_hr") in excluded

    clock.set_frozen(datetime(2032, 6, 1, 9, 41, 7, 654321, tzinfo=UTC))
    assert run_purge(settings).startswith("purged 1 case(s)")
    clock.set_frozen(datetime(2032, 6, 1, 10, 0, tzinfo=UTC))
    from tests.cases.test_life_of_a_case import _login

    headers = _login(client, world.staff["safeguarding"])
    assert client.get(f"/api/v1/cases/{case_id}/exclusions", headers=headers).json() == []

    with app.state.sessionmaker() as s:
        case = s.get(Case, case_id)
        assert case is not None
        times = [case.created_at, case.received_at, case.acknowledged_at, case.triaged_at, case.closed_at,
                 case.purged_at]
        for model in (Message, Note, Feedback, CheckIn):
            rows = s.scalars(sa.select(model).where(model.case_id == case_id)).all()
            assert rows, model.__tablename__
            for row in rows:
                times.append(row.created_at)
                if isinstance(row, CheckIn):
                    times += [row.completed_at, row.cancelled_at, row.reminded_at]
    kept = [t for t in times if t is not None]
    assert len(kept) >= 10
    assert all((t.hour, t.minute, t.second, t.microsecond) == (0, 0, 0, 0) for t in kept), kept
    assert uuid.UUID(str(case_id))
