"""Make the upgrade test's starting point: a small deployment as a released version left it.

Run with the code of the version to upgrade FROM (the fixture in this folder was made by main at
the commit named in `fixture.json`, before issue 26), never with newer code:

    .venv/bin/python tests/data/upgrade/make_fixture.py tests/data/upgrade

It builds the deployment through that version's own API (staff, reports, triage, an HR contact,
messages both ways, a note, a closed case with feedback), then writes what `safeshare backup`
of that version writes: `sqlite.backup` and `postgresql.backup` (pg_dump's custom format), the
key ring `keys.json`, and `fixture.json` with what the test signs in with and expects to read.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

PG_ADMIN = os.environ.get("SAFESHARE_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
PASSWORD = "upgrade fixture passphrase 7"


def build(url: str, key_file: Path) -> dict[str, Any]:
    from app import flows, migrate
    from app.audit.service import Actor
    from app.auth import service as auth
    from app.config import load_settings
    from app.enums import Role
    from app.main import create_app

    migrate.upgrade(url)
    settings = load_settings(database_url=url, key_file=key_file, require_2fa_roles="", report_rate="0",
                             argon2_time_cost=1, argon2_memory_kib=8, argon2_parallelism=1)
    app = create_app(settings)
    people = {"safeguarding": "sam.patel@example.org", "hr": "hana.ross@example.org"}
    with app.state.sessionmaker() as s, s.begin():
        for role, email in people.items():
            auth.create_user(s, app.state.passwords, email=email, name=email.split("@")[0], password=PASSWORD,
                             roles=[Role(role)], by=Actor.system("fixture"))
        flows.finish(s)  # the notices of the new accounts join the outbox
    cases = []
    with TestClient(app) as client:
        def login(email: str) -> dict[str, str]:
            r = client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
            r.raise_for_status()
            return {"Authorization": "Bearer " + r.json()["token"]}

        sg, hr = login(people["safeguarding"]), login(people["hr"])
        hr_id = client.get("/api/v1/auth/me", headers=hr).json()["id"]
        bodies = [
            {"description": "My watch manager shouts at me in front of the crew every shift."},
            {"description": "I am worried about a colleague's drinking before night shifts.", "about": "colleague"},
            {"description": "Things at home are frightening; I need to talk to someone.", "anonymous": False,
             "reporter": {"name": "Alex Example", "email": "alex@example.org"}},
        ]
        for body in bodies:
            r = client.post("/api/v1/reports", json=body)
            r.raise_for_status()
            cases.append({"reference": r.json()["reference"], "receipt": r.json()["receipt"],
                          "description": body["description"]})
        listed = client.get("/api/v1/cases", headers=sg, params={"page_size": 100}).json()["items"]
        ids = {c["reference"]: c["id"] for c in listed}
        first, second = ids[cases[0]["reference"]], ids[cases[1]["reference"]]
        client.patch(f"/api/v1/cases/{first}", headers=sg, json={"primary_theme": "bullying"}).raise_for_status()
        client.put(f"/api/v1/cases/{first}/hr-contact", headers=sg, json={"user_id": hr_id}).raise_for_status()
        client.post(f"/api/v1/cases/{first}/messages", headers=hr, json={"body": "Thank you for telling us."}
                    ).raise_for_status()
        client.post(f"/api/v1/cases/{first}/notes", headers=sg, json={"body": "Spoke to the station manager."}
                    ).raise_for_status()
        token = client.post("/api/v1/reporter/session", json={"receipt": cases[0]["receipt"]}).json()["token"]
        client.post("/api/v1/reporter/messages", headers={"Authorization": f"Bearer {token}"},
                    json={"body": "It happened again today."}).raise_for_status()
        client.post(f"/api/v1/cases/{second}/close", headers=sg,
                    json={"outcome": "signposted", "summary": "Signposted to occupational health."}
                    ).raise_for_status()
        token = client.post("/api/v1/reporter/session", json={"receipt": cases[1]["receipt"]}).json()["token"]
        client.post("/api/v1/reporter/feedback", headers={"Authorization": f"Bearer {token}"}, json={
            "ratings": {"listened_to": 5, "kept_informed": 4, "support_suitable": 4, "would_recommend": 5}}
        ).raise_for_status()
    app.state.engine.dispose()
    cases[0]["messages"] = ["Thank you for telling us.", "It happened again today."]
    cases[0]["notes"] = ["Spoke to the station manager."]
    cases[1]["status"] = "closed"
    return {"staff": people, "password": PASSWORD, "cases": cases}


def backup(url: str, key_file: Path, target: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFESHARE_")}
    env |= {"SAFESHARE_DATABASE_URL": url, "SAFESHARE_KEY_FILE": str(key_file)}
    exe = Path(sys.executable).with_name("safeshare")
    subprocess.run([str(exe), "backup", str(target)], env=env, check=True, capture_output=True)


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    key_file = out / "keys.json"
    key_file.unlink(missing_ok=True)
    work = out / "work"
    work.mkdir(exist_ok=True)
    sqlite_url = f"sqlite:///{work / 'fixture.db'}"
    facts = build(sqlite_url, key_file)
    backup(sqlite_url, key_file, out / "sqlite.backup")
    # The same story on PostgreSQL, sealed with the same key ring.
    name = f"safeshare_fixture_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    pg_url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    try:
        pg_facts = build(pg_url, key_file)
        backup(pg_url, key_file, out / "postgresql.backup")
    finally:
        with admin.connect() as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    for leftover in work.iterdir():
        leftover.unlink()
    work.rmdir()
    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    (out / "fixture.json").write_text(json.dumps(
        {"made_by_commit": commit, "sqlite": facts, "postgresql": pg_facts}, indent=2) + "\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
