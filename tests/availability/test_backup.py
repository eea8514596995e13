"""`safeshare backup` copies the database while the service runs; `safeshare restore` loads the copy
into an empty database, where, with the key ring kept apart, every case reads as it was."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from app.audit import service as audit
from app.config import load_settings
from app.main import create_app
from tests.conftest import TEST_DEFAULTS
from tests.foundation.conftest import run_safeshare


def test_a_backup_restored_into_an_empty_database_reads_every_case(
    app: Any, client: TestClient, make_staff: Any, settings: Any, db_url: str, empty_database: str, tmp_path: Path
) -> None:
    staff = make_staff("safeguarding")
    written = {}
    for i in range(5):
        text = f"Concern number {i}: my manager shouts at me in front of the crew."
        case = client.post("/api/v1/reports", json={"description": text}).json()
        written[case["reference"]] = text
    first = client.get("/api/v1/cases", headers=staff.headers).json()["items"][0]["id"]
    assert client.post(f"/api/v1/cases/{first}/notes", json={"body": "A note, kept."}, headers=staff.headers).status_code == 201

    target = tmp_path / "safeshare.backup"
    done = run_safeshare(["backup", str(target)], {"SAFESHARE_DATABASE_URL": db_url,
                                                   "SAFESHARE_KEY_FILE": str(settings.key_file)}, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "the key ring is not in it" in done.stdout and "SAFESHARE_KEY_FILE" in done.stdout
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert settings.key_file.read_bytes() not in target.read_bytes()

    env = {"SAFESHARE_DATABASE_URL": empty_database, "SAFESHARE_KEY_FILE": str(settings.key_file)}
    done = run_safeshare(["restore", str(target)], env, tmp_path)
    assert done.returncode == 0, done.stderr
    assert run_safeshare(["migrate"], env, tmp_path).returncode == 0

    restored_app = create_app(load_settings(database_url=empty_database, key_file=settings.key_file, **TEST_DEFAULTS))
    try:
        with TestClient(restored_app, raise_server_exceptions=False) as restored:
            headers = {"Authorization": "Bearer " + restored.post("/api/v1/auth/login", json={
                "email": staff.email, "password": staff.password}).json()["token"]}
            items = restored.get("/api/v1/cases", headers=headers).json()["items"]
            assert {i["reference"] for i in items} == set(written)
            for item in items:
                case = restored.get(f"/api/v1/cases/{item['id']}", headers=headers).json()
                assert case["description"] == written[case["reference"]]
            notes = restored.get(f"/api/v1/cases/{first}/notes", headers=headers).json()
            assert [n["body"] for n in notes] == ["A note, kept."]
        with restored_app.state.sessionmaker() as session:
            intact, entries, _ = audit.verify(session)
        assert intact and entries > 5  # the audit trail came along, its hash chain unbroken
    finally:
        restored_app.state.engine.dispose()


def test_restore_refuses_a_database_that_is_not_empty(settings: Any, db_url: str, tmp_path: Path) -> None:
    env = {"SAFESHARE_DATABASE_URL": db_url, "SAFESHARE_KEY_FILE": str(settings.key_file)}
    target = tmp_path / "copy.backup"
    assert run_safeshare(["backup", str(target)], env, tmp_path).returncode == 0
    done = run_safeshare(["restore", str(target)], env, tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "not empty" in done.stderr
