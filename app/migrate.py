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
    """`audit_key` lets migration 0009 seal an existing audit trail's end; `ring_keys` lets 0018 seal
    existing exclusions and suggestions (it refuses to run without them when there are some).
    """
    cfg = alembic_config(url)
    cfg.attributes["audit_key"] = audit_key
    cfg.attributes.update(ring_keys or {})
    command.upgrade(cfg, revision)


def downgrade(url: str, revision: str, *, ring_keys: Mapping[str, object] | None = None) -> None:
    cfg = alembic_config(url)
    cfg.attributes.update(ring_keys or {})
    command.downgrade(cfg, revision)
