from __future__ import annotations

from sqlalchemy import JSON, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base


class Theme(Base):
    __tablename__ = "themes"

    slug: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(default=True)
    position: Mapped[int] = mapped_column(default=1000)
    # Words and phrases the administrator adds (one per item); they feed the suggester beside
    # the maintained list in keywords.json, each scoring as a strong term.
    words: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
