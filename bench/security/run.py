"""Abuse scenarios of issues 11 and 12 against a real `safeshare serve`, with clients bound to
addresses of 127.0.0.0/8 (the server listens on 127.0.0.1; nothing leaves the machine).

    .venv/bin/python -m bench.security.run [--backends sqlite,postgresql]

Settings are the defaults (2FA required for admin/safeguarding/hr, `SAFESHARE_REPORT_RATE`
10/hour), with fast argon2 parameters as in the round-1 measurements. Scenarios, each on a fresh
database:

- A. login lock-out: the owner signs in once (their client keeps the device cookie); 5 wrong
  passwords from 5 addresses, then the right one from a 6th (a client the account has never
  seen); then 120 wrong passwords from 40 more addresses; then the owner's own client.
- B. admin self-promotion: an admin (2FA set up) PATCHes their own roles to add safeguarding,
  then lists cases.
- C. receipt lock-out: 1,000 wrong receipts spread over 100 addresses, then the right receipt from
  a fresh address.
- D. report flood: 150 anonymous reports from one client, 10 at a time.

Writes bench/results/security.json and bench/results/security.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pyotp

from bench.reporter.run import ROOT, VENV_BIN, free_port, wait_ready

RESULTS = ROOT / "bench" / "results"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PASSWORD = "measurement password 1234"
REPORT = {"description": "My line manager keeps shouting at me in front of the crew and I dread every shift."}
FAST_ARGON2 = {"SAFESHARE_ARGON2_TIME_COST": "1", "SAFESHARE_ARGON2_MEMORY_KIB": "8", "SAFESHARE_ARGON2_PARALLELISM": "1"}


def counts(values: list[Any]) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        out[str(v)] = out.get(str(v), 0) + 1
    return dict(sorted(out.items()))


def client(address: str) -> httpx.Client:
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=60)


class Serve:
    def __init__(self, backend: str, extra_env: dict[str, str] | None = None) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="ss-security-"))
        self.db_name = None
        if backend == "sqlite":
            url = f"sqlite:///{self.tmp}/safeshare.db"
        else:
            import psycopg

            self.db_name = f"bench_security_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(PG_ADMIN, autocommit=True) as c:
                c.execute(f'CREATE DATABASE "{self.db_name}"')
            url = f"postgresql+psycopg://postgres@127.0.0.1/{self.db_name}"
        self.env = {**{k: v for k, v in os.environ.items() if not k.startswith("SAFESHARE_")}, **FAST_ARGON2,
                    "SAFESHARE_DATABASE_URL": url, "SAFESHARE_KEY_FILE": str(self.tmp / "keys.json"),
                    "SAFESHARE_LOG_LEVEL": "WARNING", **(extra_env or {})}
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = open(self.tmp / "server.log", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen([str(VENV_BIN / "safeshare"), "serve", "--port", str(self.port)], env=self.env,
                                     cwd=self.tmp, stdout=self.log, stderr=self.log, start_new_session=True)
        wait_ready(self.base + "/api/v1/themes")

    def user(self, email: str, *roles: str) -> None:
        args = [str(VENV_BIN / "safeshare"), "create-user", email, "--password-stdin"]
        for role in roles:
            args += ["--role", role]
        subprocess.run(args, env=self.env, input=PASSWORD + "\n", text=True, check=True, capture_output=True, cwd=self.tmp)

    def stop(self) -> None:
        os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(timeout=30)
        self.log.close()
        if self.db_name:
            import psycopg

            with psycopg.connect(PG_ADMIN, autocommit=True) as c:
                c.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')


def outcome(r: httpx.Response) -> dict[str, Any]:
    return {"status": r.status_code, "retry_after": r.headers.get("retry-after")}


def login_lockout(s: Serve) -> dict[str, Any]:
    s.user("hr@example.org", "leadership")  # a role without required 2FA: the password alone signs in
    url = s.base + "/api/v1/auth/login"
    right = {"email": "hr@example.org", "password": PASSWORD}
    wrong = {"email": "hr@example.org", "password": "wrong password 0000"}
    with client("127.0.4.100") as owner:
        first = owner.post(url, json=right).status_code
        five = []
        for i in range(1, 6):
            with client(f"127.0.4.{i}") as c:
                five.append(c.post(url, json=wrong).status_code)
        with client("127.0.4.6") as sixth:
            stranger = outcome(sixth.post(url, json=right))
        more = []
        for i in range(40):
            with client(f"127.0.5.{i + 1}") as c:
                more += [c.post(url, json=wrong).status_code for _ in range(3)]
        mine = outcome(owner.post(url, json=right))
    return {"owner_first_sign_in": first, "wrong_from_5_addresses": five, "right_password_6th_address": stranger,
            "wrong_from_40_more_addresses": counts(more), "owner_after_all_that": mine}


def self_promotion(s: Serve) -> dict[str, Any]:
    s.user("admin@example.org", "admin")
    s.user("admin2@example.org", "admin")
    with httpx.Client(base_url=s.base, timeout=60) as c:
        token = c.post("/api/v1/auth/login", json={"email": "admin@example.org", "password": PASSWORD}).json()["token"]
        h = {"Authorization": f"Bearer {token}"}
        restricted = c.get("/api/v1/users", headers=h).status_code
        secret = c.post("/api/v1/auth/totp/setup", headers=h).json()["secret"]
        c.post("/api/v1/auth/totp/confirm", json={"code": pyotp.TOTP(secret).now()}, headers=h).raise_for_status()
        me = c.get("/api/v1/auth/me", headers=h).json()
        before = c.get("/api/v1/cases", headers=h).status_code
        r = c.patch(f"/api/v1/users/{me['id']}", json={"roles": ["admin", "safeguarding"]}, headers=h)
        after = c.get("/api/v1/cases", headers=h).status_code
    return {"before_2fa_set_up_get_users": restricted, "get_cases_before": before,
            "patch_own_roles": {"status": r.status_code, "type": r.json().get("type")}, "get_cases_after": after}


async def _wrong_from(base: str, address: str, n: int, sem: asyncio.Semaphore) -> list[int]:
    async with sem, httpx.AsyncClient(base_url=base, transport=httpx.AsyncHTTPTransport(local_address=address), timeout=120) as c:
        out = []
        for _ in range(n):
            receipt = "-".join(secrets.token_hex(2).upper() for _ in range(6))
            out.append((await c.post("/api/v1/reporter/session", json={"receipt": receipt})).status_code)
        return out


def receipt_lockout(s: Serve) -> dict[str, Any]:
    with client("127.0.1.200") as c:
        receipt = c.post(s.base + "/api/v1/reports", json=REPORT).json()["receipt"]

    async def many() -> list[list[int]]:
        sem = asyncio.Semaphore(10)
        return await asyncio.gather(*(_wrong_from(s.base, f"127.0.1.{i + 1}", 10, sem) for i in range(100)))

    t = time.perf_counter()
    statuses = asyncio.run(many())
    took = time.perf_counter() - t
    with client("127.0.2.1") as fresh:
        right = outcome(fresh.post(s.base + "/api/v1/reporter/session", json={"receipt": receipt}))
    with client("127.0.1.7") as guilty:
        again = outcome(guilty.post(s.base + "/api/v1/reporter/session", json={"receipt": receipt}))
    return {"wrong_sent": 1000, "wrong_status": counts([x for g in statuses for x in g]), "took_s": round(took, 1),
            "right_receipt_fresh_address": right, "right_receipt_from_a_guessing_address": again}


def report_flood(s: Serve) -> dict[str, Any]:
    async def flood() -> list[int]:
        queue = list(range(150))
        statuses: list[int] = []
        async with httpx.AsyncClient(base_url=s.base, timeout=120, limits=httpx.Limits(max_connections=10),
                                     transport=httpx.AsyncHTTPTransport(local_address="127.0.3.1")) as c:
            async def worker() -> None:
                while queue:
                    i = queue.pop()
                    statuses.append((await c.post("/api/v1/reports", json={"description": f"{REPORT['description']} ({i})"})).status_code)
            await asyncio.gather(*(worker() for _ in range(10)))
        return statuses

    t = time.perf_counter()
    statuses = asyncio.run(flood())
    took = time.perf_counter() - t
    with client("127.0.3.2") as other:
        another = other.post(s.base + "/api/v1/reports", json=REPORT).status_code
    return {"sent": 150, "status": counts(statuses), "took_s": round(took, 2), "another_client": another}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backends", default="sqlite,postgresql")
    p.add_argument("--scenarios", default="A,B,C,D", help="which of A, B, C, D to run")
    p.add_argument("--no-write", action="store_true", help="print only; leave bench/results alone")
    args = p.parse_args()
    results: dict[str, Any] = {}
    for backend in args.backends.split(","):
        out: dict[str, Any] = {}
        for name, scenario in (("A_login_lockout", login_lockout), ("B_admin_self_promotion", self_promotion),
                               ("C_receipt_lockout", receipt_lockout), ("D_report_flood", report_flood)):
            if name[0] not in args.scenarios.split(","):
                continue
            s = Serve(backend)
            try:
                out[name] = scenario(s)
            finally:
                s.stop()
            print(backend, name, json.dumps(out[name]), flush=True)
        results[backend] = out
    if args.no_write:
        return
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "security.json").write_text(json.dumps(results, indent=2) + "\n")
    lines = ["# Abuse scenarios (bench/security/run.py)", "",
             f"`{' '.join([Path(sys.executable).name, '-m', 'bench.security.run', '--backends', args.backends])}`,"
             " default settings, fast argon2, clients bound to 127.0.0.0/8 addresses.", ""]
    for backend, out in results.items():
        lines += [f"## {backend}", "", "```json", json.dumps(out, indent=2), "```", ""]
    (RESULTS / "security.md").write_text("\n".join(lines))


if __name__ == "__main__":
    main()
