"""Locations (contract section 6): the admin-managed list, chosen by a reporter or a recording
officer ("prefer not to say" always possible), set at triage, shown on the case."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.cases.models import Case
from app.locations.models import Location

STATION = {"slug": "north_station", "name": "North Station", "kind": "station", "headcount": 40}


def _count(app: Any, model: Any) -> int:
    with app.state.sessionmaker() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


@pytest.fixture
def admin(make_staff: Any) -> Any:
    return make_staff("admin")


@pytest.fixture
def sg(make_staff: Any) -> Any:
    return make_staff("safeguarding")


def _add(client: Any, admin: Any, **over: Any) -> dict[str, Any]:
    r = client.post("/api/v1/locations", json={**STATION, **over}, headers=admin.headers)
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def test_admin_adds_renames_and_retires_a_location_and_everyone_reads_the_list(client: Any, admin: Any, app: Any) -> None:
    assert _add(client, admin) == {**STATION, "active": True}
    _add(client, admin, slug="red_watch", name="Red Watch", kind="watch", headcount=None)
    listed = client.get("/api/v1/locations")  # no sign-in, like the themes
    assert listed.status_code == 200
    assert [x["slug"] for x in listed.json()] == ["north_station", "red_watch"]

    r = client.patch("/api/v1/locations/north_station", json={"name": "North Fire Station", "headcount": None},
                     headers=admin.headers)
    assert r.status_code == 200
    assert r.json() == {**STATION, "name": "North Fire Station", "headcount": None, "active": True}
    r = client.patch("/api/v1/locations/north_station", json={"active": False}, headers=admin.headers)
    assert r.json()["active"] is False and r.json()["name"] == "North Fire Station"

    with app.state.sessionmaker() as s:
        actions = s.scalars(select(AuditEvent.action).where(AuditEvent.action.like("location.%"))
                            .order_by(AuditEvent.id)).all()
    assert actions == ["location.create", "location.create", "location.update", "location.update"]


@pytest.mark.parametrize("body", [
    {**STATION, "slug": "North Station"},
    {**STATION, "slug": "prefer_not_to_say"},
    {**STATION, "kind": "county"},
    {**STATION, "headcount": -1},
    {**STATION, "headcount": "40"},
    {**STATION, "name": ""},
    {k: v for k, v in STATION.items() if k != "kind"},
    {**STATION, "colour": "red"},
])
def test_a_bad_location_is_422_and_nothing_is_written(client: Any, admin: Any, app: Any, body: dict[str, Any]) -> None:
    r = client.post("/api/v1/locations", json=body, headers=admin.headers)
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert _count(app, Location) == 0


def test_duplicate_slug_is_409_unknown_slug_404_and_null_name_422(client: Any, admin: Any) -> None:
    _add(client, admin)
    assert client.post("/api/v1/locations", json=STATION, headers=admin.headers).status_code == 409
    assert client.patch("/api/v1/locations/nowhere", json={"name": "X"}, headers=admin.headers).status_code == 404
    r = client.patch("/api/v1/locations/north_station", json={"name": None}, headers=admin.headers)
    assert r.status_code == 422
    assert client.get("/api/v1/locations").json()[0]["name"] == "North Station"


def test_only_admins_edit_the_list(client: Any, make_staff: Any) -> None:
    for role in ("safeguarding", "hr", "leadership"):
        who = make_staff(role)
        assert client.post("/api/v1/locations", json=STATION, headers=who.headers).status_code == 403
        assert client.patch("/api/v1/locations/x", json={}, headers=who.headers).status_code == 403
    assert client.post("/api/v1/locations", json=STATION).status_code == 401


def test_a_report_names_an_active_location_or_prefers_not_to_say(client: Any, admin: Any, sg: Any, app: Any) -> None:
    _add(client, admin)
    named = client.post("/api/v1/reports", json={"description": "Bullying on nights.", "location": "north_station"})
    assert named.status_code == 201
    declined = client.post("/api/v1/reports", json={"description": "Bullying on days.", "location": "prefer_not_to_say"})
    assert declined.status_code == 201
    silent = client.post("/api/v1/reports", json={"description": "Bullying at weekends."})
    assert silent.status_code == 201
    with app.state.sessionmaker() as s:
        stored = dict(s.execute(select(Case.reference, Case.location)).all())
    assert stored == {named.json()["reference"]: "north_station", declined.json()["reference"]: None,
                      silent.json()["reference"]: None}
    items = client.get("/api/v1/cases", headers=sg.headers).json()["items"]
    assert sorted(str(i["location"]) for i in items) == ["None", "None", "north_station"]


@pytest.mark.parametrize("choice", ["nowhere", "retired_station", "", "North Station", 7])
def test_an_unknown_or_retired_location_refuses_the_report_and_stores_nothing(
    client: Any, admin: Any, app: Any, choice: Any
) -> None:
    _add(client, admin, slug="retired_station")
    client.patch("/api/v1/locations/retired_station", json={"active": False}, headers=admin.headers)
    r = client.post("/api/v1/reports", json={"description": "Something happened.", "location": choice})
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert _count(app, Case) == 0


def test_a_recorded_contact_takes_a_location_too(client: Any, admin: Any, sg: Any, app: Any) -> None:
    _add(client, admin)
    body = {"channel": "phone", "received_at": "2026-01-05T10:00:00Z", "description": "Caller describes bullying."}
    r = client.post("/api/v1/cases", json={**body, "location": "north_station"}, headers=sg.headers)
    assert r.status_code == 201 and r.json()["location"] == "north_station"
    bad = client.post("/api/v1/cases", json={**body, "location": "south_station"}, headers=sg.headers)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "location"
    assert _count(app, Case) == 1


def test_triage_sets_changes_and_clears_the_location(client: Any, admin: Any, sg: Any, make_staff: Any) -> None:
    _add(client, admin)
    _add(client, admin, slug="red_watch", name="Red Watch", kind="watch")
    assert client.post("/api/v1/reports", json={"description": "Shouting at handover."}).status_code == 201
    case_id = client.get("/api/v1/cases", headers=sg.headers).json()["items"][0]["id"]
    url = f"/api/v1/cases/{case_id}"
    r = client.patch(url, json={"location": "red_watch"}, headers=sg.headers)
    assert r.status_code == 200 and r.json()["location"] == "red_watch"
    # Retired since: the case keeps it through another triage, but it cannot be newly chosen.
    client.patch("/api/v1/locations/red_watch", json={"active": False}, headers=admin.headers)
    assert client.patch(url, json={"risk": "urgent"}, headers=sg.headers).json()["location"] == "red_watch"
    assert client.patch(url, json={"location": "red_watch"}, headers=sg.headers).status_code == 200
    client.patch(url, json={"location": "north_station"}, headers=sg.headers)
    refused = client.patch(url, json={"location": "red_watch"}, headers=sg.headers)
    assert refused.status_code == 422
    assert client.get(url, headers=sg.headers).json()["location"] == "north_station"
    assert client.patch(url, json={"location": "prefer_not_to_say"}, headers=sg.headers).json()["location"] is None
    client.patch(url, json={"location": "north_station"}, headers=sg.headers)
    assert client.patch(url, json={"location": None}, headers=sg.headers).json()["location"] is None
    hr = make_staff("hr")
    assert client.patch(url, json={"location": "north_station"}, headers=hr.headers).status_code == 403
