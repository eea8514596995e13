from __future__ import annotations

from sqlalchemy import JSON, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, IdMixin, TimestampMixin


class SupportEntry(IdMixin, TimestampMixin, Base):
    """An organisation the team signposts reporters to: public information, stored in clear."""

    __tablename__ = "support_entries"

    name: Mapped[str] = mapped_column(String(200), unique=True)
    helps_with: Mapped[str] = mapped_column(Text)
    contact: Mapped[str] = mapped_column(Text)
    # Theme slugs it fits (domestic abuse, debt, gambling, bereavement, ...): listed first on such a case.
    themes: Mapped[list[str]] = mapped_column(JSON, default=list)
