"""Saved views (contract section 7): any staff user's own named queues, `/api/v1/me/views`."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Response

from app.api.paging import Paged
from app.auth.service import actor
from app.http.cases import case_filter
from app.http.state import Keys
from app.http.transactions import CommitInThreadRoute, DbSession
from app.http.users import CurrentUser
from app.saved_views import service
from app.saved_views.schemas import SavedViewIn, SavedViewRead

router = APIRouter(prefix="/api/v1", tags=["saved views"], route_class=CommitInThreadRoute)
_MISSING: dict[int | str, dict[str, Any]] = {404: {"description": "No such saved view of yours."}}


@router.get("/me/views", response_model=list[SavedViewRead])
def list_views(user: CurrentUser, session: DbSession, keys: Keys, paging: Paged) -> list[SavedViewRead]:
    """Your saved views, by name, with their search words (only you ever see them)."""
    return [SavedViewRead.of(v, q) for v, q in paging.window(service.list_views(session, keys, user_id=user.id))]


@router.post("/me/views", response_model=SavedViewRead, status_code=201,
             responses={409: {"description": "You already use this name, or have 50 saved views."}})
def save_view(body: SavedViewIn, user: CurrentUser, session: DbSession, keys: Keys) -> SavedViewRead:
    """Save the queue's filters and search words under a name (the words are stored sealed, never
    in clear). `default: true` makes it the queue you land on, in place of your earlier default.
    The filters are checked as `GET /api/v1/cases` checks them (422)."""
    f = body.filters
    case_filter(status=f.status, theme=f.theme, hr_contact=f.hr_contact, risk=f.risk, overdue=f.overdue,
                reference=None, open_referral=f.open_referral, owner=f.owner, me=user, q=body.q)
    row = service.create(session, keys, user_id=user.id, name=body.name, filters=f.model_dump(mode="json"),
                         q=body.q or None, default=body.default, by=actor(user))
    return SavedViewRead.of(row, body.q or None)


@router.delete("/me/views/{view_id}", status_code=204, responses=_MISSING)
def delete_view(view_id: uuid.UUID, user: CurrentUser, session: DbSession, keys: Keys) -> Response:
    """Remove one of your saved views (404 for anyone else's)."""
    service.delete(session, keys, user_id=user.id, view_id=view_id, by=actor(user))
    return Response(status_code=204)
