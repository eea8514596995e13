"""How long `seal-cases` takes to give cases from before case locks their lock (issue 27), in-process:

    .venv/bin/python -m bench.keys.seal                 # SQLite and PostgreSQL; writes bench/results/seal-locks.*

`--cases` cases (default 1,000) made as a version before locks left them (no lock; their wraps to
10 certified safeguarding users and the escrow key hold the case key itself), then:

- not yet sealed: the lock pass of `seal-cases` (`keyholders.lock_older_cases`, a transaction per
  batch of 200; each case opened through its master wrap), then the seal itself
  (`flows.seal_cases`: 10 wraps per case, the master wraps deleted);
- sealed before locks existed: the same cases made lockless again, then the lock pass alone, each
  case opened through the runner's own wrap.

Wall-clock seconds per 1,000 cases. PostgreSQL at 127.0.0.1:5432 (user postgres, trust), as the tests.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa

RESULTS = Path(__file__).resolve().parents[1] / "results"
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
READERS = 10


def measure(database_url: str, key_file: Path, cases: int) -> dict[str, Any]:
    from sqlalchemy import select

    from app import flows, migrate
    from app.audit.service import chain_key
    from app.auth.models import User
    from app.cases import intake, keyholders
    from app.cases.schemas import ReportIn
    from app.config import load_settings
    from app.crypto import escrow, holders, keys
    from app.crypto.envelope import unwrap_data_key
    from app.crypto.keyring import KeyRing
    from app.crypto.models import CaseKey
    from app.enums import Channel
    from app.main import create_app
    from bench.keys.run import safeguarding_users

    settings = load_settings(database_url=database_url, key_file=key_file, argon2_time_cost=1, argon2_memory_kib=8,
                             argon2_parallelism=1, require_2fa_roles="", report_rate="0")
    ring = KeyRing.load_or_create(settings.key_file)
    migrate.upgrade(settings.database_url, audit_key=chain_key(ring), ring_keys=keys.for_revisions(ring))
    app = create_app(settings)
    makers, ring = app.state.sessionmaker, app.state.keyring
    with makers() as s, s.begin():
        privates = safeguarding_users(s, app, settings, READERS)
        holders.turn_escrow_on(s, public=escrow.new_escrow_key().public)
        flows.finish(s)
    runner = next(iter(privates))
    report = ReportIn(description="My watch manager keeps making remarks about my religion in front of the crew.")
    for start in range(0, cases, 200):
        with makers() as s, s.begin():
            for _ in range(min(200, cases - start)):
                intake.create_case(s, ring, settings, data=report, channel=Channel.WEB)
    with makers() as s:
        deks = {r.case_id: unwrap_data_key(ring, r.case_id, r.kek_id, r.wrapped_key)
                for r in s.scalars(select(CaseKey)) if r.wrapped_key is not None}

    def before_locks() -> None:
        """Every case as a version before locks left it: no lock, wraps holding the key itself."""
        ids = sorted(deks)
        for start in range(0, len(ids), 200):
            with makers() as s, s.begin():
                publics = holders.public_keys_by_holder(s)
                for case_id in ids[start:start + 200]:
                    row = s.get(CaseKey, case_id)
                    assert row is not None
                    assert holders.rewrap_case(s, case_id, {"case": deks[case_id]}, publics)
                    row.lock_kek_id = row.lock_wrapped = None

    def lock_pass() -> tuple[float, int]:
        start, after, locked = time.perf_counter(), None, 0
        while True:
            with makers() as s, s.begin():
                holders.hold(s, runner, privates[runner])
                step = keyholders.lock_older_cases(s, ring, by=s.get(User, runner), after=after)
                flows.finish(s)
            if step.last is None:
                return time.perf_counter() - start, locked
            after, locked = step.last, locked + step.locked

    before_locks()
    unsealed_lock, locked_a = lock_pass()
    start = time.perf_counter()
    with makers() as s, s.begin():
        holders.hold(s, runner, privates[runner])
        moved, _ = flows.seal_cases(s, ring, user=s.get(User, runner))
        flows.finish(s)
    seal = time.perf_counter() - start
    before_locks()
    sealed_lock, locked_b = lock_pass()
    app.state.engine.dispose()
    assert locked_a == locked_b == moved == cases, (locked_a, locked_b, moved)
    per = 1000 / cases
    return {"cases": cases, "wraps_per_case": READERS + 1,
            "unsealed": {"lock_pass_s": round(unsealed_lock * per, 2), "seal_s": round(seal * per, 2)},
            "sealed_before": {"lock_pass_s": round(sealed_lock * per, 2)}}


def run(cases: int) -> dict[str, Any]:
    result: dict[str, Any] = {"load_average_before": round(os.getloadavg()[0], 2), "cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory() as tmp:
        result["sqlite"] = measure(f"sqlite:///{tmp}/bench.db", Path(tmp) / "keys.json", cases)
    name = f"safeshare_bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        with tempfile.TemporaryDirectory() as tmp:
            result["postgresql"] = measure(PG_ADMIN.rsplit("/", 1)[0] + f"/{name}", Path(tmp) / "keys.json", cases)
    finally:
        with admin.connect() as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    return result


def write_markdown(result: dict[str, Any], out: Path) -> None:
    lines = ["# `seal-cases`: locks for cases from before case locks (issue 27)", "",
             f"`.venv/bin/python -m bench.keys.seal`, in-process, {result['cpus']} CPUs shared with other work (load "
             f"average {result['load_average_before']} when it started). Seconds per 1,000 cases, each with "
             f"{result['sqlite']['wraps_per_case']} wraps ({READERS} safeguarding users and the escrow key).", "",
             "| database | lock pass, not yet sealed (master wraps) | then the seal itself | lock pass, sealed before "
             "(the runner's wraps) |", "| --- | ---: | ---: | ---: |"]
    for name in ("sqlite", "postgresql"):
        r = result[name]
        lines.append(f"| {name} | {r['unsealed']['lock_pass_s']:.2f} s | {r['unsealed']['seal_s']:.2f} s | "
                     f"{r['sealed_before']['lock_pass_s']:.2f} s |")
    lines += ["", "A case's lock costs one new key, one wrap of it by the ring and one X25519 wrap per existing",
              "wrap (re-made masked, one executemany UPDATE per case); the seal makes the same number of wraps."]
    out.write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--out", default=str(RESULTS / "seal-locks"))
    args = parser.parse_args()
    result = run(args.cases)
    Path(args.out + ".json").write_text(json.dumps(result, indent=2) + "\n")
    write_markdown(result, Path(args.out + ".md"))


if __name__ == "__main__":
    main()
