"""What every `safeshare` command shares: settings, the key ring, the database, one-line errors.

Domain packages build their commands on these helpers (each contributes a Typer app of its own,
which `app.cli` attaches), so no command module needs to import `app.cli`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from sqlalchemy.orm import Session, sessionmaker
from typer.core import TyperArgument, TyperCommand, TyperGroup

from app import logs
from app.audit.service import chain_key, chain_keys
from app.config import Settings, SettingsError, load_settings, unknown_settings
from app.crypto.blind import exclusion_keys
from app.crypto.keyring import KeyRing, KeyRingError
from app.crypto.keys import for_revisions
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
            recorded = keys.recorded_ring_id(session)
            missing = keys.missing_keys(session, ring)
            if ring is not None and not missing and recorded in (None, ring.ring_id):
                missing = keys.unopenable_keys(session, ring)
    except Exception as exc:  # noqa: BLE001
        database_error(exc, "check the key ring against the database")
    if recorded is not None and ring is None:
        fail(f"SAFESHARE_KEY_FILE: {settings.key_file} does not exist, but the database belongs to key ring "
             f"{recorded}: restore that key ring from its backup (a new key ring cannot read the database's cases)")
    if recorded is not None and ring is not None and ring.ring_id != recorded:
        fail(f"SAFESHARE_KEY_FILE: {settings.key_file} is key ring {ring.ring_id or '(made before ring ids)'}, but "
             f"the database belongs to key ring {recorded}: is it another deployment's key ring? Nothing was started")
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
    if ring is not None and recorded is None:
        _record_ring(settings, ring)
    return ring


def _record_ring(settings: Settings, ring: KeyRing) -> None:
    """The database now belongs to this ring (given an id first if it was made before ids)."""
    from app.crypto import keys

    try:
        ring_id = ring.ensure_ring_id()
    except OSError as exc:
        fail(f"SAFESHARE_KEY_FILE: cannot write {settings.key_file}: {exc.strerror or exc}")
    try:
        with make_sessionmaker(make_engine(settings.database_url))() as session, session.begin():
            keys.record_ring_id(session, ring_id)
    except Exception as exc:  # noqa: BLE001
        database_error(exc, "record the key ring's id in the database")


def sessionmaker_for(settings: Settings, ring: KeyRing | None = None, *, create_ring: bool = False
                     ) -> sessionmaker[Session]:
    """Sessions for a command. They write audit entries only with the key ring's audit key: the
    ring given, or the one at SAFESHARE_KEY_FILE if it exists (created first with `create_ring`:
    the commands that create accounts may run before the service has ever started)."""
    if ring is None and (create_ring or settings.key_file.exists()):
        ring = keyring_or_exit(settings, create=create_ring)
    return make_sessionmaker(make_engine(settings.database_url), audit_key=chain_keys(ring) if ring is not None else None,
                             exclusion_key=exclusion_keys(ring) if ring is not None else None)


def migrate_or_exit(settings: Settings) -> None:
    from app import migrate  # Alembic is only needed by the commands that migrate

    # An audit trail from before its HMAC chain is sealed at its end with the key (migration 0009).
    ring = keyring_or_exit(settings) if settings.key_file.exists() else None
    try:
        migrate.upgrade(settings.database_url, audit_key=chain_key(ring) if ring is not None else None,
                        ring_keys=for_revisions(ring) if ring is not None else None)
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
    """The `safeshare` group: its own `--help` without a `<bool>` marker, and every error in one
    line (`error: ...` on standard error): Typer's usage errors come in a box of several lines, and
    an unexpected exception as a traceback, neither of which a log line or cron mail can hold."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _plain_metavars(super().get_params(ctx))

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, windows_expand_args: bool = True, **extra: Any) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        try:
            code = super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        except typer.Abort:
            typer.echo("error: interrupted; nothing more was done", err=True)
            raise SystemExit(130) from None
        except OSError as exc:  # a file or folder the command was given, a full disk: the OS says which
            typer.echo(f"error: {exc.strerror or type(exc).__name__}"
                       + (f": {exc.filename}" if getattr(exc, "filename", None) else ""), err=True)
            raise SystemExit(2) from None
        except Exception as exc:  # noqa: BLE001 - one line, whatever went wrong
            raise SystemExit(_one_line(exc)) from None
        raise SystemExit(code if isinstance(code, int) else 0)


def _one_line(exc: Exception) -> int:
    """Print one `error:` line for an exception that ends a command; returns the exit status."""
    status = getattr(exc, "exit_code", None)
    if isinstance(status, int) and hasattr(exc, "format_message"):
        # Click's errors (Typer carries its own copy of Click): a usage error names the command's help.
        ctx = getattr(exc, "ctx", None)
        hint = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
        typer.echo(f"error: {' '.join(str(exc.format_message()).split())}{hint}", err=True)
        return status
    # The type only: an exception's text can carry case text or SQL parameters.
    typer.echo(f"error: unexpected {type(exc).__name__}; nothing more was done", err=True)
    return 1


# --- progress of long work ------------------------------------------------------------------------


class Steps:
    """What a long command reports as it goes: `advance` by some done, `total` once known."""

    def __init__(self, bar: Progress | None = None, task: TaskID | None = None) -> None:
        self._bar, self._task = bar, task

    def advance(self, done: int = 1) -> None:
        if self._bar is not None and self._task is not None:
            self._bar.advance(self._task, done)

    def total(self, total: int | None) -> None:
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, total=total)

    def say(self, description: str) -> None:
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, description=description)


@contextlib.contextmanager
def progress(description: str, total: int | None = None) -> Iterator[Steps]:
    """On a terminal, a bar on standard error with the count done and the time still to go
    (a spinner and the time taken while the total is unknown), gone when the work ends; when
    standard error is not a terminal (cron, a pipe, a container's log) nothing at all, so the
    command's one-line summary is all it says."""
    console = Console(stderr=True)
    if not console.is_terminal:
        yield Steps()
        return
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("elapsed"), TimeElapsedColumn(), TextColumn("left"), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        yield Steps(bar, bar.add_task(description, total=total))


def use_plain_help(app: typer.Typer) -> None:
    """Give every command of `app` (and of the apps merged into it) the plain help above."""
    for info in app.registered_commands:
        if info.cls in (None, TyperCommand):
            info.cls = PlainHelpCommand
    for group in app.registered_groups:
        if group.typer_instance is not None:
            use_plain_help(group.typer_instance)
