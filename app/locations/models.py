from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base
from app.enums import LocationKind, db_enum


class Location(Base):
    """A place or unit a concern can be about. `headcount` (when known) feeds disclosure control."""

    __tablename__ = "locations"

    slug: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[LocationKind] = mapped_column(db_enum(LocationKind, "location_kind"))
    headcount: Mapped[int | None]
    active: Mapped[bool] = mapped_column(default=True)
    position: Mapped[int] = mapped_column(default=1000)
