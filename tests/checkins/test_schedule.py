"""Check-in scheduling across time, with the clock frozen and non-default cadences."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from app import clock
from app.checkins import service as checkins

DAY0 = datetime(2026, 4, 1, 10, 0, tzinfo=UTC)


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"checkin_first_days": 3, "checkin_interval_days": 10, "staff_token_minutes": 60 * 24 * 365,
            "staff_idle_minutes": 60 * 24 * 365}


@pytest.fixture(autouse=True)
def _frozen() -> None:
    clock.set_frozen(DAY0)


def _open(client, staff):  # type: ignore[no-untyped-def]
    return [(c["due_on"], c["overdue"]) for c in client.get("/api/v1/check-ins", headers=staff.headers).json()]


def _at(day: int) -> None:
    clock.set_frozen(DAY0 + timedelta(days=day))


def test_the_first_check_in_falls_first_days_after_assignment(client, make_staff, new_case, assign):
    hr = make_staff("hr")
    case_id, _ = new_case()
    assign(case_id, hr.id)
    assert _open(client, hr) == [("2026-04-04", False)]


def test_a_check_in_due_today_is_not_yet_overdue_and_tomorrow_it_is(client, make_staff, new_case, assign):
    hr = make_staff("hr")
    case_id, _ = new_case()
    assign(case_id, hr.id)
    _at(3)
    assert _open(client, hr) == [("2026-04-04", False)]
    _at(4)
    assert _open(client, hr) == [("2026-04-04", True)]


def test_the_next_check_in_falls_an_interval_after_completion_not_after_the_due_date(client, make_staff, new_case, assign):
    hr = make_staff("hr")
    case_id, _ = new_case()
    ci = assign(case_id, hr.id)
    _at(6)  # completed three days late
    r = client.post(f"/api/v1/cases/{case_id}/check-ins/{ci}/complete",
                    json={"summary": "Caught up by phone.", "support_suitable": True}, headers=hr.headers)
    assert r.status_code == 200 and r.json()["next_due_on"] == "2026-04-17"
    assert _open(client, hr) == [("2026-04-17", False)]
    _at(20)
    assert _open(client, hr) == [("2026-04-17", True)]


def test_the_cadence_continues_check_in_after_check_in(client, make_staff, new_case, assign):
    hr = make_staff("hr")
    case_id, _ = new_case()
    ci = assign(case_id, hr.id)
    dues = []
    for day in (3, 13, 23):
        _at(day)
        r = client.post(f"/api/v1/cases/{case_id}/check-ins/{ci}/complete",
                        json={"summary": f"Check-in on day {day}.", "support_suitable": True}, headers=hr.headers)
        assert r.status_code == 200
        ci = next(c["id"] for c in client.get("/api/v1/check-ins", headers=hr.headers).json())
        dues.append(r.json()["next_due_on"])
    assert dues == ["2026-04-14", "2026-04-24", "2026-05-04"]
    history = client.get(f"/api/v1/cases/{case_id}/check-ins", headers=hr.headers).json()
    assert [c["summary"] for c in history] == ["Check-in on day 3.", "Check-in on day 13.", "Check-in on day 23.", None]


def test_no_check_in_is_due_after_closure(app, client, make_staff, new_case, assign, close_case):
    hr = make_staff("hr")
    case_id, _ = new_case()
    assign(case_id, hr.id)
    _at(10)
    close_case(case_id)
    assert _open(client, hr) == []
    _at(40)
    assert _open(client, hr) == []
    with app.state.sessionmaker() as s:
        assert checkins.next_due(s, case_id=uuid.UUID(case_id)) is None


def test_reassignment_moves_the_open_check_in_to_the_new_contact(client, make_staff, new_case, assign):
    old, new = make_staff("hr"), make_staff("hr")
    case_id, _ = new_case()
    assign(case_id, old.id)
    _at(2)
    assign(case_id, new.id)
    assert _open(client, old) == []
    assert _open(client, new) == [("2026-04-06", False)]
