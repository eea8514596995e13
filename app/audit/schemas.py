"""Shapes of the audit trail's API: who did what to which case and when, never content."""

from __future__ import annotations

import uuid

from pydantic import BaseModel

from app.audit.models import AuditEvent
from app.schemas import Timestamp


class AuditItem(BaseModel):
    at: Timestamp
    actor: str
    action: str
    case_id: uuid.UUID | None
    target: str | None

    @classmethod
    def of(cls, event: AuditEvent) -> AuditItem:
        return cls(at=event.at, actor=event.actor, action=event.action, case_id=event.case_id, target=event.target)


class AuditPage(BaseModel):
    items: list[AuditItem]
    total: int

    @classmethod
    def of(cls, events: list[AuditEvent], total: int) -> AuditPage:
        return cls(items=[AuditItem.of(e) for e in events], total=total)


class AuditVerify(BaseModel):
    intact: bool
    entries: int
    first_broken_id: int | None
