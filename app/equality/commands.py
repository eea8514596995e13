"""`safeshare publish-equality`."""

from __future__ import annotations

import typer

from app.commandline import database_error, keyring_or_exit, sessionmaker_for, settings_or_exit
from app.equality import service

commands = typer.Typer()


@commands.command("publish-equality")
def publish_equality() -> None:
    """Publish the equality answers waiting in the pool if a batch is due: at least
    SAFESHARE_MIN_CELL respondents, or any answer pooled in an earlier month (month end).
    Run it daily from cron (safe on several hosts at once)."""
    settings = settings_or_exit()
    ring = keyring_or_exit(settings)
    try:
        with sessionmaker_for(settings, ring)() as session, session.begin():
            moved = service.publish_due(session, ring, min_cell=settings.min_cell)
            left = service.waiting(session)
    except Exception as exc:  # noqa: BLE001 - one line for the operator
        database_error(exc, "publish the equality answers")
    typer.echo(f"published the answers of {moved} respondent(s); {left} waiting for a batch")
