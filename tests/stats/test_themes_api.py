"""GET /api/v1/stats/themes and its CSV twin."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest

from app import clock
from tests.stats.factory import add_cases

URL = "/api/v1/stats/themes"


def by_theme(body):
    return {row["theme"]: row for row in body["rows"]}


class TestHandMadeWithMinCellOne:
    @pytest.fixture
    def settings_overrides(self):
        return {"min_cell": 1}

    def test_whole_period_shows_every_count(self, client, hand_made, make_staff):
        body = client.get(URL, params={"bucket": "all"}, headers=make_staff("leadership").headers).json()
        rows = by_theme(body)
        assert body["periods"] == ["2024-01..2024-03"] and body["min_cell"] == 1
        assert {t: r["total"] for t, r in rows.items() if r["total"]} == {
            "domestic_abuse": 7, "misconduct": 6, "mental_health": 5, "line_manager": 15, "bullying": 13, "gambling": 3,
        }
        assert all(r["counts"] == [r["total"]] for r in rows.values())
        assert body["totals"] == {"counts": [50], "total": 50, "untriaged": 1, "late": 0}


class TestHandMadeWithDefaultMinCell:
    def test_whole_period_shows_each_theme_of_the_quarter(self, client, hand_made, make_staff):
        body = client.get(URL, params={"bucket": "all"}, headers=make_staff("leadership").headers).json()
        rows = by_theme(body)
        assert body["min_cell"] == 3
        expected = {
            "domestic_abuse": 7,      # the range is a grid period (since launch, 2024-Q1): its cells stand alone
            "misconduct": 6,          # January's 1 is withheld in January only
            "financial_concern": 0,
            "mental_health": 5,
            "line_manager": 15,
            "bullying": 13,
            "substance_misuse": 0, "promotion_process": 0, "industrial_action": 0,
            "gambling": None,         # 3, withheld so that the untriaged 1 cannot be worked out
            "matrimonial": 0, "misogyny": 0, "homophobia": 0, "other": 0,
        }
        assert {t: r["total"] for t, r in rows.items()} == expected
        assert list(rows) == list(expected)  # the theme list's order
        assert body["totals"] == {"counts": [50], "total": 50, "untriaged": None, "late": 0}

    def test_by_month_shows_each_cell_or_withholds_it(self, client, hand_made, make_staff):
        body = client.get(URL, params={"bucket": "month"}, headers=make_staff("leadership").headers).json()
        rows = by_theme(body)
        assert body["periods"] == ["2024-01", "2024-02", "2024-03"]
        # months show what their volume allows; the small ones and their complements are withheld
        assert rows["domestic_abuse"]["counts"] == [None, None, 0]
        assert rows["misconduct"]["counts"] == [None, 0, None]
        assert rows["bullying"]["counts"] == [6, 3, 4]
        assert rows["mental_health"]["counts"] == [0, None, None]
        assert rows["line_manager"]["counts"] == [4, 5, 6]
        assert rows["gambling"]["counts"] == [0, None, 0]
        assert rows["gambling"]["active"] is False
        assert body["totals"]["counts"] == [14, 17, 19]

    def test_purged_cases_still_count(self, client, hand_made, make_staff):
        body = client.get(URL, params={"from": "2024-01", "to": "2024-01"}, headers=make_staff("leadership").headers).json()
        assert by_theme(body)["bullying"]["counts"] == [6]


def test_a_single_small_cell_in_a_month_is_withheld_with_a_complement(client, db, make_staff):
    add_cases(db, {("bullying", "2024-05"): 7, ("misconduct", "2024-05"): 4, ("gambling", "2024-05"): 1})
    rows = by_theme(client.get(URL, headers=make_staff("leadership").headers).json())
    assert rows["gambling"]["counts"] == [None]
    assert rows["misconduct"]["counts"] == [None]
    assert rows["bullying"]["counts"] == [7]


def test_a_small_month_total_is_withheld_and_a_small_group_in_one_theme_too(client, db, make_staff):
    add_cases(db, {("bullying", "2024-05"): 2, ("bullying", "2024-06"): 5})
    body = client.get(URL, params={"bucket": "quarter"}, headers=make_staff("leadership").headers).json()
    assert body["periods"] == ["2024-Q2"]
    # the quarter's 7 are all about bullying: the total shows, every cell of the column is withheld (zeros too)
    assert body["totals"] == {"counts": [7], "total": 7, "untriaged": None, "late": 0}
    assert {r["counts"][0] for r in body["rows"]} == {None}
    month = client.get(URL, headers=make_staff("leadership").headers).json()
    assert month["totals"]["counts"] == [None, None]  # May's 2, and June's 5 beside the quarter's 7


def test_all_zero_range_shows_zeros(client, db, make_staff):
    add_cases(db, {("bullying", "2024-05"): 5})
    body = client.get(URL, params={"from": "2023-01", "to": "2023-02"}, headers=make_staff("leadership").headers).json()
    assert all(r["counts"] == [0, 0] and r["total"] == 0 for r in body["rows"])
    assert body["totals"] == {"counts": [0, 0], "total": 0, "untriaged": 0, "late": 0}


def test_untriaged_cases_are_only_in_the_totals(client, db, make_staff):
    add_cases(db, {("bullying", "2024-05"): 4, (None, "2024-05"): 3})
    body = client.get(URL, headers=make_staff("leadership").headers).json()
    assert body["totals"] == {"counts": [7], "total": 7, "untriaged": 3, "late": 0}
    assert sum(r["total"] for r in body["rows"]) == 4


def test_range_defaults_to_first_and_last_month_with_a_case(client, db, make_staff):
    add_cases(db, {("bullying", "2023-11"): 3, ("bullying", "2024-02"): 3})
    body = client.get(URL, headers=make_staff("leadership").headers).json()
    assert (body["from"], body["to"], body["bucket"]) == ("2023-11", "2024-02", "month")
    assert body["periods"] == ["2023-11", "2023-12", "2024-01", "2024-02"]


def test_without_any_case_the_range_is_this_month(client, make_staff):
    clock.set_frozen(datetime(2026, 1, 31, 22, 15, tzinfo=UTC))
    body = client.get(URL, headers=make_staff("leadership").headers).json()
    assert (body["from"], body["to"]) == ("2026-01", "2026-01")


@pytest.mark.parametrize(
    ("bucket", "periods"),
    [("quarter", ["2023-Q4", "2024-Q1"]), ("year", ["2023", "2024"]), ("all", ["2023-11..2024-02"])],
)
def test_periods_are_labelled_and_clipped_to_the_range(client, db, make_staff, bucket, periods):
    add_cases(db, {("bullying", "2023-11"): 3, ("bullying", "2023-12"): 3, ("bullying", "2024-02"): 4})
    body = client.get(URL, params={"from": "2023-11", "to": "2024-02", "bucket": bucket},
                      headers=make_staff("leadership").headers).json()
    assert body["periods"] == periods
    assert sum(body["totals"]["counts"]) == 10


@pytest.mark.parametrize(
    ("params", "field"),
    [({"from": "2024-13"}, "from"), ({"to": "24-01"}, "to"), ({"from": "2024-03", "to": "2024-02"}, "from"),
     ({"bucket": "week"}, "bucket"), ({"from": "1900-01", "to": "2024-01"}, "to")],
)
def test_bad_parameters_are_a_422_problem(client, make_staff, params, field):
    r = client.get(URL, params=params, headers=make_staff("leadership").headers)
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert field in [e["field"] for e in r.json()["errors"]]


@pytest.mark.parametrize("path", [URL, URL + ".csv", "/api/v1/stats/summary"])
@pytest.mark.parametrize(("role", "status"), [("leadership", 200), ("safeguarding", 200), ("admin", 200), ("hr", 403)])
def test_roles(client, make_staff, path, role, status):
    assert client.get(path, headers=make_staff(role).headers).status_code == status


@pytest.mark.parametrize("path", [URL, URL + ".csv", "/api/v1/stats/summary"])
def test_without_a_token_is_401(client, path):
    r = client.get(path)
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")


def test_csv_has_a_header_a_row_per_theme_and_empty_withheld_cells(client, hand_made, make_staff):
    r = client.get(URL + ".csv", params={"bucket": "month"}, headers=make_staff("leadership").headers)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    table = list(csv.reader(io.StringIO(r.text)))
    assert table[0] == ["theme", "name", "2024-01", "2024-02", "2024-03", "total"]
    rows = {line[0]: line for line in table[1:]}
    assert rows["domestic_abuse"] == ["domestic_abuse", "Domestic abuse", "", "", "0", "7"]
    assert rows["line_manager"] == ["line_manager", "Concerns about a line manager", "4", "5", "6", "15"]
    assert rows["total"] == ["total", "All contacts", "14", "17", "19", "50"]
    assert rows["untriaged"] == ["untriaged", "Not yet triaged", "", "", "", ""]
    assert len(table) == 1 + 14 + 2  # 13 active default themes + the retired gambling, total, untriaged
    assert {len(line) for line in table} == {6}


def test_csv_matches_the_json_table(client, hand_made, make_staff):
    headers = make_staff("leadership").headers
    body = client.get(URL, params={"bucket": "quarter"}, headers=headers).json()
    table = list(csv.reader(io.StringIO(client.get(URL + ".csv", params={"bucket": "quarter"}, headers=headers).text)))
    assert table[0][2:-1] == body["periods"]
    for row, line in zip(body["rows"], table[1:-2], strict=True):
        assert line[2:] == ["" if v is None else str(v) for v in row["counts"] + [row["total"]]]


def test_csv_does_not_let_a_theme_name_run_as_a_formula(client, db, make_staff):
    from sqlalchemy import update

    from app.themes.models import Theme

    db.execute(update(Theme).where(Theme.slug == "other").values(name="=HYPERLINK(1)"))
    db.commit()
    text = client.get(URL + ".csv", headers=make_staff("admin").headers).text
    assert "other,'=HYPERLINK(1)," in text


def test_openapi_documents_the_statistics(client):
    paths = client.get("/openapi.json").json()["paths"]
    params = {p["name"] for p in paths["/api/v1/stats/themes"]["get"]["parameters"]}
    assert {"from", "to", "bucket"} <= params
    assert "/api/v1/stats/summary" in paths and "/api/v1/stats/themes.csv" in paths
    assert "/dashboard" not in paths
