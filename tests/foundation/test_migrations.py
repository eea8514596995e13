"""The Alembic head and the models agree, on both databases; migrations run down and up again."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app import migrate
from app.db import make_engine
from app.models import Base


def _diff(url: str) -> list:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            return compare_metadata(ctx, Base.metadata)
    finally:
        engine.dispose()


def test_migration_head_matches_models(db_url: str) -> None:
    assert _diff(db_url) == []


def test_migrations_downgrade_to_base_and_upgrade_again(db_url: str) -> None:
    migrate.downgrade(db_url, "base")
    migrate.upgrade(db_url)
    assert _diff(db_url) == []
    engine = make_engine(db_url)
    with engine.connect() as conn:
        slugs = [r[0] for r in conn.exec_driver_sql("select slug from themes order by position")]
    engine.dispose()
    assert slugs[0] == "domestic_abuse" and slugs[-1] == "other" and len(slugs) == 14
