"""The crypto layer's own tables: each case's data key, wrapped by a master key; the ring the
database belongs to."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base


class CaseKey(Base):
    """The case's data key, wrapped by a master key. Destroying it shreds the case."""

    __tablename__ = "case_keys"

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    kek_id: Mapped[str] = mapped_column(String(32), index=True)
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    destroyed_at: Mapped[datetime | None]


class RingIdentity(Base):
    """The id of the key ring this database belongs to (one row), recorded when `migrate` or
    `serve` first meet a ring: a ring with another id is refused at start-up."""

    __tablename__ = "key_ring_identity"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    ring_id: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime]
