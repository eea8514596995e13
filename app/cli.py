"""The `safeshare` command line (Typer)."""

from __future__ import annotations

import logging
import sys
from typing import Annotated, NoReturn

import typer

from app import logs
from app.config import Settings, SettingsError, load_settings
from app.crypto.keyring import KeyRing, KeyRingError

cli = typer.Typer(add_completion=False, no_args_is_help=True, help="Safe Share: confidential concern reporting.")
log = logging.getLogger("safeshare.cli")


def fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=2)


def settings_or_exit() -> Settings:
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


def _migrate(settings: Settings) -> None:
    from app import migrate

    try:
        migrate.upgrade(settings.database_url)
    except Exception as exc:  # noqa: BLE001 - one line for the operator, never a traceback
        fail(f"SAFESHARE_DATABASE_URL: cannot migrate the database ({type(exc).__name__}: {str(exc).splitlines()[0][:200]})")


def sessionmaker_for(settings: Settings):  # type: ignore[no-untyped-def]
    from app.db import make_engine, make_sessionmaker

    return make_sessionmaker(make_engine(settings.database_url))


@cli.command()
def migrate() -> None:
    """Bring the database to the newest schema (safe to run again)."""
    settings = settings_or_exit()
    _migrate(settings)
    typer.echo("database is up to date")


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
) -> None:
    """Migrate, then serve the API and the web pages."""
    import uvicorn

    settings = settings_or_exit()
    keyring_or_exit(settings, create=True)
    _migrate(settings)
    log.info("Safe Share listening on http://%s:%d/ (%d worker(s))", host, port, workers, extra={"url": f"http://{host}:{port}/"})
    typer.echo(f"Safe Share is listening on http://{host}:{port}/", err=True)
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,  # uvicorn's access log prints client addresses; ours does not
        log_config=None,
        server_header=False,
        proxy_headers=False,
    )


@cli.command("create-user")
def create_user(
    email: str,
    role: Annotated[list[str], typer.Option("--role", help="admin, safeguarding, hr or leadership; repeat for several.")],
    name: Annotated[str | None, typer.Option(help="Display name (defaults to the e-mail address).")] = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from standard input.")] = False,
) -> None:
    """Create a staff account; the password is read from standard input."""
    from pydantic import ValidationError

    from app.audit.service import Actor
    from app.auth import service as auth
    from app.auth.passwords import Passwords
    from app.auth.schemas import UserCreate
    from app.errors import AppError

    settings = settings_or_exit()
    if not password_stdin:
        fail("give --password-stdin and the password on standard input")
    password = sys.stdin.readline().rstrip("\r\n")
    try:
        body = UserCreate(email=email, name=name or email, roles=role, password=password)  # type: ignore[arg-type]
    except ValidationError as exc:
        err = exc.errors()[0]
        fail(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}")
    sessions = sessionmaker_for(settings)
    try:
        with sessions() as session, session.begin():
            user = auth.create_user(
                session, Passwords(settings), email=str(body.email), name=body.name, roles=body.roles,
                password=body.password, by=Actor.system("create-user"),
            )
            typer.echo(f"created {user.email} ({', '.join(r.value for r in user.roles)})")
    except AppError as exc:
        fail(exc.detail)
    except Exception as exc:  # noqa: BLE001
        fail(f"cannot create the user ({type(exc).__name__}); is the database migrated? run `safeshare migrate`")


@cli.command("rotate-key")
def rotate_key() -> None:
    """Add a new master key, make it active and re-wrap every stored data key under it."""
    from app.audit import service as audit
    from app.audit.service import Actor
    from app.crypto import service as crypto

    settings = settings_or_exit()
    ring = keyring_or_exit(settings)
    sessions = sessionmaker_for(settings)
    new_id = ring.add_kek()
    with sessions() as session, session.begin():
        moved = crypto.rewrap_all(session, ring)
        audit.record(session, Actor.system("rotate-key"), "keys.rotate", target=new_id)
    typer.echo(f"new master key {new_id} is active; re-wrapped {moved} case key(s)")


def _register_domain_commands() -> None:
    from app.cases import commands as cases_commands
    from app.checkins import commands as checkins_commands
    from app.stats import commands as stats_commands

    for module in (cases_commands, checkins_commands, stats_commands):
        module.register(cli)


_register_domain_commands()


def main() -> None:
    cli()
