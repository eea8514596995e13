"""The `safeshare` command line (Typer): the service's own commands, and each domain's, attached here.

Commands share their helpers through `app.commandline`; a domain's commands live in its own
package (`commands = typer.Typer()`) and are merged into this one, so `safeshare purge` and
`safeshare remind` stay top-level commands.
"""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from app import retention
from app.audit import service as audit
from app.auth import commands as auth_commands
from app.checkins import commands as checkins_commands
from app.commandline import keyring_or_exit, migrate_or_exit, sessionmaker_for, settings_or_exit
from app.crypto import keys
from app.notify import commands as notify_commands
from app.stats import commands as stats_commands

cli = typer.Typer(add_completion=False, no_args_is_help=True, help="Safe Share: confidential concern reporting.")
log = logging.getLogger("safeshare.cli")


@cli.command()
def migrate() -> None:
    """Bring the database to the newest schema (safe to run again)."""
    settings = settings_or_exit()
    migrate_or_exit(settings)
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
    migrate_or_exit(settings)
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


@cli.command("rotate-key")
def rotate_key() -> None:
    """Add a new master key, make it active and re-wrap every stored data key under it."""
    settings = settings_or_exit()
    ring = keyring_or_exit(settings)
    sessions = sessionmaker_for(settings)
    new_id = ring.add_kek()
    with sessions() as session, session.begin():
        moved = keys.rewrap_all(session, ring)
        audit.record(session, audit.Actor.system("rotate-key"), "keys.rotate", target=new_id)
    typer.echo(f"new master key {new_id} is active; re-wrapped {moved} case key(s)")


for _domain_commands in (
    auth_commands.commands,
    checkins_commands.commands,
    stats_commands.commands,
    notify_commands.commands,
    retention.commands,
):
    cli.add_typer(_domain_commands)


def main() -> None:
    cli()
