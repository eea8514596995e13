"""a key's certification counts only with a MAC under the ring (issue 27)

`person_keys.certification`: HMAC over the user's id and public key, under a key derived from the
ring, so that a database writer without the ring cannot certify a key they planted (intake wraps
new cases only to keys whose MAC verifies). Existing certified keys get theirs here, which needs
the key ring (as `safeshare migrate` runs it).

Revision ID: 0022_certmac
Revises: 0021_sgkey
Create Date: 2026-12-07 11:30:00
"""
import hashlib
import hmac
import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

revision: str = "0022_certmac"
down_revision: str | None = "0021_sgkey"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEEDS_RING = "this database has certified keys to sign: run `safeshare migrate` with the key ring"


def _mac(exclusion_key: bytes, user_id: uuid.UUID, public_key: bytes) -> bytes:
    # The same formula as app.crypto.holders.certification (a revision does not import the application).
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"safeshare:key-certification").derive(exclusion_key)
    return hmac.new(key, b"safeshare:certified:" + user_id.bytes + public_key, hashlib.sha256).digest()


def upgrade() -> None:
    with op.batch_alter_table("person_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("certification", sa.LargeBinary(length=32), nullable=True))
    keys = sa.table("person_keys", sa.column("user_id", sa.Uuid()), sa.column("public_key", sa.LargeBinary()),
                    sa.column("certified_at", sa.DateTime(timezone=True)), sa.column("certification", sa.LargeBinary()))
    bind = op.get_bind()
    rows = bind.execute(sa.select(keys.c.user_id, keys.c.public_key).where(keys.c.certified_at.is_not(None))).all()
    if not rows:
        return
    ring_key = context.config.attributes.get("exclusion_key")
    if not isinstance(ring_key, bytes):
        raise RuntimeError(NEEDS_RING)
    for user_id, public_key in rows:
        bind.execute(sa.update(keys).where(keys.c.user_id == user_id)
                     .values(certification=_mac(ring_key, user_id, public_key)))


def downgrade() -> None:
    with op.batch_alter_table("person_keys", schema=None) as batch_op:
        batch_op.drop_column("certification")
