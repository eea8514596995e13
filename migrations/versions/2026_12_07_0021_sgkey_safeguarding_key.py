"""the safeguarding-only key: a second per-case key, wrapped to safeguarding users only (issue 27)

`case_keys` gain the second key's master wrap (`sg_wrapped_key`, until `seal-cases`) and when it
was made (`sg_created_at`); `case_key_wraps` gain `part` (`case` or `safeguarding`) in their
primary key; `notes` and `attachments` say which key seals them (`under_sg_key`); `saved_views`
gain the public key their search words are sealed to (`search_to`; NULL: the ring's key). Existing rows
keep the case key: `seal-cases` (run again in a deployment already sealed) moves the existing
safeguarding-only notes and their files under the new key, and so does the case's next such note.

Revision ID: 0021_sgkey
Revises: 0020_escrow
Create Date: 2026-12-07 10:20:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021_sgkey"
down_revision: str | None = "0020_escrow"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("case_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sg_wrapped_key", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("sg_created_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("case_key_wraps", schema=None) as batch_op:
        batch_op.add_column(sa.Column("part", sa.String(length=16), server_default="case", nullable=False))
        batch_op.drop_constraint("pk_case_key_wraps", type_="primary")
        batch_op.create_primary_key("pk_case_key_wraps", ["case_id", "holder", "part"])
    with op.batch_alter_table("notes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("under_sg_key", sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("under_sg_key", sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table("saved_views", schema=None) as batch_op:
        batch_op.add_column(sa.Column("search_to", sa.LargeBinary(length=32), nullable=True))


def downgrade() -> None:
    # What the safeguarding-only keys seal cannot go back under the case key here (no key is held):
    # a downgrade drops those keys' wraps, and their notes and files become unreadable; so do saved
    # searches sealed to their owners (dropped here).
    op.execute("UPDATE saved_views SET search_ct = NULL WHERE search_to IS NOT NULL")
    with op.batch_alter_table("saved_views", schema=None) as batch_op:
        batch_op.drop_column("search_to")
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.drop_column("under_sg_key")
    with op.batch_alter_table("notes", schema=None) as batch_op:
        batch_op.drop_column("under_sg_key")
    op.execute("DELETE FROM case_key_wraps WHERE part <> 'case'")
    with op.batch_alter_table("case_key_wraps", schema=None) as batch_op:
        batch_op.drop_constraint("pk_case_key_wraps", type_="primary")
        batch_op.create_primary_key("pk_case_key_wraps", ["case_id", "holder"])
        batch_op.drop_column("part")
    with op.batch_alter_table("case_keys", schema=None) as batch_op:
        batch_op.drop_column("sg_created_at")
        batch_op.drop_column("sg_wrapped_key")
