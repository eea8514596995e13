"""The statistics roll-up's tables, kept by app.stats alone (docs/statistics.md, "Performance")."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base


class StatsCell(Base):
    __tablename__ = "stats_cells"

    dimension: Mapped[str] = mapped_column(String(16), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    value: Mapped[str] = mapped_column(String(80), primary_key=True)
    late: Mapped[bool] = mapped_column(primary_key=True)
    in_time: Mapped[bool] = mapped_column(primary_key=True)
    n: Mapped[int]
    minutes: Mapped[int] = mapped_column(default=0)


class StatsFresh(Base):
    __tablename__ = "stats_fresh"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    refreshed_at: Mapped[datetime]


class StatsStale(Base):
    __tablename__ = "stats_stale"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)
