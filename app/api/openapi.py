"""The OpenAPI document declares every answer a route can give, derived when the app is built.

Errors are problem+json; a route declares what its dependencies raise (`app.errors.raises`) and
the bearer scheme they check, plus 422, 500 and 503 everywhere (408 and 413 with a body), so a
route added later needs no declarations of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from pydantic import BaseModel, Field

from app.api.paging import is_paged

PROBLEM_JSON = "application/problem+json"

SECURITY_SCHEMES = {
    "staff": {
        "type": "http", "scheme": "bearer",
        "description": "A staff token (`sst_…`) from `POST /api/v1/auth/login`.",
    },
    "reporter": {
        "type": "http", "scheme": "bearer",
        "description": "A reporter token (`ssr_…`) from `POST /api/v1/reporter/session`. Never accepted where a staff token is expected, nor the other way round.",
    },
}

# What each status means on any route, unless the route says more.
DESCRIPTIONS = {
    400: "Bad request.",
    401: "Missing or invalid credentials (`WWW-Authenticate: Bearer`).",
    403: "Signed in, but this role may not do this.",
    404: "No such resource, or one the caller may not know of.",
    408: "The request took too long to arrive; the connection is closed.",
    409: "The request conflicts with the current state.",
    413: "The request body is too large.",
    422: "Invalid request: `errors` names each field and what is wrong with it.",
    429: "Too many attempts: wait for `Retry-After` seconds.",
    500: "Something went wrong on our side, or stored data failed its integrity check "
         "(type `…/integrity-failure`); nothing was changed.",
    503: "Busy or briefly unavailable: try again after `Retry-After` seconds; nothing was changed.",
}
RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before trying again.", "schema": {"type": "integer"}}}
PAGE_HEADERS = {
    "Link": {"description": "The other pages of the list (RFC 8288): `first`, `prev`, `next`, `last`.",
             "schema": {"type": "string"}},
    "X-Total-Count": {"description": "How many items the whole list holds.", "schema": {"type": "integer"}},
}
HEADERS = {
    401: {"WWW-Authenticate": {"description": "`Bearer`.", "schema": {"type": "string"}}},
    429: RETRY_AFTER,
    503: RETRY_AFTER,
}


class FieldError(BaseModel):
    field: str = Field(description="The field, dotted for nested ones (`reporter.name`), or a parameter's name.")
    message: str


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    type: str = Field(description="A URI naming the kind of problem, or `about:blank`.")
    title: str
    status: int
    detail: str


class ValidationProblem(Problem):
    errors: list[FieldError]


# Each operation's `operationId` is its function's name in camelCase (`submit_report` ->
# `submitReport`), what a generated client names its functions; these names alone would read
# poorly out of their module, so they are given here.
OPERATION_IDS = {
    "me": "getCurrentUser",
    "list_audit": "listAuditEntries",
    "verify_audit": "verifyAuditChain",
    "case_check_ins": "listCaseCheckIns",
    "open_check_ins": "listOpenCheckIns",
    "themes": "getThemeStatistics",
    "themes_csv": "getThemeStatisticsCsv",
    "locations": "getLocationStatistics",
    "summary": "getStatisticsSummary",
    "referral_counts": "getReferralStatistics",
    "equality": "getEqualityStatistics",
    "put_baseline": "setEqualityBaseline",
}


def operation_id(route: APIRoute) -> str:
    """FastAPI's `generate_unique_id_function`: `submitReport`, not `submit_report_api_v1_reports_post`."""
    name = OPERATION_IDS.get(route.name)
    if name is None:
        first, *rest = route.name.split("_")
        name = first + "".join(part[:1].upper() + part[1:] for part in rest)
    return name


def install(app: FastAPI) -> None:
    """Make `app.openapi()` build the document with the declarations above (once, then cached)."""

    def build() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document(app)
        return app.openapi_schema

    app.openapi = build  # type: ignore[method-assign]


def document(app: FastAPI) -> dict[str, Any]:
    doc = get_openapi(
        title=app.title, version=app.version, openapi_version=app.openapi_version, summary=app.summary,
        description=app.description, routes=app.routes, tags=app.openapi_tags, servers=app.servers,
    )
    # Each route as the app serves it (an included router's routes carry its prefix and dependencies).
    routes = [r for r in iter_route_contexts(app.routes) if isinstance(r.original_route, APIRoute) and r.include_in_schema]
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    for model in (FieldError, Problem, ValidationProblem):
        schemas[model.__name__] = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    doc["components"]["securitySchemes"] = SECURITY_SCHEMES
    for route in routes:
        errors, security = _declared(route)
        paged = any(is_paged(call) for call in _calls(route.dependant))
        for method in route.methods or ():
            operation = doc["paths"][route.path_format][method.lower()]
            responses = operation.setdefault("responses", {})
            if paged:
                responses["200"].setdefault("headers", {}).update(PAGE_HEADERS)
            for status in sorted(errors | {int(s) for s in responses if s.isdigit() and int(s) >= 400}):
                responses[str(status)] = _problem_response(status, responses.get(str(status)))
            # Every operation says which token it takes; `[]` marks the public ones (a report, a
            # sign-in, the theme list) so Swagger UI never offers a padlock there.
            operation["security"] = [{name: []} for name in sorted(security)]
    return doc


def _declared(route: RouteContext) -> tuple[set[int], set[str]]:
    """The error statuses a route can answer, and the bearer schemes it authenticates."""
    errors = {422, 500, 503}
    if route.body_field is not None:
        errors |= {408, 413}
    security: set[str] = set()
    for call in _calls(route.dependant):
        errors |= {e.status for e in getattr(call, "__safeshare_raises__", ())}
        scheme = getattr(call, "__safeshare_security__", None)
        if scheme is not None:
            security.add(scheme)
    return errors, security


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    if dependant.call is not None:
        yield getattr(dependant.call, "__wrapped__", dependant.call)
        yield dependant.call
    for sub in dependant.dependencies:
        yield from _calls(sub)


def _problem_response(status: int, declared: dict[str, Any] | None) -> dict[str, Any]:
    description = (declared or {}).get("description")
    if not description or description == "Additional Response" or description == "Validation Error":
        description = DESCRIPTIONS.get(status) or HTTPStatus(status).phrase
    schema = "ValidationProblem" if status == 422 else "Problem"
    response: dict[str, Any] = {
        "description": description,
        "content": {PROBLEM_JSON: {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }
    headers = {**HEADERS.get(status, {}), **(declared or {}).get("headers", {})}
    if headers:
        response["headers"] = headers
    return response

