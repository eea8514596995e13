"""Attachments through a case's life: key rotation keeps them readable, purge shreds them (in the
database and in SAFESHARE_ATTACHMENT_DIR), backup and restore carry them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from typer.testing import CliRunner

from app import clock, flows
from app.attachments.models import Attachment, AttachmentChunk
from app.auth.models import User
from app.cases.models import Case
from app.enums import Outcome
from tests.attachments.conftest import World, case_url, upload
from tests.cases.conftest import run_purge

EVIDENCE = b"Dates and times of every shift he changed without telling me. " * 5000  # two chunks


def _close(app: Any, world: World, case_id: uuid.UUID) -> None:
    with app.state.sessionmaker() as s, s.begin():
        flows.close_case(s, app.state.keyring, app.state.settings, user=s.get(User, uuid.UUID(world.id("safeguarding"))),
                         case=s.get(Case, case_id), outcome=Outcome.WITHDRAWN, summary="Withdrawn.")


def _cli(settings: Any, *args: str) -> str:
    import logging

    from app.cli import cli

    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    env = {"SAFESHARE_DATABASE_URL": settings.database_url, "SAFESHARE_KEY_FILE": str(settings.key_file)}
    if settings.attachment_dir is not None:
        env["SAFESHARE_ATTACHMENT_DIR"] = str(settings.attachment_dir)
    try:
        result = CliRunner().invoke(cli, list(args), env=env)
    finally:
        root.handlers[:], root.level = handlers, level
    assert result.exit_code == 0, result.output
    return str(result.output)


def test_rotating_the_master_key_keeps_every_file_readable(app: Any, client: Any, world: World, settings: Any) -> None:
    case_id = world.new_case()
    file_id = upload(client, case_url(case_id), world.headers("safeguarding"), "shifts.txt", EVIDENCE).json()["id"]
    assert "re-wrapped" in _cli(settings, "rotate-key")
    assert client.get(case_url(case_id, f"/{file_id}"), headers=world.headers("safeguarding")).content == EVIDENCE


def test_purge_shreds_a_cases_files_with_it(app: Any, client: Any, world: World) -> None:
    clock.set_frozen(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))
    gone, kept = world.new_case(), world.new_case()
    for case_id in (gone, kept):
        assert upload(client, case_url(case_id), world.headers("safeguarding"), "shifts.txt", EVIDENCE).status_code == 201
    with app.state.sessionmaker() as s:
        assert s.scalar(select(func.count()).select_from(AttachmentChunk)) == 4
    _close(app, world, gone)
    clock.set_frozen(datetime(2033, 1, 1, tzinfo=UTC))
    assert run_purge(app.state.settings).startswith("purged 1 case(s) past their retention date")
    with app.state.sessionmaker() as s:
        rows = s.scalars(select(Attachment)).all()
        assert [r.case_id for r in rows] == [kept]
        assert s.scalar(select(func.count()).select_from(AttachmentChunk)) == rows[0].chunks == 2
