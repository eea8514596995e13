"""What every `safeshare` command shares: settings, the key ring, the database, one-line errors.

Domain packages build their commands on these helpers (each contributes a Typer app of its own,
which `app.cli` attaches), so no command module needs to import `app.cli`.
"""

from __future__ import annotations

from typing import NoReturn

import typer
from sqlalchemy.orm import Session, sessionmaker

from app import logs
from app.config import Settings, SettingsError, load_settings
from app.crypto.keyring import KeyRing, KeyRingError
from app.db import make_engine, make_sessionmaker


def fail(message: str) -> NoReturn:
    """Print `error: <message>` on standard error and exit with status 2."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=2)


def settings_or_exit() -> Settings:
    """The settings, with logging configured; a bad setting ends the command in one line."""
    try:
        settings = load_settings()
    except SettingsError as exc:
        fail(str(exc))
    logs.configure(settings.log_level)
    return settings


def keyring_or_exit(settings: Settings, *, create: bool = False) -> KeyRing:
    try:
        return KeyRing.load_or_create(settings.key_file) if create else KeyRing.load(settings.key_file)
    except KeyRingError as exc:
        fail(f"SAFESHARE_KEY_FILE: {exc}")


def sessionmaker_for(settings: Settings) -> sessionmaker[Session]:
    return make_sessionmaker(make_engine(settings.database_url))


def migrate_or_exit(settings: Settings) -> None:
    from app import migrate  # Alembic is only needed by the commands that migrate

    try:
        migrate.upgrade(settings.database_url)
    except Exception as exc:  # noqa: BLE001 - one line for the operator, never a traceback
        fail(f"SAFESHARE_DATABASE_URL: cannot migrate the database ({type(exc).__name__}: {str(exc).splitlines()[0][:200]})")


def database_error(exc: Exception, doing: str) -> NoReturn:
    """One line for an unexpected database failure: the error's type only (its text can hold data)."""
    fail(f"cannot {doing} ({type(exc).__name__}); is the database migrated? run `safeshare migrate`")
