"""`safeshare check`, as the operator runs it (the real command, in a child process) after installing:
every line names what to fix, and it fails on what would hurt later."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from app import dialect
from tests.foundation.conftest import env_for, run_safeshare
from tests.mailbox import free_port


def _private(settings: Any) -> None:
    """The suite copies its SQLite template with the default mode; the service makes its files 0600."""
    url = make_url(settings.database_url)
    if not dialect.is_postgresql(url.get_backend_name()):
        for suffix in ("", "-wal", "-shm"):
            path = Path(f"{url.database}{suffix}")
            if path.exists():
                path.chmod(0o600)


def _lines(done: subprocess.CompletedProcess[str]) -> dict[str, str]:
    """check name -> its line (the last line is the summary)."""
    out = {}
    for line in done.stdout.splitlines()[:-1]:
        level, rest = line.split(None, 1)
        name, _, said = rest.partition(": ")
        out[name] = f"{level} {said}"
    return out


def test_a_sound_installation_passes_every_check(app: Any, settings: Any, tmp_path: Path, inbox: Any) -> None:
    _private(settings)
    env = env_for(settings, SAFESHARE_SMTP_HOST="127.0.0.1", SAFESHARE_SMTP_PORT=str(inbox.port))
    done = run_safeshare(["check"], env, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = _lines(done)
    assert set(lines) == {"settings", "database", "key ring", "mail", "pg_dump", "file modes"}
    assert all(line.startswith("ok ") for line in lines.values()), lines
    assert "schema up to date" in lines["database"] and "opens every case" in lines["key ring"]
    if dialect.is_postgresql(make_url(settings.database_url).get_backend_name()):
        assert "as new as the server's" in lines["pg_dump"]
    assert done.stdout.splitlines()[-1] == "all 6 checks passed"


def test_check_fails_naming_what_to_fix(app: Any, settings: Any, tmp_path: Path) -> None:
    _private(settings)
    settings.key_file.chmod(0o644)  # a key ring others can read
    env = env_for(settings, SAFESHARE_SMTP_HOST="127.0.0.1", SAFESHARE_SMTP_PORT=str(free_port()))
    done = run_safeshare(["check"], env, tmp_path)
    assert done.returncode == 1
    lines = _lines(done)
    assert lines["mail"].startswith("FAIL the mail server 127.0.0.1:") and "SAFESHARE_SMTP_HOST" in lines["mail"]
    assert lines["file modes"] == f"FAIL {settings.key_file} (SAFESHARE_KEY_FILE) is mode 0644: run `chmod 600 {settings.key_file}`"
    assert done.stdout.splitlines()[-1].startswith("2 check(s) failed")


def test_check_names_a_mail_catcher_and_a_key_ring_that_does_not_fit(
    app: Any, client: Any, settings: Any, tmp_path: Path
) -> None:
    from aiosmtpd.controller import Controller

    from app.crypto.keyring import KeyRing
    from tests.mailbox import Inbox

    assert client.post("/api/v1/reports", json={"description": "A concern."}).status_code == 201
    other = tmp_path / "other-keys.json"  # a ring that never sealed this database's case
    KeyRing.load_or_create(other)
    catcher = Controller(Inbox(), hostname="127.0.0.1", port=free_port(), server_hostname="mailpit")
    catcher.start()
    try:
        env = env_for(settings, SAFESHARE_SMTP_HOST="127.0.0.1", SAFESHARE_SMTP_PORT=str(catcher.port),
                      SAFESHARE_KEY_FILE=str(other))
        done = run_safeshare(["check"], env, tmp_path)
    finally:
        catcher.stop()
    lines = _lines(done)
    assert done.returncode == 1
    assert lines["key ring"].startswith(f"FAIL {other} lacks master key(s) ") and "SAFESHARE_KEY_FILE" in lines["key ring"]
    assert lines["mail"].startswith("warn ") and "mail catcher" in lines["mail"]


def test_check_fails_a_pg_dump_older_than_the_server(app: Any, settings: Any, tmp_path: Path, inbox: Any) -> None:
    if not dialect.is_postgresql(make_url(settings.database_url).get_backend_name()):
        done = run_safeshare(["check"], env_for(settings), tmp_path)
        assert "ok    pg_dump: not needed: SQLite" in done.stdout
        return
    shim = tmp_path / "bin"
    shim.mkdir()
    (shim / "pg_dump").write_text("#!/bin/sh\necho 'pg_dump (PostgreSQL) 9.6.24'\n")
    (shim / "pg_dump").chmod(stat.S_IRWXU)
    env = env_for(settings, SAFESHARE_SMTP_HOST="127.0.0.1", SAFESHARE_SMTP_PORT=str(inbox.port))
    base = {k: v for k, v in os.environ.items() if not k.startswith("SAFESHARE_")}
    from tests.availability.test_operator_commands import EXE

    done = subprocess.run([str(EXE), "check"], env={**base, **env, "PATH": f"{shim}:{os.environ['PATH']}"},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert _lines(done)["pg_dump"].startswith("FAIL ") and "is version 9, older than the server's" in done.stdout
