"""The statistics roll-up (issue 15): counts by month, kept by app.stats alone.

`stats_cells` holds, for each *fresh* month, exactly what the counting queries of
app/stats/service.py and app/stats/answers.py would return for that month from the raw rows.
`stats_fresh` lists the months whose cells are complete; `stats_stale` the months something has
changed in since (marked in the same transaction as the change, by the session hooks of
app/stats/rollup.py). A month is read from the roll-up only if it is fresh and not stale; any
other month is counted from the raw rows, so a published figure never depends on whether the
roll-up is up to date.
"""

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
