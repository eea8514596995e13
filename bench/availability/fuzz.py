"""A long schema-driven fuzzing campaign over the ASGI app (the suite runs 6 examples per operation).

    .venv/bin/python -m bench.availability.fuzz [--backend sqlite|postgresql] [--examples 200] [--seed 12]

Builds the app on a fresh database, signs in a staff user holding every role and a reporter,
and runs `tests/fuzzing.py` with the given budget. Writes `bench/results/fuzz-<backend>.md`.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    ap.add_argument("--examples", type=int, default=200)
    ap.add_argument("--seed", type=int, default=12)
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    import sqlalchemy as sa
    from fastapi.testclient import TestClient

    from app import flows, migrate
    from app.audit.service import Actor
    from app.auth import service as auth
    from app.config import load_settings
    from app.enums import Role
    from app.main import create_app
    from tests import fuzzing

    tmp = Path(tempfile.mkdtemp(prefix="ss-fuzz-"))
    name = f"safeshare_fuzz_{uuid.uuid4().hex[:8]}"
    if args.backend == "sqlite":
        url = f"sqlite:///{tmp}/safeshare.db"
    else:
        admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(sa.text(f'CREATE DATABASE "{name}"'))
        url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    try:
        migrate.upgrade(url)
        settings = load_settings(database_url=url, key_file=tmp / "keys.json", argon2_time_cost=1, argon2_memory_kib=8,
                                 argon2_parallelism=1, login_max_failures=10**6, receipt_max_failures=10**6,
                                 require_2fa_roles="", report_rate="0")  # one client, one password-only account
        app = create_app(settings)
        logging.getLogger().setLevel("ERROR")
        client = TestClient(app, raise_server_exceptions=False)
        with app.state.sessionmaker() as s, s.begin():
            auth.create_user(s, app.state.passwords, email="fuzz@example.org", name="Fuzz", roles=list(Role),
                             password="correct horse battery staple", by=Actor.system("fuzz"))
            flows.finish(s)  # the notices of the new accounts join the outbox
        staff = client.post("/api/v1/auth/login", json={"email": "fuzz@example.org",
                                                        "password": "correct horse battery staple"}).json()["token"]
        receipt = client.post("/api/v1/reports", json={"description": "One case to follow up."}).json()["receipt"]
        reporter = client.post("/api/v1/reporter/session", json={"receipt": receipt}).json()["token"]
        start = time.monotonic()
        campaign = fuzzing.run(app, staff_token=staff, reporter_token=reporter, examples=args.examples,
                               random_seed=args.seed)
        took = time.monotonic() - start
        app.state.engine.dispose()
    finally:
        if args.backend == "postgresql":
            with admin.connect() as c:
                c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    lines = [
        f"# Fuzzing campaign — {args.backend}, latest results", "",
        f"Run on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: `python -m bench.availability.fuzz --backend "
        f"{args.backend} --examples {args.examples} --seed {args.seed}`; {campaign.operations} operations, "
        f"{args.examples} examples per operation and mode (positive, negative), {took:.0f} s.", "",
        f"**Failures: {len(campaign.failures)}** (server errors, or answers that do not match the OpenAPI document).", "",
    ]
    for label, text in campaign.failures.items():
        lines += [f"## {label}", "", "```", text, "```", ""]
    out = ROOT / "bench" / "results" / f"fuzz-{args.backend}.md"
    out.write_text("\n".join(lines) + "\n")
    sys.stdout.write(out.read_text())


if __name__ == "__main__":
    main()
