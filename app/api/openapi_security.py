"""The API's two bearer schemes in the OpenAPI document, and which operations need which.

Routes authenticate through `app.api.dependencies` (`current_user`, `current_reporter_case`)
rather than FastAPI's security classes, so the schemes are declared here, read from the
dependencies each route really uses: the docs' Authorize button works, and the document cannot
drift from the code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from fastapi import APIRouter
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from app.api.dependencies import current_reporter_case, current_user

SCHEMES: dict[str, dict[str, Any]] = {
    "staffToken": {
        "type": "http", "scheme": "bearer",
        "description": "A staff token (`sst_…`) from `POST /api/v1/auth/login`.",
    },
    "reporterToken": {
        "type": "http", "scheme": "bearer",
        "description": "A reporter token (`ssr_…`) from `POST /api/v1/reporter/session`; it works only on `/api/v1/reporter/*`.",
    },
}
_NEEDS: dict[Callable[..., Any], str] = {current_user: "staffToken", current_reporter_case: "reporterToken"}


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for dep in dependant.dependencies:
        if dep.call is not None:
            yield dep.call
        yield from _calls(dep)


def declare(schema: dict[str, Any], routers: list[APIRouter]) -> dict[str, Any]:
    """Add the schemes to `schema` and mark each operation of `routers` (the API's, included
    without a further prefix) with the one it needs, or none."""
    schema.setdefault("components", {})["securitySchemes"] = SCHEMES
    for route in (r for router in routers for r in router.routes):
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        needed = sorted({_NEEDS[c] for c in _calls(route.dependant) if c in _NEEDS})
        for method in route.methods or ():
            operation = schema["paths"].get(route.path_format, {}).get(method.lower())
            if operation is not None:
                operation["security"] = [{name: []} for name in needed]
    return schema
