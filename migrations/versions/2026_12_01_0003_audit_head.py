"""the audit chain's head: one row that every append advances

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 23:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS = b"\x00" * 32


def upgrade() -> None:
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("prev_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )
    bind = op.get_bind()
    newest = bind.execute(sa.text("SELECT hash, prev_hash FROM audit_events ORDER BY id DESC LIMIT 1")).first()
    head, prev = (newest[0], newest[1]) if newest else (GENESIS, GENESIS)
    bind.execute(sa.text("INSERT INTO audit_head (id, prev_hash, hash) VALUES (1, :prev, :head)"),
                 {"prev": prev, "head": head})
    # The head row is only ever advanced, never removed.
    if bind.dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION audit_head_kept() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'audit_head cannot be deleted'; END $$"
        )
        op.execute(
            "CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head "
            "FOR EACH ROW EXECUTE FUNCTION audit_head_kept()"
        )
    else:
        op.execute(
            "CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head "
            "BEGIN SELECT RAISE(ABORT, 'audit_head cannot be deleted'); END"
        )
        # SQLite appends read the head in their INSERT (BEGIN IMMEDIATE makes them the only
        # writer) and this advances it; PostgreSQL appends advance it themselves, under its lock.
        op.execute(
            "CREATE TRIGGER audit_events_advance_head AFTER INSERT ON audit_events "
            "BEGIN UPDATE audit_head SET prev_hash = NEW.prev_hash, hash = NEW.hash WHERE id = 1; END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_head_no_delete ON audit_head")
        op.execute("DROP FUNCTION IF EXISTS audit_head_kept()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_events_advance_head")
        op.execute("DROP TRIGGER IF EXISTS audit_head_no_delete")
    op.drop_table("audit_head")
