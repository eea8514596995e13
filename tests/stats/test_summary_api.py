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
    """Fifteen contacts in 2024-01 (recorded as they came): twelve by web (anonymous, about
    themselves), three by phone out of hours; ten acknowledgements, ten feedbacks, eleven check-ins
    (ten due in the quarter), all in the first quarter. Asked on 2 July 2024: the quarter and the next (the 90 days an acknowledgement may take) are over."""
    clock.set_frozen(datetime(2024, 1, 10, 13, 0, tzinfo=UTC))
    hr = uuid.UUID(make_staff("hr").id)
    delays = [1, 1, 2, 2, 2, 3, 3, 4, 5, 6, None, None]  # median of ten: 2.5 days
    web = [
        add_case(db, month="2024-01", theme="bullying", acknowledged_after=timedelta(days=d) if d else None)
        for d in delays
    ]
    for minutes in (10, 20, 30):
        add_case(db, month="2024-01", theme="misconduct", channel=Channel.PHONE, anonymous=False,
                 about=About.COLLEAGUE, out_of_hours=True, duration_minutes=minutes)
    clock.set_frozen(datetime(2024, 2, 20, 9, 0, tzinfo=UTC))
    for case in web[:10]:
        add_feedback(db, case, (4, 3, 5, 2))
    add_feedback(db, web[10], (1, 1, 1, 1))
    add_feedback(db, web[11], (1, 1, 1, 1))  # (4*10 + 2) / 12 = 3.5 listened_to
    for i in range(10):
        done = date(2024, 1, 10 + i) if i < 6 else (date(2024, 2, 25) if i < 8 else None)
        add_check_in(db, web[i], hr, due=date(2024, 1, 12 + i), completed=done)  # 6 of 10 on time
    add_check_in(db, web[10], hr, due=date(2024, 3, 5), cancelled=True)  # cancelled before due: left out
    db.commit()
    clock.set_frozen(datetime(2024, 7, 2, 9, 0, tzinfo=UTC))
    return web


def test_summary_figures(client, january, make_staff):
    body = client.get(URL, headers=make_staff("leadership").headers).json()
    assert body["from"] == body["to"] == "2024-01"  # the months with any case; its quarter is not whole
    body = client.get(URL, params={"from": "2024-01", "to": "2024-03"}, headers=make_staff("leadership").headers).json()
    assert body["contacts"] == 15
    assert body["anonymous_share"] == pytest.approx(0.8)
    assert body["out_of_hours_share"] == pytest.approx(0.2)
    assert body["channel_shares"] == {"web": 0.8, "phone": 0.2, "email": 0.0, "in_person": 0.0}
    assert body["about_shares"] == {"self": 0.8, "colleague": 0.2, "other": 0.0}
    assert body["median_days_to_acknowledgement"] == 2.5
    assert body["check_ins_on_time_share"] == 0.6
    assert body["feedback"] == {"listened_to": 3.5, "kept_informed": 2.7, "support_suitable": 4.3, "would_recommend": 1.8}
    assert body["out_of_hours_call_minutes"] == 60
    assert body["answers_periods"] == {"median_days_to_acknowledgement": "2024-Q1..2024-Q1",
                                       "check_ins_on_time_share": "2024-Q1..2024-Q1", "feedback": "2024-Q1..2024-Q1"}


def test_answers_wait_until_their_quarter_is_over(client, january, make_staff):
    clock.set_frozen(datetime(2024, 3, 25, 9, 0, tzinfo=UTC))
    body = client.get(URL, params={"from": "2024-01", "to": "2024-03"}, headers=make_staff("leadership").headers).json()
    assert body["median_days_to_acknowledgement"] is None
    assert body["check_ins_on_time_share"] is None
    assert body["feedback"]["listened_to"] is None
    # A range that does not hold the whole quarter does not show it either.
    clock.set_frozen(datetime(2024, 7, 2, 9, 0, tzinfo=UTC))
    body = client.get(URL, params={"from": "2024-01", "to": "2024-02"}, headers=make_staff("leadership").headers).json()
    assert body["feedback"]["listened_to"] is None and body["answers_periods"]["feedback"] is None


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


def test_shares_are_published_over_quarters_and_longer_never_for_a_small_month(client, db, make_staff):
    for _ in range(5):
        add_case(db, month="2024-05", anonymous=True)
    add_case(db, month="2024-05", anonymous=False)
    for _ in range(4):
        add_case(db, month="2024-06", anonymous=False)
    db.commit()
    headers = make_staff("leadership").headers
    whole = client.get(URL, headers=headers).json()
    assert whole["anonymous_share"] == 0.5 and whole["published_periods"] == ["2024-05..2024-06"]
    assert [p["period"] for p in whole["by_period"]] == ["2024-05..2024-06"]
    june = client.get(URL, params={"from": "2024-06", "to": "2024-06"}, headers=headers).json()
    # May's one named contact is never shown: shares are published for quarters and longer only
    assert june["anonymous_share"] is None and june["contacts"] == 4


def test_contacts_under_min_cell_are_withheld(client, db, make_staff):
    add_case(db, month="2024-05")
    add_case(db, month="2024-05")
    db.commit()
    body = client.get(URL, headers=make_staff("leadership").headers).json()
    assert body["contacts"] is None
    assert body["anonymous_share"] is None


def test_median_of_a_histogram():
    from app.stats.answers import median_of_histogram

    assert median_of_histogram([(10, 1), (20, 1), (40, 1)], 3) == 2.0
    assert median_of_histogram([(10, 2), (20, 1), (30, 1)], 3) == 1.5
    assert median_of_histogram([(10, 2)], 3) is None
