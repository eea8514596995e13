"""Reply templates (`/staff/reply-templates`, safeguarding): add, rewrite or remove the messages
the team starts from. The same rules as `POST|PATCH|DELETE /api/v1/reply-templates`; the case
page fills a chosen one into its message box (`?template=`), with no JavaScript."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from app.auth import service as auth
from app.db import attempt
from app.errors import AppError
from app.http.transactions import CommitInThreadRoute, DbSession
from app.http.users import Safeguarding
from app.replies import service as replies
from app.replies.schemas import PLACEHOLDERS, ReplyTemplateIn, unknown_placeholders
from app.web.pages import FormErrors
from app.web.reporter.forms import crlf
from app.web.staff.common import csrf_refused, done, schema_errors, staff_page

router = APIRouter(include_in_schema=False, route_class=CommitInThreadRoute)

CSRF = Annotated[str, Form(alias="csrf_token")]
PAGE = "/staff/reply-templates"
NOTICES = {
    "created": "Reply template added. Anyone working on a case can now start a message from it.",
    "updated": "Reply template saved.",
    "deleted": "Reply template removed. Messages already written from it keep their words.",
}


def _page(request: Request, session: DbSession, *, errors: FormErrors | None = None,
          values: dict[str, Any] | None = None, status_code: int = 200) -> HTMLResponse:
    errors = errors or FormErrors()
    rows = replies.list_templates(session)
    order = ["new-name", "new-body"] + [f"t-{r.id}-{f}" for r in rows for f in ("name", "body")]
    ctx = {
        "templates": rows,
        "placeholders": PLACEHOLDERS,
        "errors": errors.messages,
        "problems": errors.summary(order),
        "values": values or {},
        "notice": NOTICES.get(request.query_params.get("done", "")),
    }
    return staff_page(request, "staff/reply_templates.html", ctx, status_code=status_code)


def _check(prefix: str, name: str, body: str, errors: FormErrors) -> ReplyTemplateIn | None:
    """The form through the API's schema, with its complaints said for a person."""
    unknown = unknown_placeholders(body)
    if unknown:
        known = " and ".join("{" + p + "}" for p in PLACEHOLDERS)
        errors.add(f"{prefix}-body", f"{{{unknown[0]}}} is not a placeholder we can fill. Use {known}, "
                                     "or take the curly brackets away.")
    try:
        checked = ReplyTemplateIn.model_validate({"name": name, "body": body})
    except ValidationError as exc:
        schema_errors(exc, errors, prefix=prefix, fallback="body")
        return None
    return None if errors else checked


@router.get(PAGE, response_class=HTMLResponse)
def template_list(request: Request, user: Safeguarding, session: DbSession) -> Response:
    """The reply templates: add, rewrite or remove one."""
    return _page(request, session)


@router.post(PAGE, response_class=HTMLResponse)
def create_template(
    request: Request, user: Safeguarding, session: DbSession, csrf: CSRF = "",
    name: Annotated[str, Form()] = "", body: Annotated[str, Form()] = "",
) -> Response:
    """Add a reply template: `POST /api/v1/reply-templates`."""
    if (refused := csrf_refused(request, csrf, PAGE)) is not None:
        return refused
    text = crlf(body)
    errors = FormErrors()
    checked = _check("new", name, text, errors)
    if checked is not None:
        try:
            with attempt(session):
                replies.create(session, name=checked.name, body=checked.body, by=auth.actor(user))
        except AppError as exc:
            errors.add("new-name", exc.detail)
    if errors:
        return _page(request, session, errors=errors, values={"new": {"name": name, "body": text}},
                     status_code=409 if checked is not None else 422)
    return done(PAGE, "created")


@router.post(PAGE + "/{template_id}", response_class=HTMLResponse)
def update_template(
    request: Request, template_id: uuid.UUID, user: Safeguarding, session: DbSession, csrf: CSRF = "",
    name: Annotated[str, Form()] = "", body: Annotated[str, Form()] = "",
) -> Response:
    """Rename or rewrite a reply template: `PATCH /api/v1/reply-templates/{id}`."""
    if (refused := csrf_refused(request, csrf, PAGE)) is not None:
        return refused
    replies.get(session, template_id)  # 404 for one removed meanwhile
    text = crlf(body)
    prefix = f"t-{template_id}"
    errors = FormErrors()
    checked = _check(prefix, name, text, errors)
    if checked is not None:
        try:
            with attempt(session):
                replies.update(session, template_id=template_id, name=checked.name, body=checked.body,
                               by=auth.actor(user))
        except AppError as exc:
            errors.add(f"{prefix}-name", exc.detail)
    if errors:
        return _page(request, session, errors=errors, values={str(template_id): {"name": name, "body": text}},
                     status_code=409 if checked is not None else 422)
    return done(PAGE, "updated", f"template-{template_id}")


@router.post(PAGE + "/{template_id}/delete", response_class=HTMLResponse)
def delete_template(
    request: Request, template_id: uuid.UUID, user: Safeguarding, session: DbSession, csrf: CSRF = "",
) -> Response:
    """Remove a reply template: `DELETE /api/v1/reply-templates/{id}`."""
    if (refused := csrf_refused(request, csrf, PAGE)) is not None:
        return refused
    replies.delete(session, template_id=template_id, by=auth.actor(user))
    return done(PAGE, "deleted")
