"""Reporter-journey benchmark: `safeshare serve --workers 2` on PostgreSQL and on SQLite, driven by
wrk from the same machine, beside a bare FastAPI + SQLAlchemy insert endpoint (the floor).

    .venv/bin/python -m bench.reporter.run [--duration 10] [--rounds 5] [--connections 16] [--backends postgresql,sqlite]

Writes bench/results/reporter.md (and .json). Needs wrk (Debian package `wrk`) and, for the
PostgreSQL half, a server at 127.0.0.1:5432 with user postgres (the bench creates and drops
its own database).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
VENV_BIN = Path(sys.executable).parent
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
BODY = json.dumps({
    "description": "My line manager keeps shouting at me in front of the crew and I dread every shift. " * 4,
    "about": "self",
    "wishes": ["talk"],
})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url: str, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except Exception:  # noqa: BLE001
            time.sleep(0.3)
    raise RuntimeError(f"server at {url} did not start")


def post(url: str, body: dict) -> dict:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def warm(url: str, body: dict, n: int = 8) -> None:
    """Send a few requests at once before the clock starts, so each uvicorn worker has opened its
    database connections and run every code path once: a short run (the suite's one second) must
    not be spent on cold starts, and a long one should not count them."""
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(n) as pool:
        list(pool.map(lambda _: post(url, body), range(n)))


def with_children(pid: int) -> list[int]:
    """A process and its children (the uvicorn workers)."""
    try:
        return [pid, *map(int, subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split())]
    except FileNotFoundError:
        return [pid]


def peak_rss_kib(pid: int) -> int:
    """Peak resident memory of a process and its children (the uvicorn workers)."""
    total = 0
    for p in with_children(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process and its children (the uvicorn workers) have used so far."""
    ticks = 0
    for p in with_children(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat(5))
    return ticks / os.sysconf("SC_CLK_TCK")


def steal_and_total() -> tuple[int, int]:
    """The machine's stolen and total CPU ticks so far (/proc/stat): time a shared host gave others."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError):
        return 0, 0
    return (values[7] if len(values) > 7 else 0), sum(values[:8])


def wrk_timed(server: Server, url: str, script: Path, duration: int, connections: int, env: dict[str, str]) -> dict:
    """`wrk`, with the server's CPU time per answered request and the share of the machine's time
    its host gave to others meanwhile (steal)."""
    cpu, (steal, total) = cpu_seconds(server.proc.pid), steal_and_total()
    result = wrk(url, script, duration, connections, env)
    cpu = cpu_seconds(server.proc.pid) - cpu
    steal2, total2 = steal_and_total()
    result["server_cpu_ms_per_request"] = round(1000 * cpu / result["requests"], 2) if result["requests"] else None
    result["steal_percent"] = round(100 * (steal2 - steal) / (total2 - total), 1) if total2 > total else None
    return result


def wrk(url: str, script: Path, duration: int, connections: int, env: dict[str, str]) -> dict:
    combined = Path(tempfile.mktemp(suffix=".lua"))
    combined.write_text(script.read_text() + "\n" + (HERE / "report_status.lua").read_text())
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--timeout", "10s", "-s", str(combined), url]
    out = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **env}).stdout
    combined.unlink()
    m = re.search(r"STATS requests=(\d+) duration_us=(\d+) p50_us=(\d+) p99_us=(\d+) non2xx=(\d+) errors=(\d+)", out)
    if not m:
        raise RuntimeError(f"wrk gave no stats:\n{out}")
    req, dur, p50, p99, bad, err = map(int, m.groups())
    return {
        "command": " ".join(cmd),
        "requests": req,
        "rps": round(req / (dur / 1e6), 1),
        "p50_ms": round(p50 / 1000, 1),
        "p99_ms": round(p99 / 1000, 1),
        "non_2xx": bad,
        "socket_errors": err,
    }


class Server:
    def __init__(self, cmd: list[str], env: dict[str, str], ready_path: str, port: int) -> None:
        self.port = port
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(cmd, env={**os.environ, **env}, cwd=ROOT, stdout=self.log, stderr=self.log,
                                     start_new_session=True)
        wait_ready(f"http://127.0.0.1:{port}{ready_path}")

    def stop(self) -> int:
        rss = peak_rss_kib(self.proc.pid)
        os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(timeout=30)
        return rss


def database(backend: str, tmp: Path) -> tuple[str, str, callable]:
    """(safeshare url, floor url, cleanup)."""
    if backend == "sqlite":
        return f"sqlite:///{tmp}/safeshare.db", f"sqlite:///{tmp}/floor.db", lambda: None
    import psycopg

    names = [f"bench_{uuid.uuid4().hex[:8]}", f"bench_floor_{uuid.uuid4().hex[:8]}"]
    with psycopg.connect(PG_ADMIN, autocommit=True) as c:
        for n in names:
            c.execute(f'CREATE DATABASE "{n}"')

    def cleanup() -> None:
        with psycopg.connect(PG_ADMIN, autocommit=True) as c:
            for n in names:
                c.execute(f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)')

    return (f"postgresql+psycopg://postgres@127.0.0.1/{names[0]}",
            f"postgresql+psycopg://postgres@127.0.0.1/{names[1]}", cleanup)


def audit_chain(url: str, key_file: Path) -> dict:
    """Walk the audit chain the load wrote: both workers appending at once must leave it unbroken.
    The chain is an HMAC under the key ring's audit key, so the walk needs the server's ring."""
    from app.audit import service as audit
    from app.crypto.keyring import KeyRing
    from app.db import make_engine, make_sessionmaker

    engine = make_engine(url)
    try:
        with make_sessionmaker(engine, audit_key=audit.chain_key(KeyRing.load(key_file)))() as session:
            intact, entries, _ = audit.verify(session)
    finally:
        engine.dispose()
    return {"intact": intact, "entries": entries}


def run_backend(backend: str, duration: int, connections: int, rounds: int, receipts: int = 200) -> dict:
    """Floor and submission measured alternately `rounds` times (both servers up, only one
    loaded at a time), so a slow or fast spell of a shared machine hits both; the ratio is
    taken per round and reported as the median."""
    tmp = Path(tempfile.mkdtemp(prefix=f"ss-bench-{backend}-"))
    ss_url, floor_url, cleanup = database(backend, tmp)
    results: dict = {"backend": backend}
    floor = server = None
    try:
        port = free_port()
        floor = Server([str(VENV_BIN / "uvicorn"), "bench.reporter.floor_app:app", "--workers", "2", "--port", str(port),
                        "--no-access-log", "--log-level", "warning"],
                       {"FLOOR_DATABASE_URL": floor_url}, "/docs", port)
        floor_base = f"http://127.0.0.1:{port}"
        port = free_port()
        # One wrk client sends every report: SAFESHARE_REPORT_RATE (10 an hour per client) is off here.
        env = {"SAFESHARE_DATABASE_URL": ss_url, "SAFESHARE_KEY_FILE": str(tmp / "keys.json"),
               "SAFESHARE_LOG_LEVEL": "WARNING", "SAFESHARE_REPORT_RATE": "0"}
        server = Server([str(VENV_BIN / "safeshare"), "serve", "--workers", "2", "--port", str(port)], env,
                        "/api/v1/themes", port)
        base = f"http://127.0.0.1:{port}"
        warm(floor_base + "/insert", json.loads(BODY))
        warm(base + "/api/v1/reports", json.loads(BODY))
        floors, submits = [], []
        for _ in range(rounds):
            floors.append(wrk_timed(floor, floor_base, HERE / "post.lua", duration, connections,
                                    {"BODY": BODY, "PATH_": "/insert"}))
            submits.append(wrk_timed(server, base, HERE / "post.lua", duration, connections, {"BODY": BODY}))
        ratios = sorted(sub["rps"] / fl["rps"] for fl, sub in zip(floors, submits, strict=True))
        cpu_ratios = sorted(fl["server_cpu_ms_per_request"] / sub["server_cpu_ms_per_request"]
                            for fl, sub in zip(floors, submits, strict=True)
                            if fl["server_cpu_ms_per_request"] and sub["server_cpu_ms_per_request"])
        results["floor_insert"] = sorted(floors, key=lambda r: r["rps"])[len(floors) // 2]
        results["submit"] = sorted(submits, key=lambda r: r["rps"])[len(submits) // 2]
        results["rounds"] = [{"floor_rps": f["rps"], "submit_rps": s["rps"], "ratio": round(s["rps"] / f["rps"], 3),
                              "floor_cpu_ms": f["server_cpu_ms_per_request"], "submit_cpu_ms": s["server_cpu_ms_per_request"],
                              "steal_percent": max(f["steal_percent"] or 0, s["steal_percent"] or 0)}
                             for f, s in zip(floors, submits, strict=True)]
        results["submit_vs_floor"] = round(ratios[len(ratios) // 2], 3)
        results["submit_vs_floor_by_cpu"] = round(cpu_ratios[len(cpu_ratios) // 2], 3) if cpu_ratios else None
        results["floor_insert"]["peak_rss_mib"] = round(floor.stop() / 1024, 1)
        floor = None
        # Receipts and tokens to replay (made through the API, as a reporter would).
        receipts = [post(base + "/api/v1/reports", json.loads(BODY))["receipt"] for _ in range(receipts)]
        rfile, tfile = tmp / "receipts.txt", tmp / "tokens.txt"
        rfile.write_text("\n".join(receipts) + "\n")
        tokens = [post(base + "/api/v1/reporter/session", {"receipt": r})["token"] for r in receipts]
        tfile.write_text("\n".join(tokens) + "\n")
        results["redeem"] = wrk(base, HERE / "redeem.lua", duration, connections, {"RECEIPTS": str(rfile)})
        results["read_case"] = wrk(base, HERE / "read.lua", duration, connections, {"TOKENS": str(tfile)})
        results["safeshare_peak_rss_mib"] = round(server.stop() / 1024, 1)
        server = None
        results["audit_chain"] = audit_chain(ss_url, tmp / "keys.json")
    finally:
        for srv in (floor, server):
            if srv is not None:
                srv.stop()
        cleanup()
    return results


def write_markdown(all_results: list[dict], args: argparse.Namespace, path: Path) -> None:
    lines = [
        "# Reporter journey benchmark — latest results",
        "",
        f"Run on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores, "
        f"wrk -t2 -c{args.connections} -d{args.duration}s against `safeshare serve --workers 2` on the same machine.",
        "",
        "| backend | scenario | req/s | p50 ms | p99 ms | non-2xx | socket errors |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in all_results:
        for key, label in [("floor_insert", "floor: bare FastAPI + SQLAlchemy insert"), ("submit", "anonymous submission"),
                           ("redeem", "receipt redemption"), ("read_case", "reporter case read")]:
            s = r[key]
            lines.append(f"| {r['backend']} | {label} | {s['rps']} | {s['p50_ms']} | {s['p99_ms']} | {s['non_2xx']} | {s['socket_errors']} |")
    lines += ["", "Floor and submission were measured alternately; the table above shows the median round of each.", "",
              "| backend | submission / floor, median round (target ≥ 0.40) | the same by server CPU per request "
              "(floor ms ÷ submission ms), median | every round (floor → submission req/s; CPU ms per request; "
              "host steal) | Safe Share peak RSS, all processes (MiB) | audit chain after the run |",
              "| --- | ---: | ---: | --- | ---: | --- |"]
    for r in all_results:
        chain = r["audit_chain"]
        rounds = "; ".join(f"{x['floor_rps']} → {x['submit_rps']} ({x['ratio']}; {x['floor_cpu_ms']} → "
                           f"{x['submit_cpu_ms']} ms; steal {x['steal_percent']}%)" for x in r["rounds"])
        lines.append(f"| {r['backend']} | {r['submit_vs_floor']} | {r['submit_vs_floor_by_cpu']} | {rounds} "
                     f"| {r['safeshare_peak_rss_mib']} | {'intact' if chain['intact'] else 'BROKEN'}, {chain['entries']} entries |")
    lines += ["", "CPU per request is the server's processes' user and system time over the round divided by the "
              "requests answered: what each request costs, where requests per second also count the time spent "
              "waiting (SQLite's write lock, wrk on the same cores). Steal is the share of the machine's time its "
              "host gave to others during the round. Both move with a shared machine's speed, so each round shows "
              "them side by side."]
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=5, help="alternate floor/submission measurements (median reported)")
    ap.add_argument("--backends", default="postgresql,sqlite")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "reporter"))
    args = ap.parse_args()
    results = [run_backend(b, args.duration, args.connections, args.rounds) for b in args.backends.split(",")]
    out = Path(args.out)
    out.with_suffix(".json").write_text(json.dumps(results, indent=2) + "\n")
    write_markdown(results, args, out.with_suffix(".md"))
    print(out.with_suffix(".md").read_text())


if __name__ == "__main__":
    main()
