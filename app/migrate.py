"""Run Alembic from code (`safeshare migrate`, `safeshare serve`, the tests)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config

if TYPE_CHECKING:
    from app.crypto.keyring import KeyRing

ROOT = Path(__file__).resolve().parent.parent


def alembic_config(url: str) -> Config:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.attributes["url"] = url
    cfg.attributes["configure_logging"] = False
    return cfg


def upgrade(url: str, revision: str = "head", *, audit_key: bytes | None = None, ring: KeyRing | None = None) -> None:
    """`audit_key` (the key ring's audit key) lets migration 0009 seal an existing audit trail's
    end; without it, an existing trail is left unsealed and `verify` reports it (docs/operations.md).
    `ring` lets migration 0018 seal existing exclusions and theme suggestions under each case's key
    (it refuses to run on a database that has some without it)."""
    cfg = alembic_config(url)
    cfg.attributes["audit_key"] = audit_key
    if ring is not None:
        _hand_in(cfg, ring)
    command.upgrade(cfg, revision)


def downgrade(url: str, revision: str, *, ring: KeyRing | None = None) -> None:
    cfg = alembic_config(url)
    if ring is not None:
        _hand_in(cfg, ring)
    command.downgrade(cfg, revision)


def _hand_in(cfg: Config, ring: KeyRing) -> None:
    from app.crypto.blind import exclusion_key
    from app.crypto.keys import migration_cipher

    cfg.attributes["exclusion_key"] = exclusion_key(ring)
    cfg.attributes["case_cipher"] = migration_cipher(ring)
