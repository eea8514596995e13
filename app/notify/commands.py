"""`safeshare deliver`: send what the notification outbox holds."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Annotated

import typer

from app import clock
from app.commandline import progress, sessionmaker_for, settings_or_exit
from app.notify.service import DeliverResult, outbox
from app.notify.service import deliver as deliver_due

commands = typer.Typer()


@commands.command()
def deliver(
    loop: Annotated[bool, typer.Option("--loop", help="Keep delivering until stopped, instead of once.")] = False,
    every: Annotated[int, typer.Option(min=5, help="Seconds between rounds with --loop.")] = 30,
    now: Annotated[bool, typer.Option("--now", help="Try every waiting message now, without waiting for its "
                                                    "back-off (after fixing the mail server).")] = False,
) -> None:
    """Send the e-mail notifications that are due (safe on several hosts at once; a message that
    cannot be sent is retried with back-off: 1, 2, 4... minutes, at most 6 hours apart). Prints one
    line: how many were sent, how many wait and when the next try is; exit 1, with the mail server
    and the settings to check, if some could not be sent this time. Shows progress on a terminal."""
    settings = settings_or_exit()
    sessions = sessionmaker_for(settings)
    while True:
        due, waiting, _ = outbox(sessions)
        with progress("sending notifications", total=waiting if now else due) as steps:
            result = deliver_due(sessions, settings, now_all=now, done=steps.advance)
        if result.failed:
            typer.echo(f"error: {result.failed} of {result.failed + result.sent} notification(s) could not be sent: "
                       f"{_reasons(result)}; they will be retried: {_waiting(result)}", err=True)
            if not loop:
                raise typer.Exit(code=1)  # 1, not 2: nothing is wrong with the command, the mail will go later
        else:
            dropped = f", {result.dropped} no longer needed" if result.dropped else ""
            typer.echo(f"sent {result.sent} notification(s){dropped}; {_waiting(result)}")
        if not loop:
            return
        time.sleep(every)


def _reasons(result: DeliverResult) -> str:
    return "; ".join(dict.fromkeys(result.reasons))  # each reason once, in the order met


def _waiting(result: DeliverResult) -> str:
    if not result.waiting:
        return "none waiting"
    return f"{result.waiting} waiting, the next try {_when(result.next_try)}"


def _when(at: datetime | None) -> str:
    if at is None:
        return "now"
    seconds = (at - clock.now()).total_seconds()
    if seconds <= 0:
        return "now (`safeshare deliver` sends it)"
    minutes = max(1, round(seconds / 60))
    in_words = f"{minutes} minute(s)" if minutes < 120 else f"{round(minutes / 60)} hour(s)"
    return (f"at {at.strftime('%Y-%m-%d %H:%M')} UTC (in {in_words}; `safeshare deliver --now` tries "
            "them all now)")
