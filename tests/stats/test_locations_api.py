"""GET /api/v1/stats/locations: the shape of /stats/themes, by location, under the same decisions."""

from __future__ import annotations

import pytest

from app.enums import LocationKind
from app.locations.models import Location
from app.stats import service
from tests.stats.factory import add_case

URL = "/api/v1/stats/locations"


@pytest.fixture
def places(db):
    db.add_all([
        Location(slug="north", name="North station", kind=LocationKind.STATION, headcount=120, position=1),
        Location(slug="south", name="South station", kind=LocationKind.STATION, headcount=None, position=2),
        Location(slug="lab", name="Fire investigation", kind=LocationKind.TEAM, headcount=6, position=3),
        Location(slug="old", name="Old depot", kind=LocationKind.STATION, headcount=50, active=False, position=4),
        Location(slug="gone", name="Closed depot", kind=LocationKind.STATION, headcount=50, active=False, position=5),
    ])
    db.flush()


def add(db, location, month, n, theme="bullying"):
    for _ in range(n):
        c = add_case(db, month=month, theme=theme)
        c.location = location
    db.flush()


def test_counts_by_location_with_unknown_and_small_locations_pooled(client, db, places, make_staff):
    add(db, "north", "2024-01", 6)
    add(db, "south", "2024-01", 4)
    add(db, "old", "2024-01", 3)
    add(db, "lab", "2024-01", 3)  # six staff: never shown on its own
    add(db, None, "2024-01", 5)
    db.commit()
    body = client.get(URL, params={"bucket": "all"}, headers=make_staff("leadership").headers).json()
    assert body["periods"] == ["2024-01..2024-01"] and body["min_cell"] == 3
    rows = {r["location"]: r for r in body["rows"]}
    assert list(rows) == ["north", "south", "lab", "old"]  # a retired location with no case is left out
    assert rows["north"] == {"location": "north", "name": "North station", "kind": "station", "active": True,
                             "counts": [6], "total": 6}
    assert rows["south"]["total"] == 4 and rows["old"]["total"] == 3 and rows["old"]["active"] is False
    assert rows["lab"]["counts"] == [None] and rows["lab"]["total"] is None
    assert body["totals"] == {"counts": [21], "total": 21, "unknown": 5, "small_locations": 3, "late": 0}


def test_same_totals_as_the_themes_table_and_the_same_month_decisions(client, db, places, make_staff):
    add(db, "north", "2024-02", 1, theme="misconduct")
    add(db, "north", "2024-02", 1, theme="gambling")
    add(db, "south", "2024-02", 1, theme="bullying")
    db.commit()
    headers = make_staff("leadership").headers
    loc = client.get(URL, headers=headers).json()
    themes = client.get("/api/v1/stats/themes", headers=headers).json()
    # Three cases of three themes: every theme cell is 1. The two tables share one total, and no
    # cell of either shows a 1.
    assert loc["totals"]["counts"] == themes["totals"]["counts"]
    assert {r["location"]: r["counts"] for r in loc["rows"]}["south"] == [None]
    assert all(r["counts"] != [1] for r in loc["rows"] + themes["rows"])


def test_the_service_function_for_the_annual_report(db, places):
    add(db, "north", "2024-03", 4)
    db.commit()
    table = service.location_table(db, min_cell=3, from_month="2024-01", to_month="2024-12", bucket=service.Bucket.YEAR)
    assert table.periods == ["2024"]
    assert table.totals.total == 4
    assert {r.location: r.total for r in table.rows}["north"] is None  # all four at one place: a small group


def test_bad_period_is_a_problem(client, make_staff):
    r = client.get(URL, params={"from": "2024-13"}, headers=make_staff("leadership").headers)
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")


def test_hr_may_not_read_statistics(client, make_staff):
    assert client.get(URL, headers=make_staff("hr").headers).status_code == 403


def test_a_total_the_locations_table_must_hide_is_hidden_in_the_themes_table_too(client, db, places, make_staff):
    for place in ("north", "south", "old"):
        add(db, place, "2024-02", 1, theme="bullying")
    db.commit()
    headers = make_staff("leadership").headers
    themes = client.get("/api/v1/stats/themes", headers=headers).json()
    loc = client.get(URL, headers=headers).json()
    # Bullying holds the whole month of 3 (a small group): withheld with the zeros beside it, and
    # the three locations' 1s are never shown.
    assert themes["totals"]["counts"] == loc["totals"]["counts"]
    assert {r["theme"]: r["counts"] for r in themes["rows"]}["bullying"] == [None]
    assert {r["theme"]: r["counts"] for r in themes["rows"]}["other"] == [None]
    assert all(r["counts"] != [1] for r in loc["rows"])
