"""Every error is an RFC 9457 problem document, including the framework's own; every response has the security headers."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.auth.models import User

USER = {"email": "x@example.org", "name": "X", "roles": ["hr"], "password": "a long enough password"}


def _is_problem(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert {"type", "title", "status", "detail"} <= body.keys()
    assert body["status"] == status and body["detail"]
    text = r.text.lower()
    assert "traceback" not in text and "select " not in text and 'file "' not in text
    return body


def _counts(db: Any) -> tuple[int, int]:
    counts = (db.scalar(select(func.count()).select_from(User)), db.scalar(select(func.count()).select_from(AuditEvent)))
    db.rollback()
    return counts


def test_unknown_path_is_404(client: TestClient) -> None:
    _is_problem(client.get("/api/v1/no-such-thing"), 404)


def test_wrong_method_is_405(client: TestClient) -> None:
    body = _is_problem(client.delete("/api/v1/themes"), 405)
    assert body["title"] == "Method Not Allowed"


def test_malformed_json_is_422_and_nothing_written(client: TestClient, make_staff: Any, db: Any) -> None:
    admin = make_staff("admin")
    before = _counts(db)
    r = client.post("/api/v1/users", content=b'{"email": "x@example.org",', headers={
        **admin.headers, "Content-Type": "application/json"})
    body = _is_problem(r, 422)
    assert body["errors"] and all(set(e) == {"field", "message"} for e in body["errors"])
    assert _counts(db) == before


def test_json_that_is_not_an_object_is_422(client: TestClient) -> None:
    body = _is_problem(client.post("/api/v1/auth/login", json=["a", "b"]), 422)
    assert body["errors"]


def test_wrong_types_are_422(client: TestClient, make_staff: Any, db: Any) -> None:
    admin = make_staff("admin")
    before = _counts(db)
    r = client.post("/api/v1/users", json={**USER, "roles": "hr", "name": 42}, headers=admin.headers)
    body = _is_problem(r, 422)
    assert {"roles", "name"} <= {e["field"] for e in body["errors"]}
    assert _counts(db) == before


def test_unknown_fields_are_422(client: TestClient) -> None:
    r = client.post("/api/v1/auth/login", json={"email": "a@example.org", "password": "x", "remember": True})
    body = _is_problem(r, 422)
    assert body["errors"] == [{"field": "remember", "message": "Unknown field."}]


def test_bad_path_parameter_is_422(client: TestClient, make_staff: Any) -> None:
    admin = make_staff("admin")
    _is_problem(client.patch("/api/v1/users/not-a-uuid", json={"active": False}, headers=admin.headers), 422)


def test_bad_query_parameter_is_422(client: TestClient, make_staff: Any) -> None:
    admin = make_staff("admin")
    body = _is_problem(client.get("/api/v1/audit?page=0", headers=admin.headers), 422)
    assert body["errors"][0]["field"] == "page"


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "streamed"])
def test_body_over_the_limit_is_413_and_nothing_written(
    client: TestClient, make_staff: Any, db: Any, settings: Any, chunked: bool
) -> None:
    admin = make_staff("admin")
    before = _counts(db)
    big = b'{"email": "big@example.org", "name": "Big", "roles": ["hr"], "password": "' + b"p" * settings.max_body_bytes + b'"}'
    assert settings.max_body_bytes == 64 * 1024
    content: Any = iter([big[i:i + 4096] for i in range(0, len(big), 4096)]) if chunked else big
    r = client.post("/api/v1/users", content=content, headers={**admin.headers, "Content-Type": "application/json"})
    _is_problem(r, 413)
    assert r.headers["content-security-policy"]
    assert _counts(db) == before


def test_body_over_the_limit_on_an_unknown_path_is_still_a_problem(client: TestClient, settings: Any) -> None:
    r = client.post("/api/v1/nowhere", content=b"x" * (settings.max_body_bytes + 1),
                    headers={"Content-Type": "application/json"})
    assert r.status_code in (404, 413)
    _is_problem(r, r.status_code)


def test_body_just_under_the_limit_is_accepted(client: TestClient, make_staff: Any, settings: Any) -> None:
    admin = make_staff("admin")
    name = "n" * 200
    body = {**USER, "name": name, "password": ("correct horse battery staple " * 40)[:1000]}
    r = client.post("/api/v1/users", json=body, headers=admin.headers)
    assert r.status_code == 201


def test_unexpected_exception_is_a_500_problem_without_details(app: Any, client: TestClient) -> None:
    @app.get("/test-only/explode")
    def explode() -> None:
        raise ValueError("secret case text SELECT * FROM cases")

    body = _is_problem(client.get("/test-only/explode"), 500)
    assert "secret" not in str(body) and "ValueError" not in str(body)


@pytest.mark.parametrize("path", ["/api/v1/themes", "/api/v1/no-such-thing", "/", "/openapi.json"])
def test_security_headers_on_responses(client: TestClient, path: str) -> None:
    r = client.get(path)
    csp = r.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp
    assert r.headers["referrer-policy"] == "no-referrer"
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["x-content-type-options"] == "nosniff"


def test_security_headers_on_a_500(app: Any, client: TestClient) -> None:
    @app.get("/test-only/explode-too")
    def explode() -> None:
        raise RuntimeError("boom")

    r = client.get("/test-only/explode-too")
    assert r.status_code == 500
    assert r.headers["cache-control"] == "no-store" and "frame-ancestors 'none'" in r.headers["content-security-policy"]
