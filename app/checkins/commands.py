"""`safeshare remind`."""

from __future__ import annotations

import typer

from app.checkins.reminders import send_due_reminders
from app.commandline import sessionmaker_for, settings_or_exit

commands = typer.Typer()


@commands.command()
def remind() -> None:
    """E-mail each HR contact their check-ins due today or overdue (once each; safe to run
    from cron on several hosts at once). Exit 1 if some mail could not be sent: those
    reminders are retried on the next run."""
    settings = settings_or_exit()
    result = send_due_reminders(sessionmaker_for(settings), settings)
    typer.echo(f"sent {result.mails_sent} reminder e-mail(s) covering {result.check_ins} check-in(s)")
    if result.failed_contacts:
        typer.echo(
            f"error: {result.failed_contacts} reminder e-mail(s) could not be sent "
            f"({', '.join(sorted(set(result.errors)))}); they will be retried on the next run",
            err=True,
        )
        raise typer.Exit(code=1)
