"""What every `safeshare` command shares: settings, the key ring, the database, one-line errors.

Domain packages build their commands on these helpers (each contributes a Typer app of its own,
which `app.cli` attaches), so no command module needs to import `app.cli`.
"""

from __future__ import annotations

from typing import Any, NoReturn

import typer
from sqlalchemy.orm import Session, sessionmaker
from typer.core import TyperArgument, TyperCommand, TyperGroup

from app import logs
from app.audit.service import chain_key
from app.config import Settings, SettingsError, load_settings, unknown_settings
from app.crypto.keyring import KeyRing, KeyRingError
from app.db import make_engine, make_sessionmaker


def fail(message: str) -> NoReturn:
    """Print `error: <message>` on standard error and exit with status 2."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=2)


def settings_or_exit() -> Settings:
    """The settings, with logging configured; a bad setting ends the command in one line, and
    a `SAFESHARE_*` name that is not a setting (a typo) is pointed out, one line each."""
    try:
        settings = load_settings()
    except SettingsError as exc:
        fail(str(exc))
    for warning in unknown_settings():
        typer.echo(f"warning: {warning}", err=True)
    logs.configure(settings.log_level)
    return settings


def keyring_or_exit(settings: Settings, *, create: bool = False) -> KeyRing:
    try:
        return KeyRing.load_or_create(settings.key_file) if create else KeyRing.load(settings.key_file)
    except KeyRingError as exc:
        fail(f"SAFESHARE_KEY_FILE: {exc}")


def ring_for_database_or_exit(settings: Settings, *, create: bool) -> KeyRing | None:
    """The key ring at SAFESHARE_KEY_FILE, checked against the database (migrated first): refuses,
    in one line, a ring that lacks a master key the database's cases are wrapped with, and refuses
    to create a new ring for a database that already holds cases (a new ring cannot read them; it
    would split the data in two). Creates the ring only with `create` and only for such a database
    with no cases; returns None when there is no ring and none was to be created."""
    from app.crypto import keys

    ring = keyring_or_exit(settings) if settings.key_file.exists() else None
    try:
        with make_sessionmaker(make_engine(settings.database_url))() as session:
            missing = keys.missing_keys(session, ring)
    except Exception as exc:  # noqa: BLE001
        database_error(exc, "check the key ring against the database")
    if missing:
        cases = sum(missing.values())
        names = ", ".join(sorted(missing)[:5]) + (", ..." if len(missing) > 5 else "")
        if ring is None:
            fail(f"SAFESHARE_KEY_FILE: {settings.key_file} does not exist, but the database holds {cases} case(s) "
                 f"sealed with master key(s) {names}: restore the key ring they were sealed with from its backup "
                 "(a new key ring cannot read them)")
        fail(f"SAFESHARE_KEY_FILE: {settings.key_file} lacks master key(s) {names} that {cases} case(s) in the "
             "database are sealed with: is it the right key ring, or an old backup of it? Nothing was started")
    if ring is None and create:
        ring = keyring_or_exit(settings, create=True)
    return ring


def sessionmaker_for(settings: Settings, ring: KeyRing | None = None, *, create_ring: bool = False
                     ) -> sessionmaker[Session]:
    """Sessions for a command. They write audit entries only with the key ring's audit key: the
    ring given, or the one at SAFESHARE_KEY_FILE if it exists (created first with `create_ring`:
    the commands that create accounts may run before the service has ever started)."""
    if ring is None and (create_ring or settings.key_file.exists()):
        ring = keyring_or_exit(settings, create=create_ring)
    key = chain_key(ring) if ring is not None else None
    return make_sessionmaker(make_engine(settings.database_url), audit_key=key)


def migrate_or_exit(settings: Settings) -> None:
    from app import migrate  # Alembic is only needed by the commands that migrate

    # An audit trail from before its HMAC chain is sealed at its end with the key (migration 0009).
    ring = keyring_or_exit(settings) if settings.key_file.exists() else None
    try:
        migrate.upgrade(settings.database_url, audit_key=chain_key(ring) if ring is not None else None)
    except Exception as exc:  # noqa: BLE001 - one line for the operator, never a traceback
        fail(f"SAFESHARE_DATABASE_URL: cannot migrate the database ({type(exc).__name__}: {str(exc).splitlines()[0][:200]})")


def database_error(exc: Exception, doing: str) -> NoReturn:
    """One line for an unexpected database failure: the error's type only (its text can hold data)."""
    fail(f"cannot {doing} ({type(exc).__name__}); is the database migrated? run `safeshare migrate`")


# --- help as an operator reads it -------------------------------------------------------------------


def _plain_metavars(params: list[Any]) -> list[Any]:
    """`--port PORT`, `EMAIL`, and nothing after a flag, instead of Typer's `<int>`, `<str>`, `<bool>`."""
    for param in params:
        if param.metavar is None:
            param.metavar = "" if getattr(param, "is_flag", False) else param.name.upper()
        if isinstance(param, TyperArgument):
            # An argument's row shows its type whatever its metavar: its name says enough.
            setattr(param, "display_type_rich", _no_type)  # noqa: B010 - an instance override
    return params


def _no_type(ctx: Any) -> None:
    return None


class PlainHelpCommand(TyperCommand):
    """A command whose help shows plain metavars, and `EMAIL` (not `{email}`) in its usage line."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _plain_metavars(super().get_params(ctx))

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if isinstance(param, TyperArgument):
                pieces.append(param.display_name_raw + ("..." if param.nargs != 1 else ""))
            else:
                pieces.extend(param.get_usage_pieces(ctx))
        return pieces


class PlainHelpGroup(TyperGroup):
    """The `safeshare` group: its own `--help` without a `<bool>` marker."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _plain_metavars(super().get_params(ctx))


def use_plain_help(app: typer.Typer) -> None:
    """Give every command of `app` (and of the apps merged into it) the plain help above."""
    for info in app.registered_commands:
        if info.cls in (None, TyperCommand):
            info.cls = PlainHelpCommand
    for group in app.registered_groups:
        if group.typer_instance is not None:
            use_plain_help(group.typer_instance)
