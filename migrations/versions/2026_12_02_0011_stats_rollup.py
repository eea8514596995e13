"""statistics roll-up: counts by month (stats_cells), which months are complete (stats_fresh) and changed since (stats_stale)

Revision ID: 0011
Revises: 0010e
Create Date: 2026-12-02 10:40:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "stats_cells",
        sa.Column("dimension", sa.String(length=16), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("value", sa.String(length=80), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("in_time", sa.Boolean(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("dimension", "month", "value", "late", "in_time", name=op.f("pk_stats_cells")),
    )
    op.create_table(
        "stats_fresh",
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("month", name=op.f("pk_stats_fresh")),
    )
    op.create_table(
        "stats_stale",
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.PrimaryKeyConstraint("month", name=op.f("pk_stats_stale")),
    )


def downgrade() -> None:
    op.drop_table("stats_stale")
    op.drop_table("stats_fresh")
    op.drop_table("stats_cells")
