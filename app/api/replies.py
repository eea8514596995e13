"""Reply templates (contract section 7): the case team reads them, the safeguarding team keeps them."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Response

from app.api.paging import Paged
from app.auth.service import actor
from app.http.transactions import CommitInThreadRoute, DbSession
from app.http.users import CaseWorker, Safeguarding
from app.replies import service
from app.replies.schemas import ReplyTemplateIn, ReplyTemplateRead, ReplyTemplateUpdate

router = APIRouter(prefix="/api/v1", tags=["reply templates"], route_class=CommitInThreadRoute)
_DUPLICATE: dict[int | str, dict[str, Any]] = {409: {"description": "Another reply template has this name."}}


@router.get("/reply-templates", response_model=list[ReplyTemplateRead])
def list_templates(user: CaseWorker, session: DbSession, paging: Paged) -> list[ReplyTemplateRead]:
    """Every reply template, by name (safeguarding and HR), with its placeholders unfilled: the
    console fills `{reference}` and `{first_check_in}` for the case a message is written on."""
    return [ReplyTemplateRead.of(t) for t in paging.window(service.list_templates(session))]


@router.post("/reply-templates", response_model=ReplyTemplateRead, status_code=201, responses=_DUPLICATE)
def create_template(body: ReplyTemplateIn, user: Safeguarding, session: DbSession) -> ReplyTemplateRead:
    """Add a reply template (safeguarding). 422 for a placeholder we do not fill; 409 for a name in use."""
    return ReplyTemplateRead.of(service.create(session, name=body.name, body=body.body, by=actor(user)))


@router.patch("/reply-templates/{template_id}", response_model=ReplyTemplateRead,
              responses={404: {"description": "No such reply template."}, **_DUPLICATE})
def update_template(
    template_id: uuid.UUID, body: ReplyTemplateUpdate, user: Safeguarding, session: DbSession
) -> ReplyTemplateRead:
    """Rename or rewrite a reply template (safeguarding); only the fields given change."""
    return ReplyTemplateRead.of(
        service.update(session, template_id=template_id, name=body.name, body=body.body, by=actor(user))
    )


@router.delete("/reply-templates/{template_id}", status_code=204,
               responses={404: {"description": "No such reply template."}})
def delete_template(template_id: uuid.UUID, user: Safeguarding, session: DbSession) -> Response:
    """Remove a reply template (safeguarding). Messages written from it keep their text."""
    service.delete(session, template_id=template_id, by=actor(user))
    return Response(status_code=204)
