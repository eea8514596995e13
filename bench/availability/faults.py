"""Fault injection (issue 12, item 6): kill the database, or the process that writes it, at random
moments during a stream of submissions, and count what was lost.

    .venv/bin/python -m bench.availability.faults --backend sqlite --trials 200
    .venv/bin/python -m bench.availability.faults --backend postgresql --trials 200 --restart-every 10

A real `safeshare serve` takes reports from a few clients at once, each `POST /api/v1/reports`
with an `Idempotency-Key`, retried with the same key after a connection error or a 503 (as a
client should). At a random moment in each trial:

- **sqlite**: the server process, SQLite's only writer, is killed with SIGKILL and started again;
- **postgresql**: every backend serving the database is ended with `pg_terminate_backend`; with
  `--restart-every N`, every Nth trial instead stops the PostgreSQL server in `immediate` mode
  (no shutdown checkpoint: a crash, recovered from the WAL) and starts it again. The PostgreSQL
  trials run on a private cluster this command creates and removes (`initdb` as user
  `postgres`, trust authentication on 127.0.0.1), so the machine's own server is never touched;
  `--database-url` runs the terminate-only trials against an existing server instead.

Results: acknowledged submissions lost (a 201 whose case is missing, or whose description does
not decrypt to what was sent: must be 0), partial cases (a case without its data key, its
description or its `case.create` audit entry: must be 0), duplicates (two cases from one
Idempotency-Key: must be 0), the audit chain, and how long the service took to accept a report
again after each fault. Written to `bench/results/faults-<backend>.md` and `.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent.parent
VENV_BIN = Path(sys.executable).parent
PG_BIN = Path("/usr/lib/postgresql") / (sorted(os.listdir("/usr/lib/postgresql"))[-1] if Path("/usr/lib/postgresql").is_dir() else "x") / "bin"
TEXT = "Fault trial {key}: my line manager keeps shouting at me in front of the crew and I dread every shift."


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Serve:
    """`safeshare serve` in a process group of its own, killed with SIGKILL on demand."""

    def __init__(self, safeshare: str, env: dict[str, str], port: int, log: Path) -> None:
        self.cmd = [safeshare, "serve", "--port", str(port)]
        self.env = {**{k: v for k, v in os.environ.items() if not k.startswith("SAFESHARE_")}, **env}
        self.base = f"http://127.0.0.1:{port}"
        self.log = open(log, "ab")  # noqa: SIM115 - closed in stop()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(self.cmd, env=self.env, stdout=self.log, stderr=self.log, cwd=tempfile.gettempdir(),
                                     start_new_session=True)

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.base + "/api/v1/themes", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError("safeshare serve did not start")

    def kill(self) -> None:
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()


@dataclass
class Stream:
    """Clients submitting reports until stopped; what each was told."""

    base: str
    acknowledged: dict[str, str] = field(default_factory=dict)  # reference -> the text sent
    acked_at: list[float] = field(default_factory=list)
    held_by_killed_request: int = 0  # 409: the key's first request died with the process
    unexpected: dict[str, int] = field(default_factory=dict)
    retries: int = 0
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def submit_forever(self) -> None:
        client = httpx.Client(base_url=self.base, timeout=30)
        while not self.stop.is_set():
            key = str(uuid.uuid4())
            text = TEXT.format(key=key)
            conflicts = 0
            deadline = time.monotonic() + 60
            while not self.stop.is_set() and time.monotonic() < deadline:
                try:
                    r = client.post("/api/v1/reports", json={"description": text}, headers={"Idempotency-Key": key})
                except httpx.HTTPError:
                    client.close()
                    client = httpx.Client(base_url=self.base, timeout=30)
                    self.retries += 1
                    time.sleep(0.05)
                    continue
                if r.status_code == 201:
                    with self.lock:
                        self.acknowledged[r.json()["reference"]] = text
                        self.acked_at.append(time.monotonic())
                    break
                if r.status_code == 503:
                    self.retries += 1
                    time.sleep(0.05)
                    continue
                if r.status_code == 409 and conflicts < 3:
                    conflicts += 1
                    time.sleep(0.2)
                    continue
                with self.lock:
                    if r.status_code == 409:
                        self.held_by_killed_request += 1
                    else:
                        self.unexpected[str(r.status_code)] = self.unexpected.get(str(r.status_code), 0) + 1
                break
        client.close()

    def first_ack_after(self, moment: float, timeout: float = 120) -> float | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                later = [t for t in self.acked_at[-200:] if t > moment]
            if later:
                return min(later) - moment
            time.sleep(0.01)
        return None


# --- PostgreSQL: a private cluster, so restarts touch nobody else ----------------------------------


class PrivateCluster:
    def __init__(self, workdir: Path) -> None:
        self.data = workdir / "pgdata"
        self.port = free_port()
        self.socket_dir = workdir / "pgsock"
        for d in (self.data, self.socket_dir):
            d.mkdir(parents=True)
        shutil.chown(workdir, "postgres")
        for d in (self.data, self.socket_dir):
            shutil.chown(d, "postgres")
        self._as_postgres([str(PG_BIN / "initdb"), "-D", str(self.data), "--auth=trust", "-U", "postgres"])
        self.start()

    def _as_postgres(self, cmd: list[str]) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run(prefix + cmd, check=True, capture_output=True, cwd="/tmp")

    def start(self) -> None:
        self._as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-w", "-l", str(self.data / "log"), "-o",
                           f"-p {self.port} -k {self.socket_dir} -c listen_addresses=127.0.0.1", "start"])

    def crash(self) -> None:
        """Stop without a shutdown checkpoint (`immediate`): the next start recovers from the WAL."""
        self._as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"])

    def stop(self) -> None:
        self._as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "stop"])

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"


@contextmanager
def postgres_database(workdir: Path, server_url: str | None) -> Iterator[tuple[str, PrivateCluster | None]]:
    """(SQLAlchemy URL of a fresh database, the private cluster or None)."""
    import psycopg

    cluster = None if server_url else PrivateCluster(workdir)
    admin = server_url or (cluster.admin_url if cluster else "")
    admin = admin.replace("postgresql+psycopg://", "postgresql://")
    name = f"safeshare_faults_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + f"/{name}", cluster
    finally:
        try:
            with psycopg.connect(admin, autocommit=True) as c:
                c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            if cluster is not None:
                cluster.stop()


def terminate_backends(url: str) -> int:
    import psycopg

    libpq = url.replace("postgresql+psycopg://", "postgresql://")
    name = libpq.rsplit("/", 1)[1]
    with psycopg.connect(libpq.rsplit("/", 1)[0] + "/postgres", autocommit=True) as c:
        rows = c.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                         (name,)).fetchall()
    return len(rows)


# --- the run -----------------------------------------------------------------------------------------


def run(backend: str, trials: int, *, workdir: Path, restart_every: int = 0, clients: int = 4, seed: int = 1,
        database_url: str | None = None, safeshare: str | None = None) -> dict[str, Any]:
    """Run `trials` faults; returns the figures (see the module's docstring)."""
    rng = random.Random(seed)
    safeshare = safeshare or str(VENV_BIN / "safeshare")
    key_file = workdir / "keys.json"
    if backend == "sqlite":
        ctx: Any = _nothing(f"sqlite:///{workdir}/safeshare.db", None)
    else:
        ctx = postgres_database(workdir, database_url)
    with ctx as (url, cluster):
        env = {"SAFESHARE_DATABASE_URL": url, "SAFESHARE_KEY_FILE": str(key_file), "SAFESHARE_LOG_LEVEL": "WARNING",
               # Every report comes from this one client: the per-client report rate (issue 11) is off.
               "SAFESHARE_REPORT_RATE": "0"}
        server = Serve(safeshare, env, free_port(), workdir / "server.log")
        server.start()
        server.wait_ready()
        stream = Stream(server.base)
        threads = [threading.Thread(target=stream.submit_forever, daemon=True) for _ in range(clients)]
        for t in threads:
            t.start()
        records: list[dict[str, Any]] = []
        try:
            for i in range(trials):
                time.sleep(rng.uniform(0.05, 0.6))  # a random moment in the stream
                kind = ("restart" if restart_every and (i + 1) % restart_every == 0 else "terminate") \
                    if backend == "postgresql" else "kill -9"
                # `moment` is when the database is down: recovery is measured from there.
                if backend == "sqlite":
                    server.kill()
                    moment = time.monotonic()
                    server.start()
                elif kind == "restart":
                    assert cluster is not None
                    cluster.crash()
                    moment = time.monotonic()
                    cluster.start()
                else:
                    terminate_backends(url)
                    moment = time.monotonic()
                again = stream.first_ack_after(moment)
                records.append({"trial": i + 1, "fault": kind, "served_again_s": None if again is None else round(again, 3)})
                if again is None:
                    break  # never came back: stop and report it
        finally:
            stream.stop.set()
            for t in threads:
                t.join(timeout=90)
            server.stop()
        figures = verify(url, key_file, stream.acknowledged)
        figures["server_errors"] = _logged_errors(workdir / "server.log")
    recoveries = [r["served_again_s"] for r in records if r["served_again_s"] is not None]
    by_kind: dict[str, list[float]] = {}
    for r in records:
        if r["served_again_s"] is not None:
            by_kind.setdefault(r["fault"], []).append(r["served_again_s"])
    return {
        "backend": backend,
        "trials": len(records),
        "never_served_again": sum(1 for r in records if r["served_again_s"] is None),
        "acknowledged": len(stream.acknowledged),
        **figures,
        "held_by_killed_request_409": stream.held_by_killed_request,
        "unexpected_statuses": stream.unexpected,
        "client_retries": stream.retries,
        "served_again_s": _summary(recoveries),
        "served_again_s_by_fault": {k: _summary(v) for k, v in by_kind.items()},
        "records": records,
    }


def _logged_errors(log: Path) -> dict[str, int]:
    """How many errors of each type the server logged (its JSON lines; types only, never text)."""
    found: dict[str, int] = {}
    for line in log.read_text(errors="replace").splitlines():
        try:
            doc = json.loads(line)
        except ValueError:
            continue
        if isinstance(doc, dict) and doc.get("level") in ("error", "warning") and doc.get("error_type"):
            name = f"{doc.get('message')}: {doc.get('error_type')}"
            found[name] = found.get(name, 0) + 1
    return found


@contextmanager
def _nothing(url: str, cluster: None) -> Iterator[tuple[str, None]]:
    yield url, cluster


def _summary(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)
    return {"median": round(statistics.median(ordered), 3),
            "p95": round(ordered[min(len(ordered) - 1, int(0.95 * (len(ordered) - 1) + 0.5))], 3),
            "max": round(ordered[-1], 3)}


def verify(url: str, key_file: Path, acknowledged: dict[str, str]) -> dict[str, Any]:
    """Every acknowledged report stored whole; no partial case; no duplicate; the audit chain intact."""
    sys.path.insert(0, str(ROOT))
    from sqlalchemy import func, select

    from app.audit import service as audit
    from app.audit.models import AuditEvent
    from app.cases.models import Case
    from app.crypto import fields, keys
    from app.crypto.keyring import KeyRing
    from app.crypto.models import CaseKey
    from app.db import make_engine, make_sessionmaker

    ring = KeyRing.load(key_file)
    engine = make_engine(url)
    lost, partial = [], []
    try:
        from app.audit.service import chain_key

        with make_sessionmaker(engine, audit_key=chain_key(ring))() as s:
            cases = {c.reference: c for c in s.scalars(select(Case))}
            keyed = {k.case_id for k in s.scalars(select(CaseKey).where(CaseKey.wrapped_key.is_not(None)))}
            created = set(s.scalars(select(AuditEvent.case_id).where(AuditEvent.action == "case.create")))
            texts: dict[str, int] = {}
            for case in cases.values():
                if case.id not in keyed or case.description_ct is None or case.id not in created:
                    partial.append(case.reference)
                    continue
                text = keys.case_cipher(s, ring, case.id).decrypt(fields.CASE_DESCRIPTION, case.id, case.description_ct)
                texts[text] = texts.get(text, 0) + 1
            for reference, text in acknowledged.items():
                case = cases.get(reference)
                if case is None or texts.get(text, 0) == 0:
                    lost.append(reference)
            intact, entries, _ = audit.verify(s)
            total = s.scalar(select(func.count()).select_from(Case)) or 0
            integrity = "ok"
            if url.startswith("sqlite"):
                integrity = str(s.connection().exec_driver_sql("PRAGMA integrity_check").scalar())
    finally:
        engine.dispose()
    return {
        "acknowledged_lost": len(lost), "lost_references": lost[:20],
        "partial_cases": len(partial), "partial_references": partial[:20],
        "duplicates": sum(n - 1 for n in texts.values() if n > 1),
        "cases_stored": total, "stored_not_acknowledged": total - len(acknowledged) - len(partial),
        "audit_chain": {"intact": intact, "entries": entries}, "sqlite_integrity_check": integrity,
    }


def write_markdown(result: dict[str, Any], args: argparse.Namespace, path: Path) -> None:
    r = result
    lines = [
        f"# Fault injection — {r['backend']}, latest results",
        "",
        f"Run on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores; command: "
        f"`python -m bench.availability.faults --backend {r['backend']} --trials {args.trials}"
        f"{f' --restart-every {args.restart_every}' if args.restart_every else ''} --clients {args.clients}`.",
        "",
        "| figure | value | must be |",
        "| --- | ---: | --- |",
        f"| trials (faults injected) | {r['trials']} | {args.trials} |",
        f"| submissions acknowledged (201) | {r['acknowledged']} | |",
        f"| **acknowledged submissions lost** | **{r['acknowledged_lost']}** | 0 |",
        f"| **partial cases** (no data key, description or audit entry) | **{r['partial_cases']}** | 0 |",
        f"| duplicate cases from one Idempotency-Key | {r['duplicates']} | 0 |",
        f"| audit chain after the run | {'intact' if r['audit_chain']['intact'] else 'BROKEN'}, {r['audit_chain']['entries']} entries | intact |",
        f"| SQLite integrity_check | {r['sqlite_integrity_check']} | ok |",
        f"| cases stored but never acknowledged (the client gave up or retried into a replay) | {r['stored_not_acknowledged']} | any |",
        f"| keys still held by a killed request (409 after three tries) | {r['held_by_killed_request_409']} | any |",
        f"| other statuses met | {r['unexpected_statuses'] or 'none'} | none |",
        f"| errors the server logged (type only) | {r['server_errors'] or 'none'} | |",
        f"| faults after which no report was accepted within 120 s | {r['never_served_again']} | 0 |",
        "",
        "Time from the fault to the next accepted report (seconds):",
        "",
        "| fault | trials | median | p95 | max |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    counts: dict[str, int] = {}
    for rec in r["records"]:
        counts[rec["fault"]] = counts.get(rec["fault"], 0) + 1
    for kind, s in r["served_again_s_by_fault"].items():
        lines.append(f"| {kind} | {counts.get(kind, 0)} | {s.get('median')} | {s.get('p95')} | {s.get('max')} |")
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    ap.add_argument("--trials", type=int, default=200)
    ap.add_argument("--restart-every", type=int, default=0, help="postgresql: every Nth fault restarts the server")
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--database-url", default=None, help="postgresql: an existing server's admin URL (no restarts)")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix=f"ss-faults-{args.backend}-"))
    try:
        result = run(args.backend, args.trials, workdir=workdir, restart_every=args.restart_every, clients=args.clients,
                     seed=args.seed, database_url=args.database_url)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    out = Path(args.out or ROOT / "bench" / "results" / f"faults-{args.backend}")
    out.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    write_markdown(result, args, out.with_suffix(".md"))
    sys.stdout.write(out.with_suffix(".md").read_text())


if __name__ == "__main__":
    main()
