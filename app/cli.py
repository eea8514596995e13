"""The `safeshare` command line (Typer): the service's own commands, and each domain's, attached here.

Commands share their helpers through `app.commandline`; a domain's commands live in its own
package (`commands = typer.Typer()`) and are merged into this one, so `safeshare purge` and
`safeshare remind` stay top-level commands.
"""

from __future__ import annotations

import logging
import socket
from typing import Annotated

import typer
from sqlalchemy import func, select

from app import accounts, backup, clock, retention, rotation, selfcheck
from app.audit import service as audit
from app.cases.models import Case
from app.checkins import commands as checkins_commands
from app.commandline import (
    PlainHelpGroup,
    database_error,
    fail,
    keyring_or_exit,
    migrate_or_exit,
    progress,
    ring_for_database_or_exit,
    sessionmaker_for,
    settings_or_exit,
    use_plain_help,
)
from app.crypto import keys
from app.crypto.models import CaseKey
from app.equality import commands as equality_commands
from app.notify import commands as notify_commands
from app.stats import commands as stats_commands

# Markdown mode re-flows each docstring to the terminal's width (the default keeps its line breaks).
cli = typer.Typer(
    add_completion=False, no_args_is_help=True, help="Safe Share: confidential concern reporting.",
    cls=PlainHelpGroup, rich_markup_mode="markdown",
)
log = logging.getLogger("safeshare.cli")


@cli.command()
def migrate() -> None:
    """Bring the database to the newest schema (safe to run again)."""
    settings = settings_or_exit()
    migrate_or_exit(settings)
    ring_for_database_or_exit(settings, create=False)
    typer.echo("database is up to date")


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on (0: any free port).")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
) -> None:
    """Migrate, then serve the API and the web pages."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from app.limits import TimelyHttpToolsProtocol

    settings = settings_or_exit()
    migrate_or_exit(settings)
    ring_for_database_or_exit(settings, create=True)
    config = uvicorn.Config(
        "app.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,  # uvicorn's access log prints client addresses; ours does not
        log_config=None,
        server_header=False,
        proxy_headers=False,
        http=TimelyHttpToolsProtocol,  # uvicorn's httptools protocol, with a deadline for headers
        timeout_keep_alive=settings.keep_alive_seconds,
    )
    # The port is taken here, before a word is said: "listening" is only ever printed once it is
    # true, and a port in use is one line instead of uvicorn's log record.
    try:
        sock = _listen(host, port, backlog=config.backlog)
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")
    url = f"http://{host if ':' not in host else f'[{host}]'}:{sock.getsockname()[1]}/"
    log.info("Safe Share listening on %s (%d worker(s))", url, workers, extra={"url": url})
    typer.echo(f"Safe Share is listening on {url}", err=True)
    server = uvicorn.Server(config)
    try:
        if workers > 1:
            Multiprocess(config, sockets=[sock]).run()
        else:
            server.run(sockets=[sock])
    finally:
        sock.close()
    if workers == 1 and not server.started:
        raise typer.Exit(code=3)  # the app could not start; uvicorn has said why


def _listen(host: str, port: int, *, backlog: int) -> socket.socket:
    """A listening TCP socket, as uvicorn would bind it, handed to every worker."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(backlog)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


