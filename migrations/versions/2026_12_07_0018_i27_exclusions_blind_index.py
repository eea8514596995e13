"""exclusions by a keyed blind index, the excluded person sealed; suggested themes sealed (issue 27)

The database alone no longer links a person to a case: `exclusions.user_id` becomes `user_lookup`
(HMAC of the user's id under a key derived from the key ring) and `user_ct` (the id sealed under the
case's data key), and `cases.suggested_themes` becomes `suggested_themes_ct` (the JSON list sealed
under the case's key). Existing rows are moved with the ring, which `safeshare migrate` / `serve`
hand in (app.migrate.upgrade(..., ring_keys=)); a database that has exclusions or suggestions is refused
without it, and a downgrade needs it too (it opens what it sealed).

Revision ID: 0018_i27
Revises: 0017_i25
Create Date: 2026-12-07 05:20:00
"""
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import context, op

from app.crypto.fields import Field

revision: str = "0018_i27"
down_revision: str | None = "0017_i25"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEEDS_RING = "this database has exclusions or theme suggestions to seal: run `safeshare migrate` with the key ring"


def _lookup(key: bytes, user_id: uuid.UUID) -> bytes:
    # The same formula as app.crypto.blind.exclusion_index (a revision does not import the application).
    return hmac.new(key, b"safeshare:exclusion:" + user_id.bytes, hashlib.sha256).digest()


def _ring() -> tuple[bytes | None, Callable[[Any, uuid.UUID], Any] | None]:
    key = context.config.attributes.get("exclusion_key")
    cipher = context.config.attributes.get("case_cipher")
    return (key if isinstance(key, bytes) else None), (cipher if callable(cipher) else None)


def _cipher_of(bind: Any, opener: Callable[[Any, uuid.UUID], Any], cache: dict[uuid.UUID, Any], case_id: uuid.UUID) -> Any:
    if case_id not in cache:
        cache[case_id] = opener(bind, case_id)
    return cache[case_id]


def upgrade() -> None:
    bind = op.get_bind()
    key, opener = _ring()
    ciphers: dict[uuid.UUID, Any] = {}
    with op.batch_alter_table("exclusions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("user_lookup", sa.LargeBinary(length=32), nullable=True))
        batch_op.add_column(sa.Column("user_ct", sa.LargeBinary(), nullable=True))
    exclusions = sa.table("exclusions", sa.column("id", sa.Uuid()), sa.column("case_id", sa.Uuid()),
                          sa.column("user_id", sa.Uuid()), sa.column("user_lookup", sa.LargeBinary()),
                          sa.column("user_ct", sa.LargeBinary()))
    rows = bind.execute(sa.select(exclusions.c.id, exclusions.c.case_id, exclusions.c.user_id)).all()
    if rows and (key is None or opener is None):
        raise RuntimeError(NEEDS_RING)
    for row_id, case_id, user_id in rows:
        assert key is not None and opener is not None
        cipher = _cipher_of(bind, opener, ciphers, case_id)
        sealed = cipher.encrypt(Field("exclusions", "user_id"), row_id, str(user_id)) if cipher is not None else None
        bind.execute(exclusions.update().where(exclusions.c.id == row_id)
                     .values(user_lookup=_lookup(key, user_id), user_ct=sealed))
    with op.batch_alter_table("exclusions", schema=None) as batch_op:
        batch_op.drop_constraint("uq_exclusions_case_id_user_id", type_="unique")
        batch_op.drop_index("ix_exclusions_user_id")
        batch_op.drop_constraint("fk_exclusions_user_id_users", type_="foreignkey")
        batch_op.drop_column("user_id")
        batch_op.alter_column("user_lookup", existing_type=sa.LargeBinary(length=32), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_exclusions_case_id_user_lookup"), ["case_id", "user_lookup"])
        batch_op.create_index(batch_op.f("ix_exclusions_user_lookup"), ["user_lookup"], unique=False)

    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("suggested_themes_ct", sa.LargeBinary(), nullable=True))
    cases = sa.table("cases", sa.column("id", sa.Uuid()), sa.column("suggested_themes", sa.JSON()),
                     sa.column("suggested_themes_ct", sa.LargeBinary()), sa.column("purged_at", sa.DateTime()))
    for case_id, suggested in bind.execute(sa.select(cases.c.id, cases.c.suggested_themes)
                                           .where(cases.c.purged_at.is_(None))).all():
        if opener is None:
            if suggested:
                raise RuntimeError(NEEDS_RING)
            continue
        cipher = _cipher_of(bind, opener, ciphers, case_id)
        if cipher is not None:
            sealed = cipher.encrypt(Field("cases", "suggested_themes"), case_id, json.dumps(list(suggested or [])))
            bind.execute(cases.update().where(cases.c.id == case_id).values(suggested_themes_ct=sealed))
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("suggested_themes")


def downgrade() -> None:
    bind = op.get_bind()
    key, opener = _ring()
    ciphers: dict[uuid.UUID, Any] = {}
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("suggested_themes", sa.JSON(), nullable=True))
    cases = sa.table("cases", sa.column("id", sa.Uuid()), sa.column("suggested_themes", sa.JSON()),
                     sa.column("suggested_themes_ct", sa.LargeBinary()))
    for case_id, sealed in bind.execute(sa.select(cases.c.id, cases.c.suggested_themes_ct)).all():
        cipher = _cipher_of(bind, opener, ciphers, case_id) if opener is not None and sealed is not None else None
        opened = json.loads(cipher.decrypt(Field("cases", "suggested_themes"), case_id, sealed)) if cipher is not None else []
        bind.execute(cases.update().where(cases.c.id == case_id).values(suggested_themes=opened))
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.alter_column("suggested_themes", existing_type=sa.JSON(), nullable=False)
        batch_op.drop_column("suggested_themes_ct")

    with op.batch_alter_table("exclusions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("user_id", sa.Uuid(), nullable=True))
    exclusions = sa.table("exclusions", sa.column("id", sa.Uuid()), sa.column("case_id", sa.Uuid()),
                          sa.column("user_id", sa.Uuid()), sa.column("user_ct", sa.LargeBinary()))
    rows = bind.execute(sa.select(exclusions.c.id, exclusions.c.case_id, exclusions.c.user_ct)).all()
    if rows and opener is None:
        raise RuntimeError("this database has exclusions: downgrading needs the key ring to open who they name")
    for row_id, case_id, sealed in rows:
        assert opener is not None
        cipher = _cipher_of(bind, opener, ciphers, case_id)
        if cipher is None or sealed is None:
            bind.execute(exclusions.delete().where(exclusions.c.id == row_id))  # nobody left to name
            continue
        user_id = uuid.UUID(cipher.decrypt(Field("exclusions", "user_id"), row_id, sealed))
        bind.execute(exclusions.update().where(exclusions.c.id == row_id).values(user_id=user_id))
    with op.batch_alter_table("exclusions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exclusions_user_lookup"))
        batch_op.drop_constraint(batch_op.f("uq_exclusions_case_id_user_lookup"), type_="unique")
        batch_op.drop_column("user_ct")
        batch_op.drop_column("user_lookup")
        batch_op.alter_column("user_id", existing_type=sa.Uuid(), nullable=False)
        batch_op.create_foreign_key(batch_op.f("fk_exclusions_user_id_users"), "users", ["user_id"], ["id"])
        batch_op.create_unique_constraint(batch_op.f("uq_exclusions_case_id_user_id"), ["case_id", "user_id"])
        batch_op.create_index(batch_op.f("ix_exclusions_user_id"), ["user_id"], unique=False)
