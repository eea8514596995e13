"""The long commands as an operator runs them, for real (the `safeshare` console command in a child
process): progress on a terminal, one line in cron or a pipe; errors in one line that say what to
fix; nothing left behind by a failed restore; no password in any process's arguments."""

from __future__ import annotations

import fcntl
import os
import pty
import sqlite3
import struct
import subprocess
import sys
import termios
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from app import clock, flows
from app.auth.models import User
from app.cases.models import Case
from app.enums import Outcome
from tests.conftest import PG_ADMIN_URL
from tests.foundation.conftest import env_for, run_safeshare

EXE = Path(sys.executable).with_name("safeshare")


def on_terminal(args: list[str], env: dict[str, str], cwd: Path) -> tuple[int, str, str]:
    """Run `safeshare ARGS` with standard error on a pseudo-terminal (120 columns), as an operator
    at a shell would; returns (status, stdout, what the terminal showed)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    base = {k: v for k, v in os.environ.items() if not k.startswith("SAFESHARE_")}
    proc = subprocess.Popen([str(EXE), *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave,
                            env={**base, "TERM": "xterm-256color", "COLUMNS": "120", **env}, cwd=cwd, text=True)
    os.close(slave)
    shown = bytearray()

    def read() -> None:
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                return
            if not chunk:
                return
            shown.extend(chunk)

    reader = threading.Thread(target=read)
    reader.start()
    out, _ = proc.communicate(timeout=120)
    reader.join(timeout=10)
    os.close(master)
    return proc.returncode, out, shown.decode(errors="replace")


def _expired_cases(app: Any, client: Any, make_staff: Any, count: int) -> None:
    """`count` cases closed in 2019, so past their retention date now."""
    staff = make_staff("safeguarding")
    with clock.frozen(datetime(2019, 1, 7, 10, 0, tzinfo=UTC)):
        for i in range(count):
            assert client.post("/api/v1/reports", json={"description": f"Concern {i}."}).status_code == 201
        with app.state.sessionmaker() as s, s.begin():
            user = s.get(User, uuid.UUID(staff.id))
            for case in s.scalars(sa.select(Case).where(Case.closed_at.is_(None))).all():
                flows.close_case(s, app.state.keyring, app.state.settings, user=user, case=case,
                                 outcome=Outcome.WITHDRAWN, summary="Withdrawn.")


def test_purge_shows_progress_on_a_terminal_and_one_line_otherwise(
    app: Any, client: Any, make_staff: Any, settings: Any, tmp_path: Path
) -> None:
    _expired_cases(app, client, make_staff, 6)
    status, out, shown = on_terminal(["purge"], env_for(settings), tmp_path)
    assert status == 0, shown
    assert "erasing expired cases" in shown and "6/6" in shown  # the bar, with its count
    assert out.startswith("purged 6 case(s) past their retention date;") and out.count("\n") == 1

    _expired_cases(app, client, make_staff, 2)  # and again, as cron would run it: no terminal
    done = run_safeshare(["purge"], env_for(settings), tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert done.stdout.startswith("purged 2 case(s) past their retention date;") and done.stdout.count("\n") == 1


def test_backup_and_restore_show_progress_and_say_one_line(
    app: Any, client: Any, settings: Any, tmp_path: Path, empty_database: str
) -> None:
    for i in range(3):
        assert client.post("/api/v1/reports", json={"description": f"Concern {i}."}).status_code == 201
    target = tmp_path / "copy.backup"
    status, out, shown = on_terminal(["backup", str(target)], env_for(settings), tmp_path)
    assert status == 0, shown
    assert "backing up to copy.backup" in shown
    assert out.count("\n") == 1 and out.startswith(f"database backed up to {target} (")
    env = env_for(settings, SAFESHARE_DATABASE_URL=empty_database)
    done = run_safeshare(["restore", str(target)], env, tmp_path)
    assert done.returncode == 0 and done.stderr == "" and done.stdout.count("\n") == 1, done.stderr


def test_rotate_key_and_deliver_say_one_line_when_not_on_a_terminal(
    app: Any, client: Any, settings: Any, tmp_path: Path, inbox: Any
) -> None:
    assert client.post("/api/v1/reports", json={"description": "Concern."}).status_code == 201
    rotated = run_safeshare(["rotate-key"], env_for(settings), tmp_path)
    assert rotated.returncode == 0 and rotated.stderr == "" and rotated.stdout.count("\n") == 1, rotated.stderr
    env = env_for(settings, SAFESHARE_SMTP_HOST="127.0.0.1", SAFESHARE_SMTP_PORT=str(inbox.port))
    sent = run_safeshare(["deliver"], env, tmp_path)
    assert sent.returncode == 0 and sent.stderr == ""
    assert sent.stdout == "sent 0 notification(s); none waiting\n"  # nobody to tell yet: no safeguarding user


def test_deliver_names_the_server_and_settings_and_when_it_tries_again(
    app: Any, client: Any, make_staff: Any, settings: Any, tmp_path: Path, inbox: Any
) -> None:
    make_staff("safeguarding")
    make_staff("safeguarding")
    up = env_for(settings, SAFESHARE_SMTP_HOST="127.0.0.1", SAFESHARE_SMTP_PORT=str(inbox.port))
    assert run_safeshare(["deliver"], up, tmp_path).returncode == 0  # the notices of the two accounts' roles
    inbox.messages.clear()
    assert client.post("/api/v1/reports", json={"description": "Concern."}).status_code == 201
    from tests.mailbox import free_port

    down = env_for(settings, SAFESHARE_SMTP_HOST="127.0.0.1", SAFESHARE_SMTP_PORT=str(free_port()))
    failed = run_safeshare(["deliver"], down, tmp_path)
    assert failed.returncode == 1 and failed.stdout == ""
    line = failed.stderr.rstrip("\n")
    assert "\n" not in line and line.startswith("error: 2 of 2 notification(s) could not be sent: the mail server 127.0.0.1:")
    assert "(SAFESHARE_SMTP_HOST, SAFESHARE_SMTP_PORT) refused the connection" in line
    assert "2 waiting, the next try at " in line and "`safeshare deliver --now`" in line

    waiting = run_safeshare(["deliver"], up, tmp_path)  # the back-off has not ended: they wait
    assert waiting.returncode == 0 and waiting.stdout.startswith("sent 0 notification(s); 2 waiting, the next try at ")
    now = run_safeshare(["deliver", "--now"], up, tmp_path)  # the operator fixed the server: send them
    assert now.returncode == 0 and now.stdout == "sent 2 notification(s); none waiting\n", now.stderr
    assert len(inbox.messages) == 2


def test_usage_errors_are_one_line(tmp_path: Path) -> None:
    env = {"SAFESHARE_DATABASE_URL": f"sqlite:///{tmp_path}/x.db", "SAFESHARE_KEY_FILE": str(tmp_path / "keys.json")}
    for args, says in ((["create-user"], "Missing argument 'EMAIL'"), (["migrate", "--bogus"], "No such option"),
                       (["serve", "--port", "abc"], "Invalid value for '--port'"), (["nosuch"], "No such command")):
        done = run_safeshare(args, env, tmp_path)
        assert done.returncode == 2, args
        assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: ") and says in done.stderr, done.stderr
        assert "--help`" in done.stderr and "╭" not in done.stderr


def test_a_backup_into_a_missing_folder_names_the_folder(settings: Any, db_url: str, tmp_path: Path) -> None:
    target = tmp_path / "no" / "such" / "folder" / "x.backup"
    done = run_safeshare(["backup", str(target)], env_for(settings), tmp_path)
    assert done.returncode == 2
    assert done.stderr == f"error: the backup folder {target.parent} does not exist: create it first (readable by " \
                          "this account only), or name another\n"
    assert "SAFESHARE_DATABASE_URL" not in done.stderr and not (tmp_path / "no").exists()


@pytest.mark.parametrize("broken", ["not a backup at all", "cut short"])
def test_a_failed_restore_leaves_nothing_behind(tmp_path: Path, broken: str) -> None:
    source = tmp_path / "broken.backup"
    if broken == "cut short":
        good = tmp_path / "good.db"
        with sqlite3.connect(good) as conn:
            conn.execute("CREATE TABLE t (x)")
            conn.executemany("INSERT INTO t VALUES (?)", [("x" * 500,)] * 200)
        source.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    else:
        source.write_text("hello\n")
    target = tmp_path / "r2.db"
    env = {"SAFESHARE_DATABASE_URL": f"sqlite:///{target}", "SAFESHARE_KEY_FILE": str(tmp_path / "keys.json")}
    done = run_safeshare(["restore", str(source)], env, tmp_path)
    assert done.returncode == 2 and done.stderr.startswith("error: restore failed: ") and done.stderr.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["broken.backup"] + (["good.db"] if broken == "cut short" else []))


def test_the_database_password_never_appears_in_pg_dumps_arguments(tmp_path: Path) -> None:
    """pg_dump reads it from a password file of the run's own, removed afterwards (`ps` shows arguments to all)."""
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"safeshare_pw_{uuid.uuid4().hex[:8]}"
    try:
        with admin.connect() as c:
            c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        pytest.skip(f"PostgreSQL not reachable: {exc}") if os.environ.get("CI") != "true" else pytest.fail(str(exc))
    secret = "s3cret:pass\\word"
    url = sa.engine.make_url(PG_ADMIN_URL).set(database=name, password=secret).render_as_string(hide_password=False)
    seen = tmp_path / "seen"
    shim = tmp_path / "bin"
    shim.mkdir()
    real = subprocess.run(["sh", "-c", "command -v pg_dump"], capture_output=True, text=True).stdout.strip()
    (shim / "pg_dump").write_text(
        f'#!/bin/sh\nprintf "%s\\n" "$*" > {seen}\ncat "$PGPASSFILE" >> {seen}\necho "PGPASSFILE=$PGPASSFILE" >> {seen}\n'
        f'exec {real} "$@"\n')
    (shim / "pg_dump").chmod(0o755)
    try:
        env = {"SAFESHARE_DATABASE_URL": url, "SAFESHARE_KEY_FILE": str(tmp_path / "keys.json"),
               "PATH": f"{shim}:{os.environ['PATH']}"}
        base = {k: v for k, v in os.environ.items() if not k.startswith("SAFESHARE_")}
        done = subprocess.run([str(EXE), "migrate"], env={**base, **env}, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        done = subprocess.run([str(EXE), "backup", str(tmp_path / "pw.backup")], env={**base, **env},
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        arguments, passfile_line, passfile = seen.read_text().splitlines()
        assert "s3cret" not in arguments and "--dbname" in arguments
        assert passfile_line == "*:*:*:*:s3cret\\:pass\\\\word"  # libpq's escaping of : and \
        assert not Path(passfile.removeprefix("PGPASSFILE=")).exists()  # removed afterwards
    finally:
        with admin.connect() as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
