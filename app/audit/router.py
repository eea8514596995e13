from __future__ import annotations

import uuid

from fastapi import APIRouter, Query
from pydantic import BaseModel

from app import clock
from app.audit import service
from app.db import CommitInThreadRoute
from app.dependencies import Admin, DbSession

router = APIRouter(prefix="/api/v1", tags=["audit"], route_class=CommitInThreadRoute)


class AuditItem(BaseModel):
    at: str
    actor: str
    action: str
    case_id: uuid.UUID | None
    target: str | None


class AuditPage(BaseModel):
    items: list[AuditItem]
    total: int


class AuditVerify(BaseModel):
    intact: bool
    entries: int
    first_broken_id: int | None


@router.get("/audit", response_model=AuditPage)
def list_audit(
    _: Admin,
    session: DbSession,
    case_id: uuid.UUID | None = None,
    page: int = Query(default=1, ge=1),
    page_size: int = Query(default=50, ge=1, le=500),
) -> AuditPage:
    """Who did what to which case and when, newest first (admin). Never any content."""
    items, total = service.page(session, case_id=case_id, page=page, page_size=page_size)
    return AuditPage(
        items=[
            AuditItem(at=clock.rfc3339(e.at) or "", actor=e.actor, action=e.action, case_id=e.case_id, target=e.target)
            for e in items
        ],
        total=total,
    )


@router.get("/audit/verify", response_model=AuditVerify)
def verify_audit(_: Admin, session: DbSession) -> AuditVerify:
    """Check the hash chain end to end (admin): any edited or deleted entry breaks it."""
    intact, count, broken = service.verify(session)
    return AuditVerify(intact=intact, entries=count, first_broken_id=broken)