@cli.command("rotate-key")
def rotate_key(
    master_only: Annotated[bool, typer.Option(
        "--master-only", help="Only the master key: leave the ring's lookup key and retention chain as they are.")] = False,
) -> None:
    """Add a new master key, make it active and re-wrap every stored data key under it; then give the
    ring a new lookup key and retention chain and move to them what the ring alone can re-seal.

    First every live data key is opened with the ring (nothing changes if one does not open). The
    ring file is written before the database: the old lookup key stays in it, retired, for what
    cannot be moved (receipts, recovery codes), and a crash at any point leaves everything
    readable (run the command again to finish). Shows progress on a terminal; otherwise prints one
    line when done.
    """
    settings = settings_or_exit()
    ring = keyring_or_exit(settings)
    sessions = sessionmaker_for(settings, ring)
    try:
        with sessions() as session:
            live = session.scalar(select(func.count()).select_from(CaseKey).where(CaseKey.wrapped_key.is_not(None)))
            with progress("checking every data key opens", total=live) as steps:
                bad = keys.first_unreadable(session, ring, done=steps.advance)
            reference = session.scalar(select(Case.reference).where(Case.id == bad)) if bad is not None else None
    except Exception as exc:  # noqa: BLE001
        database_error(exc, "read the data keys")
    if bad is not None:
        fail(f"the data key of case {reference or bad} does not open with this key ring (tampered, or sealed with "
             "another ring): nothing was changed; restore that row or its key ring before rotating")
    new_id = ring.add_kek()
    if not master_only:
        ring.rotate_own_keys()  # the file first: the database is moved only to keys the file holds
    moved = None
    try:
        with sessions() as session, session.begin():
            with progress("re-wrapping the data keys", total=live) as steps:
                rewrapped = keys.rewrap_all(session, ring, done=steps.advance)
            if not master_only:
                with progress("moving to the ring's new keys") as steps:
                    moved = rotation.reseal(session, ring, done=steps.advance)
            audit.record(session, audit.Actor.system("rotate-key"), audit.ROTATED, target=new_id)
    except Exception as exc:  # noqa: BLE001
        fail(f"the re-wrap stopped ({type(exc).__name__}): the database is as it was, and the key file holds the "
             "old keys too, so everything still opens; run `safeshare rotate-key` again to finish")
    if not master_only:
        with sessions() as session:
            rotation.forget_unused_chains(session, ring)
    what = "" if moved is None else f"; new lookup key and retention chain: moved {moved.line()}"
    typer.echo(
        f"new master key {new_id} is active; re-wrapped {rewrapped} case key(s){what}. "
        f"Back up {settings.key_file} now (SAFESHARE_KEY_FILE): without this copy of it, cases cannot be read."
    )


@cli.command()
def check() -> None:
    """Check this installation, changing nothing: the settings, the database (reachable, migrated),
    the key ring (private, and the one the cases need), the mail server, `pg_dump` (as new as the
    server) and the modes of the files that hold secrets. One line per check (`ok`, `warn`, `FAIL`)
    naming what to fix; exit 1 if any check fails."""
    settings = settings_or_exit()
    findings = selfcheck.run_checks(settings)
    for finding in findings:
        typer.echo(finding.line())
    failed = sum(f.level == selfcheck.FAIL for f in findings)
    warned = sum(f.level == selfcheck.WARN for f in findings)
    if failed:
        typer.echo(f"{failed} check(s) failed, {warned} warning(s): fix what the FAIL lines name, then run "
                   "`safeshare check` again")
        raise typer.Exit(code=1)
    typer.echo(f"all {len(findings)} checks passed" + (f", {warned} warning(s)" if warned else ""))


@cli.command("audit-head")
def audit_head() -> None:
    """Verify the audit chain and print its head, to publish somewhere the database's administrators
    cannot write (daily): a later chain that still holds this hash has not been rewritten before it."""
    settings = settings_or_exit()
    ring = keyring_or_exit(settings)
    sessions = sessionmaker_for(settings, ring)
    try:
        with sessions() as session:
            intact, _, broken = audit.verify(session)
            count, newest, head = audit.current_head(session)
    except Exception as exc:  # noqa: BLE001
        database_error(exc, "read the audit trail")
    if not intact:
        fail(f"the audit chain is broken at entry {broken}: not printing its head; investigate")
    at = clock.rfc3339(clock.now())
    typer.echo(f"safeshare audit head at {at}: entries {count}, newest id {newest}, hmac-sha256 {head.hex()}")


for _domain_commands in (
    accounts.commands,
    checkins_commands.commands,
    equality_commands.commands,
    stats_commands.commands,
    notify_commands.commands,
    retention.commands,
    backup.commands,
):
    cli.add_typer(_domain_commands)
use_plain_help(cli)


def main() -> None:
    cli()
