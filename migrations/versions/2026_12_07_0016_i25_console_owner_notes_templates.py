"""console: case owner, safeguarding-only notes, reply templates, support directory (issue 25)

Revision ID: 0016_i25
Revises: 0015_i21
Create Date: 2026-12-07 02:05:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_i25"
down_revision: str | None = "0015_i21"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("owner_id", sa.Uuid(), nullable=True))
        batch_op.create_index(batch_op.f("ix_cases_owner_id"), ["owner_id"], unique=False)
        batch_op.create_foreign_key(batch_op.f("fk_cases_owner_id_users"), "users", ["owner_id"], ["id"])
    with op.batch_alter_table("notes", schema=None) as batch_op:
        batch_op.add_column(sa.Column(
            "visibility", sa.Enum("case_team", "safeguarding", name="note_visibility", native_enum=False, length=32),
            server_default="case_team", nullable=False))
    op.create_table(
        "reply_templates",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_reply_templates_created_by_id_users"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reply_templates")),
        sa.UniqueConstraint("name", name=op.f("uq_reply_templates_name")),
    )
    op.create_table(
        "support_entries",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("helps_with", sa.Text(), nullable=False),
        sa.Column("contact", sa.Text(), nullable=False),
        sa.Column("themes", sa.JSON(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_entries")),
        sa.UniqueConstraint("name", name=op.f("uq_support_entries_name")),
    )


def downgrade() -> None:
    op.drop_table("support_entries")
    op.drop_table("reply_templates")
    with op.batch_alter_table("notes", schema=None) as batch_op:
        batch_op.drop_column("visibility")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_cases_owner_id_users"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_cases_owner_id"))
        batch_op.drop_column("owner_id")
