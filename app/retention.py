"""Erasure after the retention date (`safeshare purge`): every package erases its own part
(docs/casework.md, "Retention and `safeshare purge`").
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from app import clock, dialect
from app.attachments import service as attachments
from app.attachments.models import Attachment, AttachmentChunk
from app.audit.service import Actor
from app.cases import service as cases
from app.cases.models import Case, CaseTheme, Exclusion, Feedback, Message, Note, Referral
from app.checkins import service as checkins
from app.checkins.models import CheckIn
from app.commandline import fail, keyring_or_exit, progress, sessionmaker_for, settings_or_exit
from app.crypto import keys
from app.crypto.keyring import RETAIN_PREFIX, KeyRing
from app.crypto.models import CaseKey, CaseKeyWrap
from app.enums import Status
from app.reports import idempotency, sessions
from app.reports.models import IdempotencyRecord, ReporterSession
from app.stats import rollup

BATCH = 50

# Every table an erasure writes to: their old row versions are scrubbed from the live files after a run.
ERASED_TABLES = tuple(
    model.__tablename__
    for model in (Attachment, AttachmentChunk, Case, CaseKey, CaseKeyWrap, CaseTheme, Message, Note, Exclusion, Feedback, Referral, CheckIn, ReporterSession,
                  IdempotencyRecord)
)


def erase_case(session: Session, *, case: Case, by: Actor, attachment_dir: Path | None = None) -> None:
    """Crypto-shred one case and have every package drop its part (one transaction, audited `case.purge`)."""
    keys.shred(session, case.id)
    attachments.erase(session, case_id=case.id, root=attachment_dir)
    checkins.erase(session, case_id=case.id)
    sessions.erase(session, case_id=case.id)
    idempotency.erase(session, case_id=case.id)
    cases.erase(session, case=case, by=by)
    rollup.mark_case(session, case)  # its times are cut to the day


commands = typer.Typer()


@commands.command()
def purge(
    force_scrub: Annotated[bool, typer.Option("--scrub", help="Scrub the database files even if nothing is erased "
                                                               "(after a run whose scrubbing failed).")] = False,
) -> None:
    """Erase cases whose retention date has passed (crypto-shredding: their data keys are destroyed).

    Cases are erased in batches of 50, one transaction each, and audited (`case.purge`); safe to run again and
    from several hosts at once (PostgreSQL rows are claimed with SKIP LOCKED). Then the key ring's retention
    keys of the days before today are destroyed (the ring file is rewritten: back it up), so no older copy of
    the database can open what was erased, and the live database files are scrubbed. Shows progress on a
    terminal; otherwise prints one line when done: how many, and what to back up.
    """
    settings = settings_or_exit()
    ring = keyring_or_exit(settings)
    said: list[str] = []
    try:
        if ring.ensure_retention_chain():
            said.append("added a retention chain to the key ring")
    except OSError as exc:
        fail(f"SAFESHARE_KEY_FILE: cannot write {settings.key_file} ({exc.strerror or exc})")
    makers = sessionmaker_for(settings, ring)
    by = Actor.system("purge")
    today = clock.today()
    with makers() as session:
        due = session.scalar(select(func.count()).select_from(Case).where(
            Case.status == Status.CLOSED, Case.purged_at.is_(None), Case.retain_until < today)) or 0
    moved = 0
    purged = 0
    with progress("erasing expired cases", total=due) as steps:
        while True:
            with makers() as session, session.begin():
                step = keep_closed_cases_until_their_day(session, ring, today=today, limit=BATCH * 10)
            moved += step
            if step == 0:
                break
        while True:
            with makers() as session, session.begin():
                batch = cases.purgeable(session, today=today, limit=BATCH)
                for case in batch:
                    erase_case(session, case=case, by=by, attachment_dir=settings.attachment_dir)
            purged += len(batch)
            steps.advance(len(batch))
            if not batch:
                break
        if settings.attachment_dir is not None:
            with makers() as session, session.begin():
                swept = attachments.sweep(session, settings)
            if swept:
                said.append(f"removed {swept} file(s) under SAFESHARE_ATTACHMENT_DIR that no attachment names")
        steps.say("scrubbing the database files")
        try:
            destroyed = ring.destroy_retention_before(today)
            with makers() as session:  # a chain `rotate-key` replaced, once nothing names it
                if ring.forget_chains(keys.chains_in_use(session)):
                    said.append("dropped the retention chain a rotation replaced")
        except OSError as exc:
            fail(f"purged {purged} case(s) past their retention date, but SAFESHARE_KEY_FILE: cannot write "
                 f"{settings.key_file} ({exc.strerror or exc}); the retention keys of past days were not destroyed: "
                 "run purge again")
        engine = makers.kw["bind"]
        assert isinstance(engine, Engine)
        try:
            scrubbed = scrub(engine, erased=max(purged, int(force_scrub)))
        except Exception as exc:  # noqa: BLE001 - one line for the operator; the erasure itself is done
            fail(f"purged {purged} case(s) past their retention date, but the database files were not scrubbed "
                 f"({type(exc).__name__}); run `safeshare purge --scrub`")
    if destroyed or moved:
        said.append(f"destroyed the retention keys of {destroyed} past day(s) and moved {moved} closed case key(s) "
                    "under their retention day")
    summary = f"purged {purged} case(s) past their retention date"
    if said:
        summary += "; " + "; ".join(said) + (f": back up {settings.key_file} (SAFESHARE_KEY_FILE) now and replace "
                                             "older copies of it")
    typer.echo(f"{summary}; database files: {scrubbed}")


def keep_closed_cases_until_their_day(session: Session, ring: KeyRing, *, today: date, limit: int) -> int:
    """Move closed cases' keys still under a master key under their retention day's key; how many."""
    rows = session.execute(
        select(Case.id, Case.retain_until)
        .join(CaseKey, CaseKey.case_id == Case.id)
        .where(Case.status == Status.CLOSED, Case.purged_at.is_(None), Case.retain_until >= today,
               CaseKey.wrapped_key.is_not(None), CaseKey.kek_id.not_like(RETAIN_PREFIX + "%"))
        .order_by(Case.id)
        .limit(limit)
    ).all()
    moved = 0
    for case_id, retain_until in rows:
        if retain_until is not None and keys.keep_until(session, ring, case_id, retain_until):
            moved += 1
    return moved


def scrub(engine: Engine, *, erased: int) -> str:
    """Leave nothing of erased rows in the live database files: VACUUM FULL only after a run that erased
    something, SQLite's cheap checkpoint every time.
    """
    if erased == 0 and dialect.is_postgresql(engine):
        return "nothing to scrub"
    return dialect.scrub_after_erasure(engine, ERASED_TABLES)
