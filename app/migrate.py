"""Run Alembic from code (`safeshare migrate`, `safeshare serve`, the tests)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from alembic import command
from alembic.config import Config

ROOT = Path(__file__).resolve().parent.parent


def alembic_config(url: str) -> Config:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.attributes["url"] = url
    cfg.attributes["configure_logging"] = False
    return cfg


def upgrade(url: str, revision: str = "head", *, audit_key: bytes | None = None,
            ring_keys: Mapping[str, object] | None = None) -> None:
    """`audit_key` (the key ring's audit key) lets migration 0009 seal an existing audit trail's
    end; without it, an existing trail is left unsealed and `verify` reports it (docs/operations.md).
    `ring_keys` (app.crypto.keys.for_revisions of the ring) lets migration 0018 seal existing
    exclusions and theme suggestions under each case's key (it refuses to run on a database that
    has some without them)."""
    cfg = alembic_config(url)
    cfg.attributes["audit_key"] = audit_key
    cfg.attributes.update(ring_keys or {})
    command.upgrade(cfg, revision)


def downgrade(url: str, revision: str, *, ring_keys: Mapping[str, object] | None = None) -> None:
    cfg = alembic_config(url)
    cfg.attributes.update(ring_keys or {})
    command.downgrade(cfg, revision)
