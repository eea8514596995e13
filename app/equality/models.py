"""The equality tables: no case id, no timestamp, no sequential key (SQLite: WITHOUT ROWID, so the
only order on disk is that of the random keys).
"""

from __future__ import annotations

import uuid

from sqlalchemy import Float, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base


class EqualityPending(Base):
    """One respondent's answers waiting for a batch, sealed under a ring key."""

    __tablename__ = "equality_pending"
    __table_args__ = {"sqlite_with_rowid": False}

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    pooled_in: Mapped[str] = mapped_column(String(7))
    answers_ct: Mapped[bytes] = mapped_column(LargeBinary)


class EqualityAnswer(Base):
    """One answer to one characteristic (or `not_answered`), in the month the concern was received."""

    __tablename__ = "equality_answers"
    __table_args__ = (
        Index("ix_equality_answers_month", "month", "characteristic", "value"),
        {"sqlite_with_rowid": False},
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    month: Mapped[str] = mapped_column(String(7))
    characteristic: Mapped[str] = mapped_column(String(32))
    value: Mapped[str] = mapped_column(String(32))


class EqualityCount(Base):
    """The published answers counted by month, kept current by each batch."""

    __tablename__ = "equality_counts"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    characteristic: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str] = mapped_column(String(32), primary_key=True)
    respondents: Mapped[int] = mapped_column(Integer)


class EqualityBaseline(Base):
    """The workforce's share for one value of one characteristic (admin-entered)."""

    __tablename__ = "equality_baseline"

    characteristic: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str] = mapped_column(String(32), primary_key=True)
    share: Mapped[float] = mapped_column(Float)
