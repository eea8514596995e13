"""GET /api/v1/stats/summary."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from app import clock
from app.enums import About, Channel
from tests.stats.factory import add_case, add_check_in, add_feedback

URL = "/api/v1/stats/summary"


@pytest.fixture
def january(db, make_staff):
    """Nine contacts in 2024-01: six by web (anonymous, about themselves), three by phone out of hours."""
    clock.set_frozen(datetime(2024, 3, 1, 9, 0, tzinfo=UTC))
    hr = uuid.UUID(make_staff("hr").id)
    web = [
        add_case(db, month="2024-01", theme="bullying", acknowledged_after=timedelta(days=d) if d else None)
        for d in (1, 2, 4, None, None, None)
    ]
    for minutes in (10, 20, 30):
        add_case(db, month="2024-01", theme="misconduct", channel=Channel.PHONE, anonymous=False,
                 about=About.COLLEAGUE, out_of_hours=True, duration_minutes=minutes)
    for case, ratings in zip(web[:3], [(5, 4, 3, 2), (4, 4, 3, 2), (3, 4, 3, 5)], strict=True):
        add_feedback(db, case, ratings)
    add_check_in(db, web[0], hr, due=date(2024, 1, 10), completed=date(2024, 1, 9))
    add_check_in(db, web[0], hr, due=date(2024, 1, 15), completed=date(2024, 1, 15))
    add_check_in(db, web[1], hr, due=date(2024, 1, 20), completed=date(2024, 1, 25))
    add_check_in(db, web[1], hr, due=date(2024, 1, 28))  # never done: late
    add_check_in(db, web[2], hr, due=date(2024, 1, 29), cancelled=True)  # no longer due
    add_check_in(db, web[2], hr, due=date(2024, 2, 5), completed=date(2024, 2, 1))  # another month
    db.commit()
    return web


def test_summary_figures(client, january, make_staff):
    body = client.get(URL, headers=make_staff("leadership").headers).json()
    assert body["from"] == body["to"] == "2024-01"
    assert body["contacts"] == 9
    assert body["anonymous_share"] == pytest.approx(0.6667)
    assert body["out_of_hours_share"] == pytest.approx(0.3333)
    assert body["channel_shares"] == {"web": 0.6667, "phone": 0.3333, "email": 0.0, "in_person": 0.0}
    assert body["about_shares"] == {"self": 0.6667, "colleague": 0.3333, "other": 0.0}
    assert body["median_days_to_acknowledgement"] == 2.0
    assert body["check_ins_on_time_share"] == 0.5
    assert body["feedback"] == {"listened_to": 4.0, "kept_informed": 4.0, "support_suitable": 3.0, "would_recommend": 3.0}
    assert body["out_of_hours_call_minutes"] == 60


def test_check_ins_not_yet_due_are_left_out(client, january, make_staff):
    clock.set_frozen(datetime(2024, 1, 27, 9, 0, tzinfo=UTC))  # the 28 January one is not late yet
    body = client.get(URL, params={"from": "2024-01", "to": "2024-01"}, headers=make_staff("leadership").headers).json()
    assert body["check_ins_on_time_share"] == pytest.approx(0.6667)


def test_figures_over_fewer_than_min_cell_cases_are_withheld(client, db, make_staff):
    first = add_case(db, month="2024-05", acknowledged_after=timedelta(days=1))
    add_case(db, month="2024-05", acknowledged_after=timedelta(days=3))
    add_case(db, month="2024-05", channel=Channel.PHONE, out_of_hours=True, duration_minutes=12)
    add_feedback(db, first, (5, 5, 5, 5))
    db.commit()
    body = client.get(URL, headers=make_staff("leadership").headers).json()
    assert body["contacts"] == 3
    assert body["median_days_to_acknowledgement"] is None  # two acknowledged
    assert body["feedback"]["listened_to"] is None  # one response
    assert body["check_ins_on_time_share"] is None
    assert body["out_of_hours_call_minutes"] is None  # one call would give its length away
    # One phone contact against two by web: both channel cells are withheld.
    assert body["channel_shares"]["phone"] is None and body["channel_shares"]["web"] is None
    assert body["channel_shares"]["email"] == 0.0


def test_a_small_month_withholds_shares_over_any_range_containing_it(client, db, make_staff):
    for _ in range(5):
        add_case(db, month="2024-05", anonymous=True)
    add_case(db, month="2024-05", anonymous=False)
    for _ in range(4):
        add_case(db, month="2024-06", anonymous=False)
    db.commit()
    headers = make_staff("leadership").headers
    assert client.get(URL, headers=headers).json()["anonymous_share"] is None
    june = client.get(URL, params={"from": "2024-06", "to": "2024-06"}, headers=headers).json()
    assert june["anonymous_share"] == 0.0 and june["contacts"] == 4


def test_contacts_under_min_cell_are_withheld(client, db, make_staff):
    add_case(db, month="2024-05")
    add_case(db, month="2024-05")
    db.commit()
    body = client.get(URL, headers=make_staff("leadership").headers).json()
    assert body["contacts"] is None
    assert body["anonymous_share"] is None


def test_median_of_an_even_number_of_cases_is_the_mean_of_the_middle_two(client, db, make_staff):
    for days in (1, 1, 2, 3):  # median 1.5
        add_case(db, month="2024-05", acknowledged_after=timedelta(days=days, hours=1))
    db.commit()
    body = client.get(URL, headers=make_staff("leadership").headers).json()
    assert body["median_days_to_acknowledgement"] == 1.5


def test_median_of_a_histogram():
    from app.stats.service import _median_of_histogram

    assert _median_of_histogram([(10, 1), (20, 1), (40, 1)], 3) == 2.0
    assert _median_of_histogram([(10, 2), (20, 1), (30, 1)], 3) == 1.5
    assert _median_of_histogram([(10, 2)], 3) is None
