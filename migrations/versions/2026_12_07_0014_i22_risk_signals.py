"""console on a real day: possible-risk signals on cases, admin-editable words on themes, refused attempts by action (issue 22)

Revision ID: 0014_i22
Revises: 0013_i23
Create Date: 2026-12-07 01:30:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_i22"
down_revision: str | None = "0013_i23"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("risk_signals_ct", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("risk_flagged_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("themes") as batch:
        batch.add_column(sa.Column("words", sa.JSON(), nullable=False, server_default="[]"))
    # Refused attempts on cases (`case.refused`), listed for safeguarding by action and time.
    op.create_index("ix_audit_events_action_at", "audit_events", ["action", "at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_audit_events_action_at", table_name="audit_events")
    with op.batch_alter_table("themes") as batch:
        batch.drop_column("words")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("risk_flagged_at")
        batch.drop_column("risk_signals_ct")
