"""The API as a client developer meets it: names, times, pages, 405s, retries and problem types.

The document checks need no database (one app, built once); the answers are checked on both.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.config import load_settings
from app.errors import PROBLEM_TYPES
from app.main import create_app
from tests.conftest import TEST_DEFAULTS

APP_DIR = Path(__file__).resolve().parents[2] / "app"


@pytest.fixture(scope="module")
def doc(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    where = tmp_path_factory.mktemp("doc")
    application = create_app(load_settings(database_url=f"sqlite:///{where}/unused.db", key_file=where / "keys.json",
                                           **TEST_DEFAULTS))
    built: dict[str, Any] = application.openapi()
    application.state.engine.dispose()
    return built


def _operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            yield method, path, operation


def test_operation_ids_are_names_a_generated_client_can_use(doc: dict[str, Any]) -> None:
    ids = [op["operationId"] for _, _, op in _operations(doc)]
    assert len(ids) == len(set(ids))
    for operation_id in ids:
        assert re.fullmatch(r"[a-z]+(?:[A-Z][a-z0-9]*)*", operation_id), operation_id
        assert "api" not in operation_id.lower().replace("rapid", "")
    by_route = {(m, p): op["operationId"] for m, p, op in _operations(doc)}
    assert by_route[("post", "/api/v1/reports")] == "submitReport"
    assert by_route[("get", "/api/v1/reporter/case")] == "readReporterCase"
    assert by_route[("get", "/api/v1/stats/themes")] == "getThemeStatistics"


def _properties(node: Any, name: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "properties" and isinstance(value, dict):
                for prop, schema in value.items():
                    yield prop, schema
                    yield from _properties(schema, prop)
            else:
                yield from _properties(value, name)
    elif isinstance(node, list):
        for item in node:
            yield from _properties(item, name)


def _formats(schema: dict[str, Any]) -> set[str]:
    found = {schema["format"]} if "format" in schema else set()
    for alternative in schema.get("anyOf", []) + schema.get("oneOf", []):
        found |= _formats(alternative)
    return found


def test_every_timestamp_says_it_is_a_date_time(doc: dict[str, Any]) -> None:
    timestamps = [(n, s) for n, s in _properties(doc["components"]["schemas"]) if n == "at" or n.endswith("_at")]
    assert len(timestamps) > 30
    missing = sorted({n for n, s in timestamps if "date-time" not in _formats(s)} - {"as_at"})
    assert missing == []
    # `as_at` is the contract's name (section 7) for the day statistics are as at: a date
    assert all("date" in _formats(s) for n, s in timestamps if n == "as_at")
    days = [(n, s) for n, s in _properties(doc["components"]["schemas"]) if n.endswith("_on")]
    assert days and all("date" in _formats(s) for _, s in days)


def _is_list(operation: dict[str, Any]) -> bool:
    schema = operation["responses"].get("200", {}).get("content", {}).get("application/json", {}).get("schema", {})
    props = schema.get("properties", {})
    return schema.get("type") == "array" or ({"items", "total"} <= set(props)) or "Page" in schema.get("$ref", "")


def test_every_list_pages_the_same_way(doc: dict[str, Any]) -> None:
    lists = [(m, p, op) for m, p, op in _operations(doc) if m == "get" and _is_list(op)]
    assert {"/api/v1/users", "/api/v1/cases", "/api/v1/audit", "/api/v1/check-ins",
            "/api/v1/cases/{case_id}/notes", "/api/v1/cases/{case_id}/messages"} <= {p for _, p, _ in lists}
    for _, path, operation in lists:
        params = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
        assert {"page", "page_size"} <= params, path
        assert {"Link", "X-Total-Count"} <= set(operation["responses"]["200"].get("headers", {})), path


def test_operators_routes_are_not_in_the_document(doc: dict[str, Any]) -> None:
    assert not any(p.startswith(("/readyz", "/problems")) for p in doc["paths"])


def test_a_retryable_conflict_declares_retry_after(doc: dict[str, Any]) -> None:
    assert "Retry-After" in doc["paths"]["/api/v1/reports"]["post"]["responses"]["409"]["headers"]


def test_a_page_of_a_list_links_to_the_others(client: TestClient, make_staff: Any) -> None:
    themes = client.get("/api/v1/themes").json()
    assert len(themes) == 14  # the contract's default themes: one page by default
    r = client.get("/api/v1/themes", params={"page": 2, "page_size": 5})
    assert r.status_code == 200
    assert [t["slug"] for t in r.json()] == [t["slug"] for t in themes[5:10]]
    assert r.headers["x-total-count"] == "14"
    links = dict((rel, url) for url, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', r.headers["link"]))
    assert set(links) == {"first", "prev", "next", "last"}
    assert links["next"].endswith("/api/v1/themes?page=3&page_size=5") and "page=3" in links["last"]
    assert client.get(links["last"]).json() == themes[10:]
    assert client.get("/api/v1/themes", params={"page": 9, "page_size": 5}).json() == []

    staff = make_staff("safeguarding")
    for _ in range(3):
        client.post("/api/v1/reports", json={"description": "My manager shouts at me."})
    r = client.get("/api/v1/cases", params={"page_size": 2}, headers=staff.headers)
    assert r.json()["total"] == 3 and len(r.json()["items"]) == 2
    assert r.headers["x-total-count"] == "3" and 'rel="next"' in r.headers["link"]


def test_a_method_a_path_does_not_take_names_every_one_it_does(client: TestClient) -> None:
    r = client.delete("/api/v1/cases")
    assert r.status_code == 405
    assert r.headers["allow"] == "GET, POST"
    assert r.json()["type"] == "/problems/method-not-allowed"
    assert client.put("/api/v1/cases/00000000-0000-0000-0000-000000000000").headers["allow"] == "GET, PATCH"


def test_a_problem_type_is_a_page_of_the_service_explaining_it(client: TestClient) -> None:
    problem = client.get("/api/v1/cases").json()
    assert problem["type"] == "/problems/unauthorized"
    page = client.get(problem["type"], headers={"Accept": "text/html"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "Not signed in" in page.text and "Authorization: Bearer" in page.text
    index = client.get("/problems")
    assert all(f'href="/problems/{name}"' in index.text for name in PROBLEM_TYPES)
    assert client.get("/problems/no-such-thing", headers={"Accept": "text/html"}).status_code == 404


def test_every_problem_slug_in_the_code_has_its_page() -> None:
    """A new error with a slug and no page would send clients to a 404."""
    source = "\n".join(p.read_text() for p in APP_DIR.rglob("*.py"))
    slugs = set(re.findall(r'slug\s*=\s*"([a-z0-9-]+)"', source))
    slugs |= set(re.findall(r'status, title, slug = \d+, "[^"]*", "([a-z0-9-]+)"', source))
    slugs |= set(re.findall(r'title, slug = "[^"]*", "([a-z0-9-]+)"', source))
    slugs |= set(re.findall(r'_problem\(\d+, "[^"]*", \w+, "([a-z0-9-]+)"\)', source))
    assert {"unauthorized", "still-processing", "totp-required", "request-timeout", "content-too-large"} <= slugs
    assert slugs - set(PROBLEM_TYPES) == set()


def test_readyz_answers_when_the_database_does(client: TestClient) -> None:
    r = client.get("/readyz")
    assert r.status_code == 200 and r.json() == {"status": "ready"}


def test_readyz_is_503_when_the_database_does_not_answer(tmp_path: Path) -> None:
    # A PostgreSQL nobody listens for, and a SQLite file that was never migrated: neither is ready.
    for url in ("postgresql+psycopg://safeshare@127.0.0.1:9/safeshare", f"sqlite:///{tmp_path}/empty.db"):
        application = create_app(load_settings(database_url=url, key_file=tmp_path / "keys.json", **TEST_DEFAULTS))
        try:
            with TestClient(application, raise_server_exceptions=False) as c:
                r = c.get("/readyz")
            assert r.status_code == 503, url
            assert r.headers["retry-after"] == "5" and r.json()["type"] == "/problems/unavailable"
        finally:
            application.state.engine.dispose()
