"""Run Alembic from code (`safeshare migrate`, `safeshare serve`, the tests)."""

from __future__ import annotations

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


def upgrade(url: str, revision: str = "head", *, audit_key: bytes | None = None) -> None:
    """`audit_key` (the key ring's audit key) lets migration 0009 seal an existing audit trail's
    end; without it, an existing trail is left unsealed and `verify` reports it (docs/operations.md)."""
    cfg = alembic_config(url)
    cfg.attributes["audit_key"] = audit_key
    command.upgrade(cfg, revision)


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)
