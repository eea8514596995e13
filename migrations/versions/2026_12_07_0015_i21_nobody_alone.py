"""nobody alone: pending grants and resets, device cookies as records, enrolment links, the ring id (issue 21)

Revision ID: 0015_i21
Revises: 0014_i22
Create Date: 2026-12-07 01:30:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_i21"
down_revision: str | None = "0014_i22"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch_op:
        batch_op.add_column(sa.Column("case_roles_ended_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("owner_verified_at", sa.DateTime(timezone=True), nullable=True))
    # Accounts made before this revision were made from the shell or by the old rules: their
    # credentials count as their owners' own (a later administrator's reset clears it).
    users = sa.table("users", sa.column("owner_verified_at", sa.DateTime(timezone=True)),
                     sa.column("created_at", sa.DateTime(timezone=True)))
    op.execute(users.update().values(owner_verified_at=users.c.created_at))
    with op.batch_alter_table("totp_resets") as batch_op:
        batch_op.add_column(sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "account_approvals",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("roles", sa.String(length=64), nullable=True),
        sa.Column("requested_by_id", sa.Uuid(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_by_id", sa.Uuid(), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_by_id", sa.Uuid(), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_account_approvals_user_id_users"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["requested_by_id"], ["users.id"],
                                name=op.f("fk_account_approvals_requested_by_id_users")),
        sa.ForeignKeyConstraint(["confirmed_by_id"], ["users.id"],
                                name=op.f("fk_account_approvals_confirmed_by_id_users")),
        sa.ForeignKeyConstraint(["cancelled_by_id"], ["users.id"],
                                name=op.f("fk_account_approvals_cancelled_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_approvals")),
    )
    op.create_index(op.f("ix_account_approvals_user_id"), "account_approvals", ["user_id"], unique=False)
    op.create_table(
        "device_cookies",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("nonce_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_device_cookies_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_cookies")),
        sa.UniqueConstraint("nonce_hash", name=op.f("uq_device_cookies_nonce_hash")),
    )
    op.create_index(op.f("ix_device_cookies_user_id"), "device_cookies", ["user_id"], unique=False)
    op.create_table(
        "enrolment_links",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_enrolment_links_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrolment_links")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_enrolment_links_token_hash")),
    )
    op.create_index(op.f("ix_enrolment_links_user_id"), "enrolment_links", ["user_id"], unique=False)
    op.create_table(
        "key_ring_identity",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("ring_id", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_key_ring_identity")),
    )


def downgrade() -> None:
    op.drop_table("key_ring_identity")
    op.drop_index(op.f("ix_enrolment_links_user_id"), table_name="enrolment_links")
    op.drop_table("enrolment_links")
    op.drop_index(op.f("ix_device_cookies_user_id"), table_name="device_cookies")
    op.drop_table("device_cookies")
    op.drop_index(op.f("ix_account_approvals_user_id"), table_name="account_approvals")
    op.drop_table("account_approvals")
    with op.batch_alter_table("totp_resets") as batch_op:
        batch_op.drop_column("cancelled_at")
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_column("owner_verified_at")
        batch_op.drop_column("case_roles_ended_at")
