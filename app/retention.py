"""Erasure after the retention date (`safeshare purge`): every package erases its own part.

A closed case is kept until `retain_until` (closure + `SAFESHARE_RETENTION_YEARS`). Erasing it
destroys its data key (crypto-shredding: every ciphertext under it becomes unrecoverable), and
each package that holds something of the case drops it: the case's text and identity (cases),
check-in summaries (checkins), reporter sessions and stored idempotent answers (reports). What
statistics need stays.
"""

from __future__ import annotations

import typer
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from app import clock, dialect
from app.audit.service import Actor
from app.cases import service as cases
from app.cases.models import Case, CaseTheme, Exclusion, Feedback, Message, Note, Referral
from app.checkins import service as checkins
from app.checkins.models import CheckIn
from app.commandline import sessionmaker_for, settings_or_exit
from app.crypto import keys
from app.crypto.models import CaseKey
from app.reports import idempotency, sessions
from app.reports.models import IdempotencyRecord, ReporterSession

BATCH = 50

# Every table an erasure writes to: their old row versions are scrubbed from the live files after a run.
ERASED_TABLES = tuple(
    model.__tablename__
    for model in (Case, CaseKey, CaseTheme, Message, Note, Exclusion, Feedback, Referral, CheckIn, ReporterSession,
                  IdempotencyRecord)
)


def erase_case(session: Session, *, case: Case, by: Actor) -> None:
    """Crypto-shred one case and have every package drop its part (one transaction, audited `case.purge`)."""
    keys.shred(session, case.id)
    checkins.erase(session, case_id=case.id)
    sessions.erase(session, case_id=case.id)
    idempotency.erase(session, case_id=case.id)
    cases.erase(session, case=case, by=by)


commands = typer.Typer()


@commands.command()
def purge() -> None:
    """Erase cases whose retention date has passed (crypto-shredding: their data keys are destroyed).

    Cases are erased in batches of 50, one transaction each, and audited (`case.purge`); safe to run again and
    from several hosts at once (PostgreSQL rows are claimed with SKIP LOCKED). Prints how many.
    """
    settings = settings_or_exit()
    makers = sessionmaker_for(settings)
    by = Actor.system("purge")
    today = clock.today()
    purged = 0
    while True:
        with makers() as session, session.begin():
            batch = cases.purgeable(session, today=today, limit=BATCH)
            for case in batch:
                erase_case(session, case=case, by=by)
        purged += len(batch)
        if not batch:
            break
    typer.echo(f"purged {purged} case(s) past their retention date")
    engine = makers.kw["bind"]
    assert isinstance(engine, Engine)
    typer.echo(scrub(engine, erased=purged))


def scrub(engine: Engine, *, erased: int) -> str:
    """Leave nothing of the erased rows in the live database files (`app.dialect.scrub_after_erasure`).
    PostgreSQL's VACUUM FULL rewrites the tables, so it runs only after a run that erased something;
    SQLite's checkpoint is cheap and runs every time (it also finishes a run that could not)."""
    if erased == 0 and dialect.is_postgresql(engine):
        return "nothing to scrub"
    return dialect.scrub_after_erasure(engine, ERASED_TABLES)
