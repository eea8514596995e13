"""Attachments kept in SAFESHARE_ATTACHMENT_DIR: ciphertext files, carried by backup and restore, shredded by purge."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from app import clock
from app.attachments.models import AttachmentChunk
from app.main import create_app
from tests.attachments import files
from tests.attachments.conftest import World, case_url, upload
from tests.attachments.test_lifecycle import EVIDENCE, _cli, _close


@pytest.fixture
def settings_overrides(tmp_path: Path) -> dict[str, Any]:
    return {"attachment_dir": tmp_path / "files"}


def test_files_kept_in_a_directory_are_ciphertext_carried_by_backup_and_shredded_by_purge(
    app: Any, client: Any, world: World, settings: Any, tmp_path: Path, empty_database: str
) -> None:
    clock.set_frozen(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))
    case_id = world.new_case()
    photo = upload(client, case_url(case_id), world.headers("safeguarding"), "a.jpg", files.phone_photo()).json()["id"]
    text = upload(client, case_url(case_id), world.headers("safeguarding"), "b.txt", EVIDENCE).json()["id"]
    stored = sorted(p for p in (tmp_path / "files").glob("*/*"))
    assert [p.name for p in stored] == sorted(uuid.UUID(i).hex for i in (photo, text))
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in stored)
    assert all(b"Dates and times" not in p.read_bytes() and b"JFIF" not in p.read_bytes() for p in stored)
    with app.state.sessionmaker() as s:
        assert s.scalar(select(func.count()).select_from(AttachmentChunk)) == 0

    target = tmp_path / "nightly.backup"
    assert "2 attachment file(s)" in _cli(settings, "backup", str(target))
    restored_dir = tmp_path / "restored-files"
    restored = settings.model_copy(update={"database_url": empty_database, "attachment_dir": restored_dir})
    assert "and 2 attachment file(s) into SAFESHARE_ATTACHMENT_DIR" in _cli(restored, "restore", str(target))
    twin = create_app(restored)
    try:
        from fastapi.testclient import TestClient

        with TestClient(twin) as c:
            got = c.get(case_url(case_id, f"/{text}"), headers=world.headers("safeguarding"))
            assert got.status_code == 200 and got.content == EVIDENCE
    finally:
        twin.state.engine.dispose()

    _close(app, world, case_id)
    clock.set_frozen(datetime(2033, 1, 1, tzinfo=UTC))
    assert "purged 1 case(s)" in _cli(settings, "purge")
    assert list((tmp_path / "files").glob("*/*")) == []
