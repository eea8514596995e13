"""reporter sessions remember their last use, so an idle one ends (issue 23)

Revision ID: 0013_i23
Revises: 0012_i24
Create Date: 2026-12-07 01:40:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_i23"
down_revision: str | None = "0012_i24"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("reporter_sessions") as batch_op:
        batch_op.add_column(sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("reporter_sessions") as batch_op:
        batch_op.drop_column("last_seen_at")
