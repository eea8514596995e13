"""What every route's query and path parameters may carry, checked before the route runs.

Request bodies are checked by their models (`app.schemas.StrictModel`); parameters arrive as
text, so one check here covers every route, those added later included: a control character or
a lone surrogate in any query or path parameter is a 422 naming the parameter, before anything
reaches the database (PostgreSQL refuses NUL in text; nothing a person types holds the rest).
Ranges of numbers, dates and months come from the parameter's own type (`app.schemas`: `Page`,
`Day`, `Month`).
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
