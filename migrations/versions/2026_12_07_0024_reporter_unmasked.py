"""locks for cases from before 0023: which receipt wrap still holds the key itself (issue 27)

`case_keys.reporter_unmasked`: `seal-cases` gives a case made before locks its lock and re-makes
its wraps to people and the escrow key masked by it, but the reporter's wrap is under a key derived
from the receipt, which the server never holds: it stays as it was, marked here, until the
reporter's next visit re-makes it masked. Existing rows: false (none has been converted yet).

Revision ID: 0024_unmasked
Revises: 0023_lock
Create Date: 2026-12-07 12:50:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024_unmasked"
down_revision: str | None = "0023_lock"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("case_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reporter_unmasked", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    # A converted case's receipt wrap that still holds the key itself would then be read as masked:
    # its reporter no longer opens it (staff still do). To go back, restore a backup made before.
    with op.batch_alter_table("case_keys", schema=None) as batch_op:
        batch_op.drop_column("reporter_unmasked")
