"""Every refused change is a clear problem document and leaves the case and the audit trail untouched."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import func, select, update

from app.auth.models import User
from app.cases.models import Case
from app.themes.models import Theme
from tests.cases.conftest import World, audit_count, load_case


def _state(app: Any, case_id: uuid.UUID) -> tuple[Any, ...]:
    c = load_case(app, case_id)
    return (c.status, c.primary_theme, sorted(c.theme_slugs), c.risk, list(c.wishes), c.hr_contact_id,
            c.acknowledged_at, c.closed_at, c.outcome, c.closing_summary_ct)


def _refused(client: Any, app: Any, case_id: uuid.UUID, method: str, path: str, body: Any, headers: Any,
             status: int) -> dict[str, Any]:
    before, audits = _state(app, case_id), audit_count(app)
    r = client.request(method, path.format(id=case_id), json=body, headers=headers)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert {"type", "title", "status", "detail"} <= problem.keys()
    assert _state(app, case_id) == before
    assert audit_count(app) == audits
    return problem


CASE = "/api/v1/cases/{id}"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"themes": ["no_such_theme"]}, "themes"),
        ({"primary_theme": "no_such_theme"}, "primary_theme"),
        ({"risk": "high"}, "risk"),
        ({"wishes": ["revenge"]}, "wishes.0"),
        ({"primary_theme": None}, "primary_theme"),
        ({"primary_theme": "bullying", "colour": "red"}, "colour"),
    ],
    ids=["unknown-theme", "unknown-primary", "bad-risk", "bad-wish", "null-primary", "unknown-field"],
)
def test_bad_triage_is_refused_and_changes_nothing(
    body: dict[str, Any], field: str, client: Any, app: Any, world: World
) -> None:
    case_id = world.new_case(assign=False, exclude=False)
    problem = _refused(client, app, case_id, "PATCH", CASE, body, world.headers("safeguarding"), 422)
    assert field in [e["field"] for e in problem["errors"]]


def test_retired_theme_cannot_become_primary(client: Any, app: Any, db: Any, world: World) -> None:
    db.execute(update(Theme).where(Theme.slug == "gambling").values(active=False))
    db.commit()
    case_id = world.new_case(assign=False, exclude=False)
    problem = _refused(client, app, case_id, "PATCH", CASE, {"primary_theme": "gambling"},
                       world.headers("safeguarding"), 422)
    assert "no longer in use" in problem["detail"]


def test_theme_retired_after_triage_may_stay_on_the_case(client: Any, app: Any, db: Any, world: World) -> None:
    case_id = world.new_case(assign=False, exclude=False)
    sg = world.headers("safeguarding")
    assert client.patch(CASE.format(id=case_id), json={"primary_theme": "gambling"}, headers=sg).status_code == 200
    db.execute(update(Theme).where(Theme.slug == "gambling").values(active=False))
    db.commit()
    r = client.patch(CASE.format(id=case_id), json={"risk": "urgent", "themes": ["gambling"]}, headers=sg)
    assert r.status_code == 200 and r.json()["primary_theme"] == "gambling"


@pytest.mark.parametrize("who", ["leadership", "excluded_hr"], ids=["not-hr", "excluded-hr"])
def test_assigning_someone_who_may_not_be_contact_is_409(who: str, client: Any, app: Any, world: World) -> None:
    case_id = world.new_case()
    _refused(client, app, case_id, "PUT", CASE + "/hr-contact", {"user_id": world.id(who)},
             world.headers("safeguarding"), 409)


def test_assigning_an_inactive_hr_user_is_409(client: Any, app: Any, db: Any, world: World) -> None:
    case_id = world.new_case()
    db.execute(update(User).where(User.id == uuid.UUID(world.id("other_hr"))).values(active=False))
    db.commit()
    problem = _refused(client, app, case_id, "PUT", CASE + "/hr-contact", {"user_id": world.id("other_hr")},
                       world.headers("safeguarding"), 409)
    assert "not active" in problem["detail"]


def test_assigning_an_unknown_user_is_422(client: Any, app: Any, world: World) -> None:
    case_id = world.new_case()
    problem = _refused(client, app, case_id, "PUT", CASE + "/hr-contact", {"user_id": str(uuid.uuid4())},
                       world.headers("safeguarding"), 422)
    assert problem["errors"] == [{"field": "user_id", "message": "No such user."}]


def test_assigning_on_a_closed_case_is_409(client: Any, app: Any, world: World) -> None:
    case_id = world.new_case()
    sg = world.headers("safeguarding")
    assert client.post(CASE.format(id=case_id) + "/close", headers=sg,
                       json={"outcome": "withdrawn", "summary": "Withdrawn by phone."}).status_code == 200
    _refused(client, app, case_id, "PUT", CASE + "/hr-contact", {"user_id": world.id("other_hr")}, sg, 409)
    _refused(client, app, case_id, "PATCH", CASE, {"risk": "urgent"}, sg, 409)


def test_closing_twice_is_409_and_keeps_the_first_closure(client: Any, app: Any, world: World) -> None:
    case_id = world.new_case()
    hr = world.headers("assigned_hr")
    assert client.post(CASE.format(id=case_id) + "/close", headers=hr,
                       json={"outcome": "signposted", "summary": "Signposted."}).status_code == 200
    _refused(client, app, case_id, "POST", CASE + "/close", {"outcome": "referred", "summary": "Again."}, hr, 409)


def test_excluding_the_same_user_twice_is_409(client: Any, app: Any, world: World) -> None:
    case_id = world.new_case()
    _refused(client, app, case_id, "POST", CASE + "/exclusions",
             {"user_id": world.id("excluded_hr"), "reason": "again"}, world.headers("safeguarding"), 409)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/exclusions", {"user_id": "not-a-uuid", "reason": "x"}),
        ("/exclusions", {"user_id": None, "reason": ""}),
        ("/notes", {"body": "   "}),
        ("/notes", {"body": "x", "private": True}),
        ("/messages", {}),
        ("/close", {"outcome": "sacked", "summary": "x"}),
        ("/close", {"outcome": "withdrawn"}),
    ],
    ids=["exclusion-bad-id", "exclusion-empty", "note-blank", "note-unknown-field", "message-missing-body",
         "close-bad-outcome", "close-no-summary"],
)
def test_malformed_bodies_are_422_and_change_nothing(
    path: str, body: dict[str, Any], client: Any, app: Any, world: World
) -> None:
    case_id = world.new_case()
    _refused(client, app, case_id, "POST", CASE + path, body, world.headers("safeguarding"), 422)


def test_excluding_an_unknown_user_is_422(client: Any, app: Any, world: World) -> None:
    case_id = world.new_case()
    _refused(client, app, case_id, "POST", CASE + "/exclusions", {"user_id": str(uuid.uuid4()), "reason": "x"},
             world.headers("safeguarding"), 422)


GOOD_CONTACT = {"channel": "email", "received_at": "2026-01-05T10:00:00Z", "description": "A concern by e-mail."}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"channel": "web"}, "channel"),
        ({"channel": "carrier_pigeon"}, "channel"),
        ({"received_at": "2999-01-01T00:00:00Z"}, "received_at"),
        ({"received_at": "2026-01-05T10:00:00"}, "received_at"),
        ({"received_at": None}, "received_at"),
        ({"duration_minutes": 1441}, "duration_minutes"),
        ({"duration_minutes": -1}, "duration_minutes"),
        ({"description": ""}, "description"),
        ({"themes": ["no_such_theme"]}, "themes"),
        ({"reporter": {"name": "Jo"}}, "body"),
        ({"caller_mood": "upset"}, "caller_mood"),
    ],
    ids=["web", "unknown-channel", "future", "no-zone", "no-time", "too-long", "negative", "no-description",
         "unknown-theme", "anonymous-with-identity", "unknown-field"],
)
def test_bad_recorded_contact_is_422_and_creates_nothing(
    change: dict[str, Any], field: str, client: Any, app: Any, world: World
) -> None:
    with app.state.sessionmaker() as s:
        cases_before = s.scalar(select(func.count()).select_from(Case))
    audits = audit_count(app)
    r = client.post("/api/v1/cases", json={**GOOD_CONTACT, **change}, headers=world.headers("safeguarding"))
    assert r.status_code == 422, r.text
    assert field in [e["field"] for e in r.json()["errors"]]
    with app.state.sessionmaker() as s:
        assert s.scalar(select(func.count()).select_from(Case)) == cases_before
    assert audit_count(app) == audits


def test_list_refuses_bad_paging(client: Any, world: World) -> None:
    sg = world.headers("safeguarding")
    for query in ("page=0", "page_size=0", "page_size=101", "status=open", "hr_contact=bob"):
        r = client.get(f"/api/v1/cases?{query}", headers=sg)
        assert r.status_code == 422, query
