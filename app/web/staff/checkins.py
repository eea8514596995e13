"""`/staff/check-ins`: the due and overdue check-ins this user may see, completed on the page."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from app import clock
from app.auth.models import User
from app.auth.permissions import Capability
from app.cases import service as cases
from app.checkins import service as checkins
from app.db import attempt
from app.errors import AppError
from app.http.cases import VisibleCase
from app.http.state import CurrentSettings, Keys
from app.http.transactions import CommitInThreadRoute, DbSession
from app.http.users import CaseWorker
from app.web.pages import FormErrors
from app.web.reporter.forms import crlf
from app.web.staff.case import complete
from app.web.staff.common import csrf_refused, done, schema_errors, staff_page

router = APIRouter(include_in_schema=False, route_class=CommitInThreadRoute)

SOON = timedelta(days=7)


def _page(
    request: Request, session: DbSession, user: User, *, errors: FormErrors | None = None,
    values: dict[str, Any] | None = None, status_code: int = 200,
) -> HTMLResponse:
    today = clock.today()
    rows = checkins.list_open(session, user)
    case_rows = cases.rows_by_id(session, user=user, case_ids=list({c.case_id for c in rows}))
    errors = errors or FormErrors()
    ctx = {
        "today": today,
        "due": [c for c in rows if c.due_on <= today + SOON],
        "later": [c for c in rows if c.due_on > today + SOON],
        "cases": case_rows,
        "is_safeguarding": user.may(Capability.READ_EVERY_CASE),
        "errors": errors.messages,
        "problems": errors.summary([]),
        "values": values or {},
        "notice": "Check-in recorded. The next one is booked." if request.query_params.get("done") else None,
    }
    return staff_page(request, "staff/checkins.html", ctx, status_code=status_code)


@router.get("/staff/check-ins", response_class=HTMLResponse)
def check_ins(request: Request, user: CaseWorker, session: DbSession) -> Response:
    """My due and overdue check-ins (safeguarding: everyone's), soonest first."""
    return _page(request, session, user)


@router.post("/staff/check-ins/{case_id}/{check_in_id}", response_class=HTMLResponse)
def complete_here(
    request: Request, case: VisibleCase, check_in_id: uuid.UUID, user: CaseWorker, session: DbSession, keys: Keys,
    settings: CurrentSettings, csrf: Annotated[str, Form(alias="csrf_token")] = "",
    summary: Annotated[str, Form()] = "", support_suitable: Annotated[str, Form()] = "",
) -> Response:
    """Complete a check-in from the list, and come back to the list."""
    if (refused := csrf_refused(request, csrf, "/staff/check-ins")) is not None:
        return refused
    text = crlf(summary)
    errors = FormErrors()
    prefix = f"c{check_in_id.hex[:8]}"
    try:
        with attempt(session):
            complete(session, keys, settings, user, case, check_in_id, text, support_suitable)
    except ValidationError as exc:
        schema_errors(exc, errors, prefix=prefix, fallback="summary")
    except AppError as exc:
        errors.add(f"{prefix}-summary", exc.detail)
    if errors:
        values = {str(check_in_id): {"summary": text, "support_suitable": support_suitable}}
        return _page(request, session, user, errors=errors, values=values, status_code=422)
    return done("/staff/check-ins", "check_in", "due")
