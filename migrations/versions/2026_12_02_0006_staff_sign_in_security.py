"""staff sign-in security: two-factor sign-in, one-time passwords, named sessions, back-off counters

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 07:00:00
"""
import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _throttle_buckets(columns: list[sa.Column]) -> None:
    op.create_table(
        "throttle_buckets",
        sa.Column("bucket", sa.LargeBinary(length=32), nullable=False),
        *columns,
        sa.PrimaryKeyConstraint("bucket", name=op.f("pk_throttle_buckets")),
    )


def upgrade() -> None:
    op.create_table(
        "recovery_codes",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("code_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_recovery_codes_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recovery_codes")),
        sa.UniqueConstraint("user_id", "code_hash", name=op.f("uq_recovery_codes_user_id_code_hash")),
    )
    op.create_table(
        "totp_resets",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("requested_by_id", sa.Uuid(), nullable=True),
        sa.Column("confirmed_by_id", sa.Uuid(), nullable=True),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["confirmed_by_id"], ["users.id"], name=op.f("fk_totp_resets_confirmed_by_id_users")),
        sa.ForeignKeyConstraint(["requested_by_id"], ["users.id"], name=op.f("fk_totp_resets_requested_by_id_users")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_totp_resets_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_totp_resets")),
    )
    op.create_index(op.f("ix_totp_resets_user_id"), "totp_resets", ["user_id"], unique=False)

    # Sessions get an id their owner can name (to end one); existing sessions keep working.
    with op.batch_alter_table("staff_sessions") as batch_op:
        batch_op.add_column(sa.Column("id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True))
    sessions = sa.table("staff_sessions", sa.column("token_hash", sa.LargeBinary()), sa.column("id", sa.Uuid()))
    bind = op.get_bind()
    for (token_hash,) in bind.execute(sa.select(sessions.c.token_hash)).all():
        bind.execute(sa.update(sessions).where(sessions.c.token_hash == token_hash).values(id=uuid.uuid4()))
    with op.batch_alter_table("staff_sessions") as batch_op:
        batch_op.alter_column("id", existing_type=sa.Uuid(), nullable=False)
        batch_op.create_unique_constraint(op.f("uq_staff_sessions_id"), ["id"])

    # Counters only: the new back-off table starts empty.
    op.drop_table("throttle_buckets")
    _throttle_buckets([
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    ])
    op.create_index("ix_throttle_buckets_expires_at", "throttle_buckets", ["expires_at"], unique=False)

    with op.batch_alter_table("users") as batch_op:
        batch_op.add_column(sa.Column("password_change_required", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("password_expires_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("totp_secret_ct", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("totp_enabled_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("totp_last_step", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_column("totp_last_step")
        batch_op.drop_column("totp_enabled_at")
        batch_op.drop_column("totp_secret_ct")
        batch_op.drop_column("password_expires_at")
        batch_op.drop_column("password_change_required")

    op.drop_index("ix_throttle_buckets_expires_at", table_name="throttle_buckets")
    op.drop_table("throttle_buckets")
    _throttle_buckets([
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
    ])

    with op.batch_alter_table("staff_sessions") as batch_op:
        batch_op.drop_constraint(op.f("uq_staff_sessions_id"), type_="unique")
        batch_op.drop_column("last_seen_at")
        batch_op.drop_column("id")

    op.drop_index(op.f("ix_totp_resets_user_id"), table_name="totp_resets")
    op.drop_table("totp_resets")
    op.drop_table("recovery_codes")
