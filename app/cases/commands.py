"""Command-line commands of this domain, added to the `safeshare` Typer app."""

from __future__ import annotations

import typer


def register(cli: typer.Typer) -> None:
    """Add this domain's commands to `cli`."""
    cli.command("purge")(purge)


def purge() -> None:
    """Erase cases whose retention date has passed (crypto-shredding: their data keys are destroyed).

    Cases are erased in batches of 50, one transaction each, and audited (`case.purge`); safe to run again and
    from several hosts at once (PostgreSQL rows are claimed with SKIP LOCKED). Prints how many.
    """
    from app import clock
    from app.audit.service import Actor
    from app.cases import service
    from app.cli import sessionmaker_for, settings_or_exit

    settings = settings_or_exit()
    sessions = sessionmaker_for(settings)
    by = Actor.system("purge")
    today = clock.today()
    purged = 0
    while True:
        with sessions() as session, session.begin():
            batch = service.purgeable(session, today=today, limit=50)
            for case in batch:
                service.purge_case(session, case=case, by=by)
        purged += len(batch)
        if not batch:
            break
    typer.echo(f"purged {purged} case(s) past their retention date")
