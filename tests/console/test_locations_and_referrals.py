"""The console's locations page (admin), the location on the report form, the recording form
and the case page, and referrals on the case page and in the queue: through the pages, with the
API's rules and audit entries."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from app import clock
from app.audit.models import AuditEvent
from app.cases.models import Case, Referral
from app.locations.models import Location
from tests.cases.conftest import World
from tests.console.conftest import case_link

NOW = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


def _location(app: Any, slug: str) -> Location | None:
    with app.state.sessionmaker() as s:
        found = s.get(Location, slug)
        if found is not None:
            s.expunge(found)
        return found


def _add_locations(as_: Any) -> None:
    admin = as_("admin")
    token = admin.token("/staff/locations")
    for slug, name, kind in (("north_station", "North Station", "station"), ("red_watch", "Red Watch", "watch")):
        r = admin.post("/staff/locations", {"slug": slug, "name": name, "kind": kind, "headcount": "40"}, token=token)
        assert r.status_code == 303, r.text


def test_an_admin_adds_renames_and_retires_a_location(app: Any, world: World, as_: Any) -> None:
    admin = as_("admin")
    token = admin.token("/staff/locations")
    page = admin.get("/staff/locations")
    assert page.status_code == 200 and "No locations yet" in page.text
    bad = admin.post("/staff/locations", {"slug": "North", "name": "", "kind": "county", "headcount": "many"},
                     token=token)
    assert bad.status_code == 422
    assert "lower-case letters" in bad.text and "whole number of staff" in bad.text
    assert _location(app, "north") is None
    ok = admin.post("/staff/locations", {"slug": "north_station", "name": "North Station", "kind": "station",
                                         "headcount": "40"}, token=token)
    assert ok.status_code == 303 and ok.headers["location"] == "/staff/locations?done=location_created"
    found = _location(app, "north_station")
    assert found is not None and found.headcount == 40 and found.kind.value == "station"
    assert admin.post("/staff/locations", {"slug": "north_station", "name": "Again", "kind": "station"},
                      token=token).status_code == 422
    # Renamed, headcount forgotten, "In use" unticked: retired.
    r = admin.post("/staff/locations/north_station", {"name": "North Fire Station", "kind": "station",
                                                       "headcount": ""}, token=token)
    assert r.status_code == 303
    found = _location(app, "north_station")
    assert found is not None and (found.name, found.headcount, found.active) == ("North Fire Station", None, False)
    assert "North Fire Station" not in as_("none").client.get("/report").text
    with app.state.sessionmaker() as s:
        actions = s.scalars(select(AuditEvent.action).where(AuditEvent.action.like("location.%"))).all()
    assert sorted(actions) == ["location.create", "location.update"]


def test_the_report_form_offers_active_locations_and_prefer_not_to_say(app: Any, world: World, as_: Any) -> None:
    reporter = as_("none")
    assert 'name="location"' not in reporter.client.get("/report").text  # nothing to choose from yet
    _add_locations(as_)
    form = reporter.client.get("/report").text
    assert re.search(r'<option value="prefer_not_to_say"[^>]*>Prefer not to say</option>', form)
    assert '<optgroup label="Stations">' in form and ">North Station</option>" in form and ">Red Watch</option>" in form
    token = reporter.token("/report")
    form_id = re.search(r'name="form_id" value="([^"]+)"', reporter.client.get("/report").text)
    assert form_id

    def send(location: str) -> Any:
        fid = re.search(r'name="form_id" value="([^"]+)"', reporter.client.get("/report").text)
        assert fid
        return reporter.post("/report", {"description": "Bullying at the station.", "identity": "anonymous",
                                         "location": location, "form_id": fid.group(1)}, token=token)

    refused = send("south_station")
    assert refused.status_code == 422 and "Choose a place from the list" in refused.text
    assert 'href="#location"' in refused.text  # the error summary links to the field
    assert send("red_watch").status_code == 200
    assert send("prefer_not_to_say").status_code == 200
    with app.state.sessionmaker() as s:
        assert sorted(str(x) for x in s.scalars(select(Case.location)).all()) == ["None", "red_watch"]


def test_safeguarding_records_and_changes_a_location_on_the_pages(app: Any, world: World, as_: Any) -> None:
    _add_locations(as_)
    sg = as_("safeguarding")
    record = sg.get("/staff/record")
    assert "Prefer not to say" in record.text and ">North Station</option>" in record.text
    token = sg.token("/staff/record")
    made = sg.post("/staff/record", {"channel": "phone", "received_at": "2026-01-05T10:00", "description": "Caller.",
                                     "about": "self", "identity": "anonymous", "risk": "standard",
                                     "location": "north_station"}, token=token)
    assert made.status_code == 200, made.text
    with app.state.sessionmaker() as s:
        case_id = s.scalars(select(Case.id).where(Case.location == "north_station")).one()
    page = sg.get(case_link(case_id))
    assert re.search(r"<dt>Location</dt><dd>North Station", page.text)
    r = sg.post(f"{case_link(case_id)}/triage", {"risk": "standard", "location_asked": "yes", "location": "red_watch"}, token=token)
    assert r.status_code == 303
    assert "<dt>Location</dt><dd>Red Watch" in sg.get(case_link(case_id)).text
    bad = sg.post(f"{case_link(case_id)}/triage", {"risk": "standard", "location_asked": "yes", "location": "nowhere"}, token=token)
    assert bad.status_code == 422 and "Unknown location" in bad.text
    cleared = sg.post(f"{case_link(case_id)}/triage", {"risk": "standard", "location_asked": "yes", "location": ""}, token=token)
    assert cleared.status_code == 303
    with app.state.sessionmaker() as s:
        assert s.get(Case, case_id).location is None  # type: ignore[union-attr]
    hr_page = as_("assigned_hr").get(case_link(world.new_case()))
    assert 'id="triage-location"' not in hr_page.text  # only safeguarding triages


def test_referrals_on_the_case_page_and_the_queue_flag(app: Any, world: World, as_: Any) -> None:
    clock.set_frozen(NOW)
    case_id = world.new_case()
    hr = as_("assigned_hr")
    token = hr.token(case_link(case_id))
    assert "No referrals." in hr.get(case_link(case_id)).text
    bad = hr.post(f"{case_link(case_id)}/referrals", {"kind": "", "note": "x"}, token=token)
    assert bad.status_code == 422 and 'href="#referral-kind"' in bad.text
    made = hr.post(f"{case_link(case_id)}/referrals", {"kind": "police", "note": "PC Jones, crime ref 42."},
                   token=token)
    assert made.status_code == 303 and made.headers["location"].endswith("done=referral#referrals")
    page = hr.get(case_link(case_id)).text
    assert "Police</strong>" in page and "PC Jones, crime ref 42." in page and "due Tuesday 5 May 2026" in page

    clock.set_frozen(NOW + timedelta(days=3))
    sg = as_("safeguarding")
    queue = sg.get("/staff/cases").text
    assert "Referral overdue" in queue
    assert case_link(case_id) in sg.get("/staff/cases?overdue=true").text  # "only overdue" finds it
    assert "overdue</strong>" in sg.get(case_link(case_id)).text
    with app.state.sessionmaker() as s:
        rid = s.scalars(select(Referral.id).where(Referral.case_id == case_id)).one()
    url = f"{case_link(case_id)}/referrals/{rid}/complete"
    token = sg.token(case_link(case_id))
    future = sg.post(url, {"completed_on": "2026-05-30"}, token=token)
    assert future.status_code == 422 and "in the future" in future.text
    empty = sg.post(url, {"completed_on": ""}, token=token)
    assert empty.status_code == 422 and "Enter the day it was done" in empty.text
    assert sg.post(url, {"completed_on": "2026-05-06"}, token=token).status_code == 303
    assert "Referral overdue" not in sg.get("/staff/cases").text
    assert "completed Wednesday 6 May 2026" in sg.get(case_link(case_id)).text
    with app.state.sessionmaker() as s:
        actions = s.scalars(select(AuditEvent.action).where(AuditEvent.case_id == case_id,
                                                            AuditEvent.action.like("referral.%"))).all()
    assert sorted(actions) == ["referral.complete", "referral.create"]
    # Another HR contact cannot add one: the case does not exist for them.
    other = as_("other_hr")
    r = other.post(f"{case_link(case_id)}/referrals", {"kind": "police"}, token=other.token("/staff/cases"))
    assert r.status_code == 404
