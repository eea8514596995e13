"""keys only people hold (issue 27): person key pairs, case keys wrapped to people, the seal

`person_keys`: each case-reading person's X25519 public key and their private key sealed under a
password-derived key and under a recovery key; `dormant_keys`: a key pair set aside by someone
else's reset, waiting for its owner's recovery key. `case_key_wraps`: a case's data key wrapped to one
person (named by a keyed blind index). `case_key_seal`: one row once `safeshare seal-cases` ran.
`staff_sessions` gain the private key sealed under the session token, and a new recovery key
shown once; `case_keys` the key under the reporter's receipt (new cases; older ones at the
reporter's next follow-up before `seal-cases`); `reporter_sessions` the case key under their token. Nothing existing changes: until `seal-cases` runs, case keys stay wrapped by the ring.

Revision ID: 0019_i27
Revises: 0018_i27
Create Date: 2026-12-07 07:40:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019_i27"
down_revision: str | None = "0018_i27"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "person_keys",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("public_key", sa.LargeBinary(length=32), nullable=False),
        sa.Column("by_password", sa.LargeBinary(), nullable=False),
        sa.Column("password_kdf", sa.String(length=128), nullable=False),
        sa.Column("by_recovery", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("certified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("certified_by_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_person_keys_user_id_users"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["certified_by_id"], ["users.id"], name=op.f("fk_person_keys_certified_by_id_users"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_person_keys")),
    )
    op.create_table(
        "dormant_keys",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("public_key", sa.LargeBinary(length=32), nullable=False),
        sa.Column("by_recovery", sa.LargeBinary(), nullable=False),
        sa.Column("certified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("set_aside_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_dormant_keys_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_dormant_keys")),
    )
    op.create_table(
        "case_key_wraps",
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("holder", sa.LargeBinary(length=32), nullable=False),
        sa.Column("wrapped", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_case_key_wraps_case_id_cases"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("case_id", "holder", name=op.f("pk_case_key_wraps")),
    )
    with op.batch_alter_table("case_key_wraps", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_key_wraps_holder"), ["holder"], unique=False)
    op.create_table(
        "case_key_seal",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("sealed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sealed_by", sa.String(length=320), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_key_seal")),
    )
    with op.batch_alter_table("staff_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("person_key_ct", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("recovery_key_ct", sa.LargeBinary(), nullable=True))
    with op.batch_alter_table("case_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reporter_wrapped", sa.LargeBinary(), nullable=True))
    with op.batch_alter_table("reporter_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("case_key_ct", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("reporter_sessions", schema=None) as batch_op:
        batch_op.drop_column("case_key_ct")
    with op.batch_alter_table("case_keys", schema=None) as batch_op:
        batch_op.drop_column("reporter_wrapped")
    with op.batch_alter_table("staff_sessions", schema=None) as batch_op:
        batch_op.drop_column("recovery_key_ct")
        batch_op.drop_column("person_key_ct")
    op.drop_table("case_key_seal")
    with op.batch_alter_table("case_key_wraps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_key_wraps_holder"))
    op.drop_table("case_key_wraps")
    op.drop_table("dormant_keys")
    op.drop_table("person_keys")
