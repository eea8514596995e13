"""The audit trail (admin): who did what to which case and when, and whether the chain is intact."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter

from app.api.dependencies import Admin, DbSession
from app.api.paging import Paging, paged
from app.api.transactions import CommitInThreadRoute
from app.audit import service
from app.audit.schemas import AuditPage, AuditVerify
from app.auth.service import actor

router = APIRouter(prefix="/api/v1", tags=["audit"], route_class=CommitInThreadRoute)


@router.get("/audit", response_model=AuditPage)
def list_audit(
    user: Admin,
    session: DbSession,
    paging: Annotated[Paging, paged(50, 500)],
    case_id: uuid.UUID | None = None,
) -> AuditPage:
    """Who did what to which case and when, newest first (admin). Never any content: no theme, no
    person named in or excluded from a case, the reporter's activity to the minute. Reading the
    trail is itself audited (`audit.read`)."""
    items, total = service.page(session, by=actor(user), case_id=case_id, page=paging.page,
                                page_size=paging.page_size)
    paging.announce(total)
    return AuditPage.of(items, total)


@router.get("/audit/verify", response_model=AuditVerify)
def verify_audit(user: Admin, session: DbSession) -> AuditVerify:
    """Check the hash chain end to end (admin): any edited or deleted entry breaks it (audited `audit.verify`)."""
    intact, count, broken = service.verify(session)
    service.record(session, actor(user), "audit.verify")
    return AuditVerify(intact=intact, entries=count, first_broken_id=broken)
