"""Nothing a client sends reaches the database unchecked: control characters, lone surrogates,
out-of-range dates, months and numbers, and bodies that are not text are a 422 naming the field,
never a 500, and store nothing (on both databases: PostgreSQL refuses NUL in text by itself)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.cases.models import Case

TEXT = "My manager shouts at me in team meetings and I dread going in."


def _cases(app: Any) -> int:
    with app.state.sessionmaker() as s:
        return s.scalar(select(func.count()).select_from(Case)) or 0


def _refused(r: Any, field: str) -> None:
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert field in [e["field"] for e in r.json()["errors"]], r.json()


@pytest.mark.parametrize(("body", "field"), [
    ({"description": TEXT + "\x00"}, "description"),
    ({"description": TEXT + "\x01"}, "description"),
    ({"description": TEXT + "\x7f"}, "description"),
    ({"description": TEXT + "\u0085 and on"}, "description"),
    ({"description": TEXT, "themes": ["bul\x00lying"]}, "themes"),
    ({"description": TEXT, "anonymous": False, "reporter": {"name": "Sam\x00 Smith"}}, "reporter.name"),
    ({"description": TEXT, "anonymous": False, "reporter": {"name": "Sam\nSmith"}}, "reporter.name"),
])
def test_a_report_with_a_control_character_is_refused_and_stores_nothing(
    app: Any, client: TestClient, body: dict[str, Any], field: str
) -> None:
    _refused(client.post("/api/v1/reports", json=body), field)
    assert _cases(app) == 0


def test_free_text_keeps_tabs_and_line_breaks(client: TestClient) -> None:
    assert client.post("/api/v1/reports", json={"description": "Line one\r\nLine two\n\tindented"}).status_code == 201


def test_a_lone_surrogate_is_refused(app: Any, client: TestClient) -> None:
    r = client.post("/api/v1/reports", content=b'{"description": "before \\ud800 after"}',
                    headers={"Content-Type": "application/json"})
    _refused(r, "description")
    assert _cases(app) == 0


def test_a_body_that_is_not_text_is_a_422(client: TestClient) -> None:
    r = client.post("/api/v1/reports", content=b"\xff\xfe\x00\x81", headers={"Content-Type": "application/json"})
    _refused(r, "body")


@pytest.mark.parametrize("query", [
    {"from": "9999-12", "to": "9999-12"},
    {"from": "0001-01"},
    {"to": "2024-13"},
    {"from": "2024-1"},
])
def test_months_out_of_range_are_refused(client: TestClient, make_staff: Any, query: dict[str, str]) -> None:
    leader = make_staff("leadership")
    for path in ("/api/v1/stats/summary", "/api/v1/stats/themes", "/api/v1/stats/themes.csv"):
        _refused(client.get(path, params=query, headers=leader.headers), next(iter(query)))


def test_the_dashboard_says_so_for_a_month_out_of_range(client: TestClient, make_staff: Any) -> None:
    leader = make_staff("leadership")
    client.cookies.set("ss_staff", leader.token)
    r = client.get("/dashboard", params={"from": "9999-12", "to": "9999-12"})
    assert r.status_code == 422 and "between 1900-01 and 2999-12" in r.text


@pytest.mark.parametrize(("path", "params", "field"), [
    ("/api/v1/cases", {"theme": "bul\x00lying"}, "theme"),
    ("/api/v1/cases", {"page": str(10**20)}, "page"),
    ("/api/v1/cases", {"hr_contact": "none\x00"}, "hr_contact"),
    ("/api/v1/check-ins", {"due_before": "-5.8e-36"}, "due_before"),
    ("/api/v1/check-ins", {"due_before": "0001-01-01"}, "due_before"),
    ("/api/v1/audit", {"page": "0"}, "page"),
    ("/api/v1/themes", {"anything": "x\x1b[31m"}, "anything"),
])
def test_query_parameters_are_checked_before_any_query_runs(
    client: TestClient, make_staff: Any, path: str, params: dict[str, str], field: str
) -> None:
    staff = make_staff("admin", "safeguarding")
    _refused(client.get(path, params=params, headers=staff.headers), field)


def test_path_parameters_are_checked_too(client: TestClient, make_staff: Any) -> None:
    admin = make_staff("admin")
    _refused(client.patch("/api/v1/themes/bul%00lying", json={"name": "Bullying"}, headers=admin.headers), "slug")


@pytest.mark.parametrize("received_at", ["0001-01-01T00:30:00+01:00", "9999-12-31T23:30:00-01:00", "1850-06-01T10:00:00Z"])
def test_a_recorded_contact_far_in_time_is_refused(app: Any, client: TestClient, make_staff: Any, received_at: str) -> None:
    staff = make_staff("safeguarding")
    r = client.post("/api/v1/cases", headers=staff.headers,
                    json={"description": TEXT, "channel": "phone", "received_at": received_at})
    _refused(r, "received_at")
    assert _cases(app) == 0


def test_a_sign_in_with_a_control_character_is_a_422_not_a_500(client: TestClient) -> None:
    _refused(client.post("/api/v1/auth/login", json={"email": "a\x00@example.org", "password": "x"}), "email")
