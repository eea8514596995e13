from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import JSON, ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, IdMixin, TimestampMixin


class SavedView(IdMixin, TimestampMixin, Base):
    """A staff user's own named queue: its filters, and the words of a search sealed (`search_ct`)
    to the owner's own key pair (or, for an owner without one, under a key of the ring), bound to
    this row: words typed to find a case are case text."""

    __tablename__ = "saved_views"
    __table_args__ = (UniqueConstraint("user_id", "name"),)

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    # The queue's filters as its query parameters (`status`, `theme`, `risk`, `hr_contact`,
    # `owner`, `overdue`, `open_referral`): never case text.
    filters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    search_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    # Issue 27: the public key of the owner's key pair the words are sealed to (app.crypto.people.
    # seal_to): only the owner's private key, held by their session, opens them. NULL: sealed under
    # the ring's key (an owner with no key pair, or a view saved before `seal-cases` moved it).
    search_to: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    # The queue the user lands on (one at most per user).
    is_default: Mapped[bool] = mapped_column(default=False)
