"""`safeshare deliver`: send what the notification outbox holds."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from app.commandline import sessionmaker_for, settings_or_exit
from app.notify.service import deliver as deliver_due

commands = typer.Typer()


@commands.command()
def deliver(
    loop: Annotated[bool, typer.Option("--loop", help="Keep delivering until stopped, instead of once.")] = False,
    every: Annotated[int, typer.Option(min=5, help="Seconds between rounds with --loop.")] = 30,
) -> None:
    """Send the e-mail notifications that are due (safe on several hosts at once; a message that
    cannot be sent is retried with back-off). Exit 1 if some could not be sent this time."""
    settings = settings_or_exit()
    sessions = sessionmaker_for(settings)
    while True:
        result = deliver_due(sessions, settings)
        typer.echo(f"sent {result.sent} notification(s)" + (f", {result.dropped} no longer needed" if result.dropped else ""))
        if result.failed:
            typer.echo(
                f"error: {result.failed} notification(s) could not be sent ({', '.join(sorted(set(result.errors)))}); "
                "they will be retried", err=True,
            )
        if not loop:
            if result.failed:
                raise typer.Exit(code=1)
            return
        time.sleep(every)
