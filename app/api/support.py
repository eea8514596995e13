"""The support directory: administrators keep it; the case team reads it and signposts reporters."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Response

from app import flows
from app.api.paging import Paged
from app.auth.service import actor
from app.cases.schemas import MessageRead
from app.http.cases import WorkCase
from app.http.state import Keys
from app.http.transactions import CommitInThreadRoute, DbSession
from app.http.users import Admin, CaseWorker, SupportReader
from app.signposting import service
from app.signposting.schemas import SignpostIn, SupportEntryIn, SupportEntryRead, SupportEntryUpdate

router = APIRouter(prefix="/api/v1", tags=["support directory"], route_class=CommitInThreadRoute)
_DUPLICATE: dict[int | str, dict[str, Any]] = {409: {"description": "Another entry has this name."}}
_MISSING: dict[int | str, dict[str, Any]] = {404: {"description": "No such entry."}}


@router.get("/support-directory", response_model=list[SupportEntryRead])
def list_entries(user: SupportReader, session: DbSession, paging: Paged) -> list[SupportEntryRead]:
    """Every organisation in the support directory, by name (safeguarding, HR and admin)."""
    return [SupportEntryRead.of(e) for e in paging.window(service.list_entries(session))]


@router.post("/support-directory", response_model=SupportEntryRead, status_code=201, responses=_DUPLICATE)
def create_entry(body: SupportEntryIn, admin: Admin, session: DbSession) -> SupportEntryRead:
    """Add an organisation (admin). Themes must be active; 409 for a name already in the directory."""
    return SupportEntryRead.of(service.create(session, name=body.name, helps_with=body.helps_with,
                                              contact=body.contact, theme_slugs=body.themes, by=actor(admin)))


@router.patch("/support-directory/{entry_id}", response_model=SupportEntryRead, responses={**_MISSING, **_DUPLICATE})
def update_entry(entry_id: uuid.UUID, body: SupportEntryUpdate, admin: Admin, session: DbSession) -> SupportEntryRead:
    """Change an organisation's entry (admin); only the fields given change."""
    return SupportEntryRead.of(service.update(
        session, entry_id=entry_id, name=body.name, helps_with=body.helps_with, contact=body.contact,
        theme_slugs=body.themes, by=actor(admin)))


@router.delete("/support-directory/{entry_id}", status_code=204, responses=_MISSING)
def delete_entry(entry_id: uuid.UUID, admin: Admin, session: DbSession) -> Response:
    """Remove an organisation (admin). Messages that named it keep their words."""
    service.delete(session, entry_id=entry_id, by=actor(admin))
    return Response(status_code=204)


@router.post("/cases/{case_id}/signposts", response_model=MessageRead, status_code=201,
             responses={409: {"description": "The case has been erased."}})
def signpost(body: SignpostIn, case: WorkCase, user: CaseWorker, session: DbSession, keys: Keys) -> MessageRead:
    """Send the reporter the chosen organisations from the support directory, in one message of the
    thread (safeguarding, or the case's HR contact), with a line of your own above them if you like.
    Recorded on the case (`case.signpost`). 422 if one of them is no longer in the directory."""
    message, text = flows.signpost(session, keys, user=user, case=case, entry_ids=body.entry_ids,
                                   message=body.message)
    return MessageRead.of(message, text, user)
