"""the escrow key (issue 27): off by default; when on, its public key only

`escrow_key`: one row while an operator has turned escrow on (`safeshare escrow create`): the
X25519 public key every case key is also wrapped to (those wraps are rows of `case_key_wraps`
under a holder index of their own). Its private key exists only as two shares printed at the
ceremony, never in the database. No row: nothing changes.

Revision ID: 0020_escrow
Revises: 0019_i27
Create Date: 2026-12-07 10:30:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020_escrow"
down_revision: str | None = "0019_i27"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "escrow_key",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("public_key", sa.LargeBinary(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escrow_key")),
    )


def downgrade() -> None:
    op.drop_table("escrow_key")
