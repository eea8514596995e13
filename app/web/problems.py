"""`/problems/{name}`: what each problem `type` of the API means (text: `app.errors.PROBLEM_TYPES`)."""

from __future__ import annotations

import re

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup, escape

from app.errors import PROBLEM_TYPES, NotFound
from app.web.pages import render

router = APIRouter(include_in_schema=False)


@router.get("/problems", response_class=HTMLResponse)
def problem_index(request: Request) -> HTMLResponse:
    """Every problem type, by status."""
    ordered = sorted(PROBLEM_TYPES.items(), key=lambda item: (item[1].status, item[0]))
    return render(request, "problems.html", {"problems": ordered})


@router.get("/problems/{name}", response_class=HTMLResponse)
def problem_page(name: str, request: Request) -> HTMLResponse:
    """One problem type: its status, what it means, what to do."""
    problem = PROBLEM_TYPES.get(name)
    if problem is None:
        raise NotFound("There is no problem type of this name.")
    return render(request, "problem.html", {"name": name, "problem": problem, "meaning": _code(problem.meaning),
                                            "what_to_do": _code(problem.what_to_do)})


def _code(text: str) -> Markup:
    """`name` in the explanations as <code>name</code>, everything else escaped."""
    return Markup(re.sub(r"`([^`]+)`", r"<code>\1</code>", str(escape(text))))
