"""What every route's query and path parameters may carry, checked before any route runs.

A control character or lone surrogate is a 422 naming the parameter (PostgreSQL refuses NUL).
"""

from __future__ import annotations

from fastapi import Request

from app.errors import Invalid
from app.schemas import text_problem


async def check_parameters(request: Request) -> None:
    """The app-wide dependency (async: no trip through the thread pool)."""
    errors = []
    for name, value in [*request.path_params.items(), *request.query_params.multi_items()]:
        problem = text_problem(str(value), free_text=False)
        if problem is not None:
            errors.append({"field": name, "message": problem})
    if errors:
        raise Invalid("; ".join(f"{e['field']}: {e['message']}" for e in errors), errors=errors)
