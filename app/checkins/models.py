from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, LargeBinary
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, IdMixin, TimestampMixin


class CheckIn(IdMixin, TimestampMixin, Base):
    __tablename__ = "check_ins"
    __table_args__ = (Index("ix_check_ins_open_due", "due_on", "completed_at", "cancelled_at"),)

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    hr_contact_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    due_on: Mapped[date]
    completed_at: Mapped[datetime | None]
    completed_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    summary_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    support_suitable: Mapped[bool | None]
    # Set when the contact changes or the case closes: the check-in is no longer due.
    cancelled_at: Mapped[datetime | None]
    # Set by `safeshare remind` in the same transaction that claims the row, so no host sends twice.
    reminded_at: Mapped[datetime | None]
