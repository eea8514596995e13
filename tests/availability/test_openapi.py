"""The OpenAPI document declares every answer of every route, validates, and names the bearer schemes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from openapi_spec_validator import validate

from app.http.cases import VisibleCase
from app.http.reporter import CurrentReporterCase
from app.http.transactions import CommitInThreadRoute, DbSession
from app.http.users import CurrentUser, Safeguarding


def test_the_document_validates_against_the_openapi_schema(app: FastAPI) -> None:
    validate(app.openapi())


def test_every_error_of_every_operation_is_a_declared_problem_document(app: FastAPI) -> None:
    doc = app.openapi()
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            for status in ("422", "500", "503"):
                assert status in responses, (method, path, status)
            for status, response in responses.items():
                if int(status) >= 400:
                    assert list(response["content"]) == ["application/problem+json"], (method, path, status)
            assert "Retry-After" in responses["503"]["headers"]
    schemas = doc["components"]["schemas"]
    assert schemas["ValidationProblem"]["properties"]["errors"]["items"] == {"$ref": "#/components/schemas/FieldError"}
    assert "HTTPValidationError" not in schemas


def test_the_bearer_schemes_are_declared_and_each_route_names_its_own(app: FastAPI) -> None:
    doc = app.openapi()
    schemes = doc["components"]["securitySchemes"]
    assert schemes["staff"] == {**schemes["staff"], "type": "http", "scheme": "bearer"}
    assert schemes["reporter"]["scheme"] == "bearer"
    ops = doc["paths"]
    assert ops["/api/v1/cases/{case_id}"]["get"]["security"] == [{"staff": []}]
    assert ops["/api/v1/reporter/case"]["get"]["security"] == [{"reporter": []}]
    assert ops["/api/v1/reports"]["post"]["security"] == []  # public, and says so
    assert {"401", "403", "404"} <= set(ops["/api/v1/cases/{case_id}"]["get"]["responses"])
    assert "401" in ops["/api/v1/reporter/case"]["get"]["responses"]


def test_a_route_added_later_gets_its_answers_from_its_dependencies(settings: Any) -> None:
    """No route declares its 401/403/404 by hand: a new router gets them from what it depends on."""
    from app.main import create_app

    router = APIRouter(prefix="/api/v1", route_class=CommitInThreadRoute)

    @router.get("/later/{case_id}/thing")
    def later(case: VisibleCase, user: CurrentUser, session: DbSession) -> dict[str, str]:
        return {}

    @router.post("/later/mine")
    def mine(case: CurrentReporterCase) -> dict[str, str]:
        return {}

    @router.delete("/later/admin")
    def admin_only(user: Safeguarding) -> None:
        return None

    app = create_app(settings)
    app.include_router(router)
    try:
        ops = app.openapi()["paths"]
        assert {"401", "403", "404", "422", "500", "503"} <= set(ops["/api/v1/later/{case_id}/thing"]["get"]["responses"])
        assert ops["/api/v1/later/{case_id}/thing"]["get"]["security"] == [{"staff": []}]
        assert ops["/api/v1/later/mine"]["post"]["security"] == [{"reporter": []}]
        assert "403" in ops["/api/v1/later/admin"]["delete"]["responses"]
    finally:
        app.state.engine.dispose()


def test_the_docs_page_offers_to_authorize(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
    assert set(client.get("/openapi.json").json()["components"]["securitySchemes"]) == {"staff", "reporter"}
