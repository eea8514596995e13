"""equality monitoring: a pending pool, the published answers (no case id, month only, random keys) and their monthly counts, the workforce baseline

Revision ID: 0010e
Revises: 0009
Create Date: 2026-12-02 10:10:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010e"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "equality_pending",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("pooled_in", sa.String(length=7), nullable=False),
        sa.Column("answers_ct", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_equality_pending")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "equality_answers",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("characteristic", sa.String(length=32), nullable=False),
        sa.Column("value", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_equality_answers")),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_equality_answers_month", "equality_answers", ["month", "characteristic", "value"], unique=False)
    op.create_table(
        "equality_counts",
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("characteristic", sa.String(length=32), nullable=False),
        sa.Column("value", sa.String(length=32), nullable=False),
        sa.Column("respondents", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("month", "characteristic", "value", name=op.f("pk_equality_counts")),
    )
    op.create_table(
        "equality_baseline",
        sa.Column("characteristic", sa.String(length=32), nullable=False),
        sa.Column("value", sa.String(length=32), nullable=False),
        sa.Column("share", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("characteristic", "value", name=op.f("pk_equality_baseline")),
    )


def downgrade() -> None:
    op.drop_table("equality_baseline")
    op.drop_table("equality_counts")
    op.drop_index("ix_equality_answers_month", table_name="equality_answers")
    op.drop_table("equality_answers")
    op.drop_table("equality_pending")
