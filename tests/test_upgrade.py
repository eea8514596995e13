"""The README's upgrade procedure (backup, pull, migrate, restart), run as written on a deployment
that an earlier version made: `tests/data/upgrade/` holds what `safeshare backup` of main wrote
before issue 26 (on SQLite and on PostgreSQL, commit in `fixture.json`), with its key ring.

The block runs in a folder laid out as that version left it (`var/safeshare.db` or a PostgreSQL
database, `var/keys.json`). Two lines are the checkout's business, not the test's: `git pull` (the
code under test is the new version) and `bash scripts/_env.sh app` (its environment is this
suite's, installed from the same lock). `scripts/run` starts `safeshare serve` as it would, on a
free port. Afterwards every case, note, message and the audit chain read as before.
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

from app import backup
from app.crypto.keyring import KeyRing
from tests.test_readme import ROOT, VENV, block_of, run_line, serve

FIXTURE = ROOT / "tests/data/upgrade"
SKIPPED = {"git pull", "bash scripts/_env.sh app"}


def test_the_documented_upgrade_keeps_every_case_readable(
    backend: Any, empty_database: str, tmp_path: Path, inbox: Any, stop_afterwards: list[Any]
) -> None:
    facts = json.loads((FIXTURE / "fixture.json").read_text())[backend.name]
    home = tmp_path / "safeshare"
    (home / "var").mkdir(parents=True, mode=0o700)
    (home / ".venv").symlink_to(VENV)
    shutil.copyfile(FIXTURE / "keys.json", home / "var/keys.json")
    (home / "var/keys.json").chmod(0o600)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFESHARE_")}
    env |= {"SAFESHARE_SMTP_HOST": "127.0.0.1", "SAFESHARE_SMTP_PORT": str(inbox.port),
            "SAFESHARE_REQUIRE_2FA_ROLES": ""}  # the fixture's staff never set up an authenticator
    if backend.name == "sqlite":
        backup.restore_database(FIXTURE / "sqlite.backup", f"sqlite:///{home}/var/safeshare.db")
    else:
        backup.restore_database(FIXTURE / "postgresql.backup", empty_database)
        env["SAFESHARE_DATABASE_URL"] = empty_database

    lines = block_of(ROOT / "README.md", "upgrade")
    commands = [line.split("  #")[0].strip() for line in lines]
    assert "safeshare backup" in commands[0]  # first of all, a copy to go back to
    assert [c for c in commands if c in SKIPPED] == ["git pull", "bash scripts/_env.sh app"]
    assert commands.index("git pull") < commands.index(".venv/bin/safeshare migrate") < commands.index("scripts/run")
    port = None
    for command in commands:
        if command in SKIPPED:
            continue
        if command == "scripts/run":
            proc, port = serve(home, env)
            stop_afterwards.append(proc)
            continue
        done = run_line(command, home, env)
        assert done.returncode == 0, f"README upgrade line failed: {command}\n{done.stdout}{done.stderr}"
    assert port is not None
    assert (home / "var/before-upgrade.backup").stat().st_size > 0 and (home / "var/keys-before-upgrade.json").exists()

    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
        signed_in = http.post("/api/v1/auth/login", json={"email": facts["staff"]["safeguarding"],
                                                          "password": facts["password"]})
        assert signed_in.status_code == 200, signed_in.text
        staff = {"Authorization": "Bearer " + signed_in.json()["token"]}
        listed = http.get("/api/v1/cases", headers=staff).json()["items"]
        assert {c["reference"] for c in listed} == {c["reference"] for c in facts["cases"]}
        for case in facts["cases"]:
            item = next(c for c in listed if c["reference"] == case["reference"])
            read = http.get(f"/api/v1/cases/{item['id']}", headers=staff).json()
            assert read["description"] == case["description"]
            assert read["status"] == case.get("status", read["status"])
            if "notes" in case:
                notes = http.get(f"/api/v1/cases/{item['id']}/notes", headers=staff).json()
                assert [n["body"] for n in notes] == case["notes"]
        first = facts["cases"][0]
        token = http.post("/api/v1/reporter/session", json={"receipt": first["receipt"]}).json()["token"]
        mine = http.get("/api/v1/reporter/case", headers={"Authorization": f"Bearer {token}"}).json()
        assert [m["body"] for m in mine["messages"]] == first["messages"]
        verified = http.get("/api/v1/audit/verify", headers=staff)
        assert verified.status_code == 403  # safeguarding may not; the block's audit-head verified it

        # Issue 27: the safeguarding user's sign-in above made their key pair; `seal-cases` moves every
        # case key from the ring to it (and the reporter's follow-up above gave their case its receipt
        # wrap). Afterwards the same reads work, and no case key is wrapped by the ring any more.
        sealed = run_line(f"printf '%s\\n' '{facts['password']}' | .venv/bin/safeshare seal-cases "
                          f"--as {facts['staff']['safeguarding']} --password-stdin", home, env)
        assert sealed.returncode == 0, sealed.stdout + sealed.stderr
        assert f"sealed: {len(facts['cases'])} case key(s)" in sealed.stdout
        # ...and gives each case its lock first (these cases predate locks), a closed one under its
        # retention day; the reporter's receipt wrap stays as it was until their next visit.
        assert f"locked: {len(facts['cases'])} case(s)" in sealed.stdout
        database = env.get("SAFESHARE_DATABASE_URL", f"sqlite:///{home}/var/safeshare.db")
        keys_now = _case_keys(database)
        assert all(k["lock_wrapped"] is not None and k["wrapped_key"] is None for k in keys_now.values())
        assert [k["reporter_unmasked"] for k in keys_now.values()].count(True) == 1  # the one redeemed above
        closed = next(c["reference"] for c in facts["cases"] if c.get("status") == "closed")
        closed_key = keys_now[closed]
        assert closed_key["lock_kek_id"] == f"retain-{closed_key['retain_until']}"
        wraps = _wraps(database)
        again = run_line(f"printf '%s\\n' '{facts['password']}' | .venv/bin/safeshare seal-cases "
                         f"--as {facts['staff']['safeguarding']} --password-stdin", home, env)
        assert again.returncode == 0 and "locked:" not in again.stdout, again.stdout + again.stderr
        assert _case_keys(database) == keys_now and _wraps(database) == wraps  # a second run changes nothing
        again = http.post("/api/v1/auth/login", json={"email": facts["staff"]["safeguarding"],
                                                      "password": facts["password"]})
        staff = {"Authorization": "Bearer " + again.json()["token"]}
        for case in facts["cases"]:
            item = next(c for c in listed if c["reference"] == case["reference"])
            assert http.get(f"/api/v1/cases/{item['id']}", headers=staff).json()["description"] == case["description"]
        token = http.post("/api/v1/reporter/session", json={"receipt": first["receipt"]}).json()["token"]
        mine = http.get("/api/v1/reporter/case", headers={"Authorization": f"Bearer {token}"}).json()
        assert [m["body"] for m in mine["messages"]] == first["messages"]

        assert [k["reporter_unmasked"] for k in _case_keys(database).values()].count(True) == 0  # re-made masked

        # `purge` destroys the closed case's retention day: the database as it is (a backup from
        # before the purge), its holder's wrap included, no longer opens that case.
        day = date.fromisoformat(str(closed_key["retain_until"]))
        assert KeyRing.load(home / "var/keys.json").destroy_retention_before(day + timedelta(days=1)) > 0
        assert any(case_id == closed_key["case_id"] for case_id, _ in wraps)
        item = next(c for c in listed if c["reference"] == closed)
        assert http.get(f"/api/v1/cases/{item['id']}", headers=staff).json()["description"] is None
        item = next(c for c in listed if c["reference"] == first["reference"])
        assert http.get(f"/api/v1/cases/{item['id']}", headers=staff).json()["description"] == first["description"]


def _case_keys(database: str) -> dict[str, dict[str, Any]]:
    """Each case's key row by the case's reference, with its retention date."""
    engine = create_engine(database)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT c.reference, c.retain_until, k.* FROM case_keys k"
                                     " JOIN cases c ON c.id = k.case_id")).mappings().all()
    finally:
        engine.dispose()
    return {r["reference"]: {k: v for k, v in r.items() if k != "reference"} for r in rows}


def _wraps(database: str) -> list[tuple[Any, ...]]:
    engine = create_engine(database)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text("SELECT case_id, wrapped FROM case_key_wraps"
                                                        " ORDER BY case_id, holder, part"))]
    finally:
        engine.dispose()
