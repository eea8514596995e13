"""The support directory (`/staff/support-directory`, admin): organisations to signpost reporters to."""

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
from app.http.users import Admin
from app.signposting import service as directory
from app.signposting.schemas import SupportEntryIn
from app.themes import service as themes
from app.web.pages import FormErrors
from app.web.staff.common import csrf_refused, done, schema_errors, staff_page

router = APIRouter(include_in_schema=False, route_class=CommitInThreadRoute)

CSRF = Annotated[str, Form(alias="csrf_token")]
PAGE = "/staff/support-directory"
NOTICES = {
    "created": "Organisation added. The case team can now send it to reporters.",
    "updated": "Organisation saved.",
    "deleted": "Organisation removed from the directory.",
}
FIELDS = ("name", "helps_with", "contact", "themes")


def _page(request: Request, session: DbSession, *, errors: FormErrors | None = None,
          values: dict[str, Any] | None = None, status_code: int = 200) -> HTMLResponse:
    errors = errors or FormErrors()
    rows = directory.list_entries(session)
    ctx = {
        "entries": rows,
        "themes": themes.list_themes(session),
        "errors": errors.messages,
        "problems": errors.summary([f"new-{f}" for f in FIELDS]),
        "values": values or {},
        "notice": NOTICES.get(request.query_params.get("done", "")),
    }
    return staff_page(request, "staff/support_directory.html", ctx, status_code=status_code)


def _save(request: Request, session: DbSession, admin: Any, prefix: str, form: dict[str, Any], act: Any,
          key: str, notice: str, anchor: str = "") -> Response:
    errors = FormErrors()
    status = 422
    try:
        body = SupportEntryIn.model_validate(form)
        with attempt(session):
            act(body)
    except ValidationError as exc:
        schema_errors(exc, errors, prefix=prefix, fallback="name")
    except AppError as exc:
        field = (exc.errors or [{}])[0].get("field") or "name"
        errors.add(f"{prefix}-{field}", exc.detail)
        status = exc.status
    if errors:
        return _page(request, session, errors=errors, values={key: form}, status_code=status)
    return done(PAGE, notice, anchor)


@router.get(PAGE, response_class=HTMLResponse)
def directory_page(request: Request, admin: Admin, session: DbSession) -> Response:
    """The support directory: add, change or remove an organisation."""
    return _page(request, session)


@router.post(PAGE, response_class=HTMLResponse)
def create_entry(
    request: Request, admin: Admin, session: DbSession, csrf: CSRF = "", name: Annotated[str, Form()] = "",
    helps_with: Annotated[str, Form()] = "", contact: Annotated[str, Form()] = "",
    theme: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI copies defaults
) -> Response:
    """Add an organisation: `POST /api/v1/support-directory`."""
    if (refused := csrf_refused(request, csrf, PAGE)) is not None:
        return refused
    form = {"name": name, "helps_with": helps_with, "contact": contact, "themes": theme}

    def act(body: SupportEntryIn) -> None:
        directory.create(session, name=body.name, helps_with=body.helps_with, contact=body.contact,
                         theme_slugs=body.themes, by=auth.actor(admin))

    return _save(request, session, admin, "new", form, act, "new", "created")


@router.post(PAGE + "/{entry_id}", response_class=HTMLResponse)
def update_entry(
    request: Request, entry_id: uuid.UUID, admin: Admin, session: DbSession, csrf: CSRF = "",
    name: Annotated[str, Form()] = "", helps_with: Annotated[str, Form()] = "", contact: Annotated[str, Form()] = "",
    theme: Annotated[list[str], Form()] = [],  # noqa: B006
) -> Response:
    """Change an organisation: `PATCH /api/v1/support-directory/{id}`."""
    if (refused := csrf_refused(request, csrf, PAGE)) is not None:
        return refused
    directory.get(session, entry_id)  # 404 for one removed meanwhile
    form = {"name": name, "helps_with": helps_with, "contact": contact, "themes": theme}

    def act(body: SupportEntryIn) -> None:
        directory.update(session, entry_id=entry_id, name=body.name, helps_with=body.helps_with,
                         contact=body.contact, theme_slugs=body.themes, by=auth.actor(admin))

    return _save(request, session, admin, f"e-{entry_id}", form, act, str(entry_id), "updated", f"entry-{entry_id}")


@router.post(PAGE + "/{entry_id}/delete", response_class=HTMLResponse)
def delete_entry(request: Request, entry_id: uuid.UUID, admin: Admin, session: DbSession, csrf: CSRF = "") -> Response:
    """Remove an organisation: `DELETE /api/v1/support-directory/{id}`."""
    if (refused := csrf_refused(request, csrf, PAGE)) is not None:
        return refused
    directory.delete(session, entry_id=entry_id, by=auth.actor(admin))
    return done(PAGE, "deleted")
