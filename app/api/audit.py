"""The audit trail (admin): who did what to which case and when, and whether the chain is intact."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter

from app.api.paging import Paging, paged
from app.audit import service
from app.audit.models import AuditEvent
from app.audit.schemas import AuditItem, AuditPage, AuditVerify
from app.auth.permissions import Capability, may
from app.auth.service import actor, roles_of
from app.enums import Role
from app.http.transactions import CommitInThreadRoute, DbSession
from app.http.users import Admin

router = APIRouter(prefix="/api/v1", tags=["audit"], route_class=CommitInThreadRoute)


@router.get("/audit", response_model=AuditPage)
def list_audit(
    user: Admin,
    session: DbSession,
    paging: Annotated[Paging, paged(50, 500)],
    case_id: uuid.UUID | None = None,
) -> AuditPage:
    """Who did what to which case and when, newest first (admin). Never any content: no theme, no
    person named in or excluded from a case, no referral kind and no closure outcome, the
    reporter's activity to the minute. On a case's entries the `actor` is the role that acted
    ("the safeguarding team", "an HR contact", "the reporter"), not a name: an administrator sees
    that something happened, not who worked on whose concern. Reading the trail is itself
    audited (`audit.read`)."""
    items, total = service.page(session, by=actor(user), case_id=case_id, page=paging.page,
                                page_size=paging.page_size)
    paging.announce(total)
    roles = roles_of(session, {e.actor_id for e in items if e.case_id is not None and e.actor_id is not None})
    return AuditPage(items=[_for_admin(e, roles) for e in items], total=total)


# Case entries whose target would say what happened in the case (a referral's kind, the outcome).
WITHHELD_TARGETS = {"referral.create", "case.close"}


def _for_admin(event: AuditEvent, roles: dict[uuid.UUID, list[Role]]) -> AuditItem:
    item = AuditItem.of(event)
    if event.case_id is None or event.action.startswith("audit."):
        return item  # not case work (an administrator's own reading of the trail keeps its name)
    target = None if event.action in WITHHELD_TARGETS else item.target
    return item.model_copy(update={"actor": _role_phrase(event, roles), "target": target})


def _role_phrase(event: AuditEvent, roles: dict[uuid.UUID, list[Role]]) -> str:
    if event.actor_id is None:
        return event.actor  # the reporter, or a command ("system:remind")
    held = roles.get(event.actor_id, [])
    if may(held, Capability.READ_EVERY_CASE):
        return "the safeguarding team"
    if may(held, Capability.READ_ASSIGNED_CASES):
        return "an HR contact"
    return "a staff member"


@router.get("/audit/verify", response_model=AuditVerify)
def verify_audit(user: Admin, session: DbSession) -> AuditVerify:
    """Check the hash chain end to end (admin): any edited or deleted entry breaks it (audited `audit.verify`)."""
    intact, count, broken = service.verify(session)
    service.record(session, actor(user), "audit.verify")
    return AuditVerify(intact=intact, entries=count, first_broken_id=broken)
