from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base


class AuditEvent(Base):
    """Who did what to which case, and when; never content. Each row chains the previous one's hash."""

    __tablename__ = "audit_events"
    # The safeguarding team's list of refused attempts (`case.refused`) reads by action and time.
    __table_args__ = (Index("ix_audit_events_action_at", "action", "at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    at: Mapped[datetime]
    actor_id: Mapped[uuid.UUID | None]
    actor: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(64))
    case_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    target: Mapped[str | None] = mapped_column(String(64))
    prev_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)


class AuditHead(Base):
    """The newest entry's hash: one row, advanced by every append (a trigger refuses anything else).

    Appenders take turns on its lock, so the chain never forks; `verify` detects entries cut from the end.
    """

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    prev_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    # Entries with ids up to this one were chained with plain SHA-256 before migration 0009 (0: none);
    # `anchor_mac` seals that boundary with the audit key (see app.audit.service.anchor_mac).
    legacy_until: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), server_default="0")
    anchor_mac: Mapped[bytes | None] = mapped_column(LargeBinary(32))
