from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, IdMixin, TimestampMixin


class Notification(IdMixin, TimestampMixin, Base):
    """One e-mail to one staff user, waiting in the outbox until `safeshare deliver` sends it.

    A case notification holds a kind and the case, never text: nothing of a case can reach the outbox.
    """

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_due", "sent_at", "next_attempt_at"),)

    kind: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    case_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    urgent: Mapped[bool] = mapped_column(default=False)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    # A host that took the row to send it; another host may take it back once this has passed.
    claimed_until: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    # Set instead of sent_at when the message no longer applies (recipient deactivated or excluded).
    dropped_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(64))
    subject: Mapped[str | None] = mapped_column(String(300))
    body: Mapped[str | None] = mapped_column(Text)
