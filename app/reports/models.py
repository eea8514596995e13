from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, TimestampMixin


class ReporterSession(TimestampMixin, Base):
    """A reporter signed in with their receipt. Only a SHA-256 of the bearer token is kept."""

    __tablename__ = "reporter_sessions"

    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    # Its last use, to the minute: a session idle for SAFESHARE_REPORTER_IDLE_MINUTES has ended.
    last_seen_at: Mapped[datetime | None]
    # Issue 27: the case's data key, opened with the receipt at redemption, sealed under a key derived
    # from this session's token (never stored): the reporter reads and writes their case with it.
    case_key_ct: Mapped[bytes | None] = mapped_column(LargeBinary)


class IdempotencyRecord(TimestampMixin, Base):
    """A submission's Idempotency-Key; its stored response is sealed under a key from the key itself."""

    __tablename__ = "idempotency_keys"

    key_hash: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    request_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    state: Mapped[str] = mapped_column(String(16))  # in_progress | done
    case_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    response_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    expires_at: Mapped[datetime]
