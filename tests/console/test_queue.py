"""The queue: what each person sees, in which order, with which flags; filters and the reference search."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from app import clock
from app.audit.service import Actor
from app.auth import service as auth
from app.auth.models import User
from app.cases.models import Case
from app.enums import Risk
from tests.cases.conftest import World

NEEDS_CONTACT = '<li class="tag late">Needs a new HR contact</li>'
REF = re.compile(r'<a href="/staff/cases/([0-9a-f-]{36})">(SS-[0-9A-Z]{4}-[0-9A-Z]{4})</a>')


def _listed(html: str) -> list[str]:
    return [case_id for case_id, _ in REF.findall(html)]


def _set(app: Any, case_id: uuid.UUID, **values: Any) -> None:
    with app.state.sessionmaker() as s, s.begin():
        case = s.get(Case, case_id)
        assert case is not None
        for k, v in values.items():
            setattr(case, k, v)


def test_safeguarding_sees_urgent_first_then_the_oldest_waiting(app: Any, world: World, as_: Any) -> None:
    t0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
    ids = []
    for hours in (0, 1, 2):
        with clock.frozen(t0 + timedelta(hours=hours)):
            ids.append(world.new_case(assign=False, exclude=False))
    _set(app, ids[0], risk=Risk.URGENT)
    page = as_("safeguarding").get("/staff/cases")
    assert page.status_code == 200
    assert _listed(page.text) == [str(ids[0]), str(ids[1]), str(ids[2])]
    assert page.text.count('<li class="tag urgent">Urgent</li>') == 1


def test_hr_sees_only_their_cases_and_the_excluded_see_none_of_theirs(app: Any, world: World, as_: Any) -> None:
    mine = world.new_case()  # assigned to assigned_hr; excluded_hr and excluded_safeguarding excluded
    other = world.new_case(assign=False, exclude=False)
    assert _listed(as_("assigned_hr").get("/staff/cases").text) == [str(mine)]
    assert _listed(as_("other_hr").get("/staff/cases").text) == []
    assert _listed(as_("excluded_safeguarding").get("/staff/cases").text) == [str(other)]
    assert set(_listed(as_("safeguarding").get("/staff/cases").text)) == {str(mine), str(other)}


def test_a_reference_read_out_on_the_phone_finds_the_case(app: Any, world: World, as_: Any) -> None:
    case_id = world.new_case()
    with app.state.sessionmaker() as s:
        reference = s.get(Case, case_id).reference  # type: ignore[union-attr]
    spoken = reference.lower().replace("-", " ")  # "ss 7k2m q9xd"
    r = as_("safeguarding").get("/staff/cases", params={"reference": spoken})
    assert r.status_code == 303 and r.headers["location"] == f"/staff/cases/{case_id}"
    # The same rules as everywhere: someone who may not see it finds nothing.
    for who in ("other_hr", "excluded_safeguarding"):
        miss = as_(who).get("/staff/cases", params={"reference": reference})
        assert miss.status_code == 200 and "No case with the reference" in miss.text
    # And the API twin.
    api = world.staff["safeguarding"].headers
    found = as_("safeguarding").client.get("/api/v1/cases", params={"reference": spoken}, headers=api).json()
    assert [i["id"] for i in found["items"]] == [str(case_id)]
    hidden = as_("other_hr").client.get("/api/v1/cases", params={"reference": reference},
                                        headers=world.staff["other_hr"].headers).json()
    assert hidden == {"items": [], "total": 0}


def test_filters_narrow_the_list(app: Any, world: World, as_: Any) -> None:
    urgent = world.new_case(assign=False, exclude=False)
    assigned = world.new_case(exclude=False)
    _set(app, urgent, risk=Risk.URGENT)
    sg = as_("safeguarding")
    assert _listed(sg.get("/staff/cases", params={"risk": "urgent"}).text) == [str(urgent)]
    assert _listed(sg.get("/staff/cases", params={"hr_contact": "none"}).text) == [str(urgent)]
    assert _listed(sg.get("/staff/cases", params={"status": "in_progress"}).text) == [str(assigned)]
    assert _listed(sg.get("/staff/cases", params={"hr_contact": world.id("assigned_hr")}).text) == [str(assigned)]


def test_overdue_cases_are_flagged_and_found_by_the_filter(app: Any, world: World, as_: Any) -> None:
    with clock.frozen(datetime(2026, 1, 5, 9, 0, tzinfo=UTC)):
        late = world.new_case(assign=False, exclude=False)
    fresh = world.new_case(assign=False, exclude=False)
    sg = as_("safeguarding")
    page = sg.get("/staff/cases").text
    assert "Not acknowledged in 7 days" in page
    assert _listed(sg.get("/staff/cases", params={"overdue": "true"}).text) == [str(late)]
    assert str(fresh) in _listed(page)


def test_a_check_in_overdue_is_flagged_and_its_date_shown(app: Any, world: World, as_: Any) -> None:
    with clock.frozen(datetime(2026, 1, 5, 9, 0, tzinfo=UTC)):
        case_id = world.new_case()  # first check-in due 12 January 2026
    page = as_("assigned_hr").get("/staff/cases").text
    assert "Check-in overdue" in page and "Monday 12 January 2026" in page
    assert _listed(as_("assigned_hr").get("/staff/cases", params={"overdue": "true"}).text) == [str(case_id)]


def test_a_new_message_from_the_reporter_is_marked_until_the_reader_opens_the_case(
    app: Any, world: World, as_: Any, client: Any
) -> None:
    case_id = world.new_case()
    hr = as_("assigned_hr")
    assert "New message from the reporter" not in hr.get("/staff/cases").text
    headers = {"Authorization": f"Bearer {world.reporter_token(case_id)}"}
    assert client.post("/api/v1/reporter/messages", json={"body": "Any news?"}, headers=headers).status_code == 201
    assert "New message from the reporter" in hr.get("/staff/cases").text
    # Unread is per reader: safeguarding sees it marked too until they read it.
    assert "New message from the reporter" in as_("safeguarding").get("/staff/cases").text
    assert hr.get(f"/staff/cases/{case_id}").status_code == 200
    assert "New message from the reporter" not in hr.get("/staff/cases").text
    assert "New message from the reporter" in as_("safeguarding").get("/staff/cases").text


def test_the_queue_is_paginated(app: Any, world: World, as_: Any) -> None:
    for _ in range(27):
        world.new_case(assign=False, exclude=False)
    sg = as_("safeguarding")
    first, second = sg.get("/staff/cases").text, sg.get("/staff/cases", params={"page": 2}).text
    assert len(_listed(first)) == 25 and len(_listed(second)) == 2
    assert "Page 1 of 2" in first and 'rel="next"' in first
    assert not set(_listed(first)) & set(_listed(second))


def test_a_deactivated_hr_contacts_cases_need_a_new_one(app: Any, world: World, as_: Any) -> None:
    case_id = world.new_case()
    with app.state.sessionmaker() as s, s.begin():
        auth.update_user(s, user_id=uuid.UUID(world.id("assigned_hr")), roles=None, active=False, name=None,
                         by=Actor.system("test"))
    sg = as_("safeguarding")
    assert NEEDS_CONTACT in sg.get("/staff/cases").text
    assert _listed(sg.get("/staff/cases", params={"hr_contact": "inactive"}).text) == [str(case_id)]
    api = sg.client.get("/api/v1/cases", headers=world.staff["safeguarding"].headers).json()["items"]
    assert [i["needs_new_hr_contact"] for i in api] == [True]
    # Assigning someone new clears it.
    with app.state.sessionmaker() as s:
        other = s.get(User, uuid.UUID(world.id("other_hr")))
        assert other is not None and other.active
    token = sg.token(f"/staff/cases/{case_id}")
    assert sg.post(f"/staff/cases/{case_id}/hr-contact", {"user_id": world.id("other_hr")}, token=token).status_code == 303
    assert NEEDS_CONTACT not in sg.get("/staff/cases").text
