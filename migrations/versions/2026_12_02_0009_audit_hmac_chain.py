"""the audit chain becomes an HMAC under the key ring's audit key; the head row only advances

Entries written before this revision keep their SHA-256 chain: `audit_head.legacy_until` is the id
of the last of them (0 when there are none) and `anchor_mac` seals that boundary, and the hash of
the entry there, with the audit key, so a database writer can neither move the boundary nor rewrite
the entries before it. The key comes from `safeshare migrate` / `serve` (the key ring); migrating
an existing trail without it leaves the boundary unsealed, which `verify` reports as broken.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 10:30:00
"""
import hashlib
import hmac
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _anchor_mac(key: bytes, legacy_until: int, legacy_hash: bytes) -> bytes:
    # The same formula as app.audit.service.anchor_mac (a revision does not import the application).
    return hmac.new(key, b"safeshare:audit:anchor:" + str(legacy_until).encode() + b":" + legacy_hash,
                    hashlib.sha256).digest()


def upgrade() -> None:
    with op.batch_alter_table("audit_head", recreate="never") as batch:  # a trigger of audit_events names it
        batch.add_column(sa.Column("legacy_until", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                                   server_default="0", nullable=False))
        batch.add_column(sa.Column("anchor_mac", sa.LargeBinary(length=32), nullable=True))
    bind = op.get_bind()
    newest = bind.execute(sa.text("SELECT id, hash FROM audit_events ORDER BY id DESC LIMIT 1")).first()
    if newest is not None:
        key = context.config.attributes.get("audit_key")
        sealed = _anchor_mac(key, int(newest[0]), bytes(newest[1])) if isinstance(key, bytes) else None
        bind.execute(sa.text("UPDATE audit_head SET legacy_until = :n, anchor_mac = :m WHERE id = 1"),
                     {"n": int(newest[0]), "m": sealed})
    # The head row only ever advances from its own hash; the boundary never moves.
    if bind.dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION audit_head_advance_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "IF NEW.id IS DISTINCT FROM OLD.id OR NEW.prev_hash IS DISTINCT FROM OLD.hash "
            "OR NEW.legacy_until IS DISTINCT FROM OLD.legacy_until OR NEW.anchor_mac IS DISTINCT FROM OLD.anchor_mac "
            "THEN RAISE EXCEPTION 'audit_head only advances'; END IF; RETURN NEW; END $$"
        )
        op.execute(
            "CREATE TRIGGER audit_head_advance_only BEFORE UPDATE ON audit_head "
            "FOR EACH ROW EXECUTE FUNCTION audit_head_advance_only()"
        )
    else:
        op.execute(
            "CREATE TRIGGER audit_head_advance_only BEFORE UPDATE ON audit_head "
            "WHEN NEW.id IS NOT OLD.id OR NEW.prev_hash IS NOT OLD.hash "
            "OR NEW.legacy_until IS NOT OLD.legacy_until OR NEW.anchor_mac IS NOT OLD.anchor_mac "
            "BEGIN SELECT RAISE(ABORT, 'audit_head only advances'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_head_advance_only ON audit_head")
        op.execute("DROP FUNCTION IF EXISTS audit_head_advance_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_head_advance_only")
    with op.batch_alter_table("audit_head", recreate="never") as batch:  # a trigger of audit_events names it
        batch.drop_column("anchor_mac")
        batch.drop_column("legacy_until")
