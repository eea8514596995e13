"""Referrals (contract section 6): hand-offs out of the service with due dates, flagged in the
case lists when overdue, notes encrypted and erased with the case."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from app import clock, flows
from app.audit.models import AuditEvent
from app.auth.models import User
from app.cases.models import Case, Referral
from app.enums import Outcome
from tests.cases.conftest import World, run_purge

NOW = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)  # a Monday
TODAY = NOW.date()


def _url(case_id: uuid.UUID) -> str:
    return f"/api/v1/cases/{case_id}/referrals"


def _flag(client: Any, world: World, case_id: uuid.UUID, who: str = "safeguarding") -> bool:
    items = client.get("/api/v1/cases", headers=world.headers(who)).json()["items"]
    return bool(next(i for i in items if i["id"] == str(case_id))["referral_overdue"])


@pytest.mark.parametrize(("kind", "days"), [
    ("formal_investigation", 28), ("police", 1), ("local_authority_safeguarding", 1),
    ("regulator_notification", 5), ("occupational_health", 14),
])
def test_each_kind_is_due_after_its_default_period(client: Any, world: World, kind: str, days: int) -> None:
    clock.set_frozen(NOW)
    case_id = world.new_case()
    r = client.post(_url(case_id), json={"kind": kind, "note": "Referred today."}, headers=world.headers("safeguarding"))
    assert r.status_code == 201, r.text
    body = r.json()
    assert {k: body[k] for k in ("kind", "due_on", "completed_on")} == {
        "kind": kind, "due_on": (TODAY + timedelta(days=days)).isoformat(), "completed_on": None}
    assert body["note"] == "Referred today." and uuid.UUID(body["id"]) and body["created_at"].startswith("2026-05-04")


@pytest.mark.parametrize("settings_overrides", [{"referral_formal_investigation_days": 20}])
def test_a_setting_overrides_the_default_period(client: Any, world: World) -> None:
    clock.set_frozen(NOW)
    case_id = world.new_case()
    r = client.post(_url(case_id), json={"kind": "formal_investigation"}, headers=world.headers("assigned_hr"))
    assert r.status_code == 201 and r.json()["due_on"] == "2026-05-24" and r.json()["note"] is None


def test_an_overdue_referral_flags_the_case_until_it_is_completed(client: Any, world: World, app: Any) -> None:
    clock.set_frozen(NOW)
    case_id = world.new_case()
    other = world.new_case()
    sg = world.headers("safeguarding")
    made = client.post(_url(case_id), json={"kind": "police", "note": "PC 123 told."}, headers=sg).json()
    assert not _flag(client, world, case_id)
    clock.set_frozen(NOW + timedelta(days=1))
    assert not _flag(client, world, case_id)  # due today is not late yet
    clock.set_frozen(NOW + timedelta(days=2))
    assert _flag(client, world, case_id) and _flag(client, world, case_id, "assigned_hr")
    assert not _flag(client, world, other)
    assert client.get(f"/api/v1/cases/{case_id}", headers=sg).json()["referral_overdue"] is True
    overdue = client.get("/api/v1/cases?overdue=true", headers=sg).json()["items"]
    assert str(case_id) in {i["id"] for i in overdue}
    listed = client.get(_url(case_id), headers=sg).json()
    assert [(x["note"], x["overdue"]) for x in listed] == [("PC 123 told.", True)]

    done = client.patch(f"{_url(case_id)}/{made['id']}", json={"completed_on": "2026-05-05"},
                        headers=world.headers("assigned_hr"))
    assert done.status_code == 200 and done.json()["completed_on"] == "2026-05-05" and not done.json()["overdue"]
    assert not _flag(client, world, case_id)
    reopened = client.patch(f"{_url(case_id)}/{made['id']}", json={"completed_on": None}, headers=sg)
    assert reopened.status_code == 200 and _flag(client, world, case_id)

    # A closed case is never flagged.
    with app.state.sessionmaker() as s, s.begin():
        flows.close_case(s, app.state.keyring, app.state.settings,
                         user=s.get(User, uuid.UUID(world.id("safeguarding"))), case=s.get(Case, case_id),
                         outcome=Outcome.REFERRED, summary="Police have it.")
    assert not _flag(client, world, case_id)

    with app.state.sessionmaker() as s:
        actions = s.scalars(select(AuditEvent.action).where(AuditEvent.case_id == case_id,
                                                            AuditEvent.action.like("referral.%"))).all()
    assert sorted(actions) == ["referral.complete", "referral.create", "referral.reopen"]


@pytest.mark.parametrize("body", [
    {"kind": "gossip"}, {"note": "x"}, {"kind": "police", "note": ""}, {"kind": "police", "due_on": "2026-05-03"},
    {"kind": "police", "due_on": "tomorrow"}, {"kind": "police", "note": "a\x00b"}, {"kind": "police", "extra": 1},
])
def test_a_bad_referral_is_422_and_nothing_is_stored(client: Any, world: World, app: Any, body: dict[str, Any]) -> None:
    clock.set_frozen(NOW)
    case_id = world.new_case()
    r = client.post(_url(case_id), json=body, headers=world.headers("safeguarding"))
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    with app.state.sessionmaker() as s:
        assert s.scalars(select(Referral)).all() == []


@pytest.mark.parametrize("completed_on", ["2026-05-05", "2026-05-03", "soon"])
def test_completion_cannot_be_in_the_future_or_before_the_referral(client: Any, world: World, completed_on: str) -> None:
    clock.set_frozen(NOW)
    case_id = world.new_case()
    sg = world.headers("safeguarding")
    rid = client.post(_url(case_id), json={"kind": "police"}, headers=sg).json()["id"]
    r = client.patch(f"{_url(case_id)}/{rid}", json={"completed_on": completed_on}, headers=sg)
    assert r.status_code == 422
    assert client.get(_url(case_id), headers=sg).json()[0]["completed_on"] is None
    assert client.patch(f"{_url(case_id)}/{rid}", json={}, headers=sg).status_code == 422


def test_a_referral_of_another_case_is_404(client: Any, world: World) -> None:
    clock.set_frozen(NOW)
    a, b = world.new_case(), world.new_case()
    sg = world.headers("safeguarding")
    rid = client.post(_url(a), json={"kind": "police"}, headers=sg).json()["id"]
    assert client.patch(f"{_url(b)}/{rid}", json={"completed_on": "2026-05-04"}, headers=sg).status_code == 404
    assert client.patch(f"{_url(a)}/{uuid.uuid4()}", json={"completed_on": "2026-05-04"}, headers=sg).status_code == 404


def test_purge_erases_referral_notes_and_keeps_kinds_and_dates(client: Any, world: World, app: Any) -> None:
    clock.set_frozen(NOW)
    case_id = world.new_case()
    sg = world.headers("safeguarding")
    client.post(_url(case_id), json={"kind": "regulator_notification", "note": "Gross misconduct notified."}, headers=sg)
    with app.state.sessionmaker() as s, s.begin():
        flows.close_case(s, app.state.keyring, app.state.settings,
                         user=s.get(User, uuid.UUID(world.id("safeguarding"))), case=s.get(Case, case_id),
                         outcome=Outcome.INVESTIGATION, summary="Investigated.")
    with app.state.sessionmaker() as s:
        assert s.scalars(select(Referral.note_ct)).one() is not None
    clock.set_frozen(datetime(2033, 1, 1, tzinfo=UTC))
    assert run_purge(app.state.settings).startswith("purged 1 case(s) past their retention date;")
    with app.state.sessionmaker() as s:
        row = s.scalars(select(Referral)).one()
    assert row.note_ct is None and row.due_on == date(2026, 5, 9) and row.kind.value == "regulator_notification"
