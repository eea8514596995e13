"""a case's lock: a closed case's key also needs its retention day's key (issue 27)

`case_keys.lock_kek_id` and `lock_wrapped`: a random secret per case, wrapped by a master key
while the case is open and by its retention day's key once it is closed; the wraps of new cases'
keys to people hold them masked by it. Existing cases have none and keep working as before.

Revision ID: 0023_lock
Revises: 0022_certmac
Create Date: 2026-12-07 11:40:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023_lock"
down_revision: str | None = "0022_certmac"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("case_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lock_kek_id", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("lock_wrapped", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    # The locks go: a case made since keeps its master wrap (before `seal-cases`), but its wraps to
    # people and under the receipt no longer open it. To go back, restore a backup made before.
    with op.batch_alter_table("case_keys", schema=None) as batch_op:
        batch_op.drop_column("lock_wrapped")
        batch_op.drop_column("lock_kek_id")
