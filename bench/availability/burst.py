"""Burst benchmark (issue 12, item 1): 100 parallel reporter reads with a bogus token, and a report
sent during them, against `safeshare serve` beside a bare FastAPI + SQLAlchemy floor in the same run.

    .venv/bin/python -m bench.availability.burst [--backends sqlite,postgresql] [--rounds 5]
        [--clients 100] [--duration 10] [--safeshare PATH] [--out bench/results/burst]

Two scenarios, each on Safe Share and on the floor (`bench/availability/floor_app.py`), one
worker each, alternately:

- **burst**: `--clients` requests `GET /api/v1/reporter/case` (`Authorization: Bearer ssr_bogus…`),
  all at once on fresh connections, and 0.1 s in, one `POST /api/v1/reports`; per round the
  status counts, the reads' p50/p99/max latency and the report's latency. Target: every read
  answered 401 (0 × 5xx) and the report accepted in under 2 s.
- **sustained**: wrk with `--clients` connections for `--duration` seconds on the same read,
  while a report is posted every 0.25 s on a connection of its own; p50/p99 and status classes
  of the reads, and the reports' statuses and worst latency.

`--safeshare` runs another checkout's `safeshare` (e.g. the code before this work) with the same
bench. Needs wrk (Debian package `wrk`); PostgreSQL at 127.0.0.1:5432 for that backend.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from bench.reporter.run import ROOT, VENV_BIN, Server, database, free_port

HERE = Path(__file__).resolve().parent
BOGUS = {"Authorization": "Bearer ssr_bogus" + "x" * 40}
REPORT = {"description": "My line manager keeps shouting at me in front of the crew and I dread every shift."}


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


async def one_burst(base: str, read_path: str, post_path: str, clients: int) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=clients + 10, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as burst, \
            httpx.AsyncClient(base_url=base, timeout=120) as poster:
        await poster.get(read_path, headers=BOGUS)  # open the report's connection first

        async def read() -> tuple[int | str, float]:
            t = time.perf_counter()
            try:
                r = await burst.get(read_path, headers=BOGUS)
                return r.status_code, time.perf_counter() - t
            except httpx.HTTPError as exc:
                return type(exc).__name__, time.perf_counter() - t

        async def post() -> tuple[int | str, float]:
            await asyncio.sleep(0.1)
            t = time.perf_counter()
            try:
                r = await poster.post(post_path, json=REPORT)
                return r.status_code, time.perf_counter() - t
            except httpx.HTTPError as exc:
                return type(exc).__name__, time.perf_counter() - t

        posting = asyncio.create_task(post())
        results = await asyncio.gather(*(read() for _ in range(clients)))
        post_status, post_latency = await posting
    latencies = [x for _, x in results]
    statuses: dict[str, int] = {}
    for s, _ in results:
        statuses[str(s)] = statuses.get(str(s), 0) + 1
    return {
        "statuses": dict(sorted(statuses.items())),
        "read_p50_ms": round(statistics.median(latencies) * 1000, 1),
        "read_p99_ms": round(_pct(latencies, 99) * 1000, 1),
        "read_max_ms": round(max(latencies) * 1000, 1),
        "report_status": post_status,
        "report_ms": round(post_latency * 1000, 1),
    }


def sustained(base: str, read_path: str, post_path: str, clients: int, duration: int) -> dict[str, Any]:
    stop = threading.Event()
    posts: list[tuple[int | str, float]] = []

    def keep_posting() -> None:
        with httpx.Client(base_url=base, timeout=120) as c:
            while not stop.is_set():
                t = time.perf_counter()
                try:
                    status: int | str = c.post(post_path, json=REPORT).status_code
                except httpx.HTTPError as exc:
                    status = type(exc).__name__
                posts.append((status, time.perf_counter() - t))
                stop.wait(0.25)

    poster = threading.Thread(target=keep_posting, daemon=True)
    poster.start()
    cmd = ["wrk", "-t2", f"-c{clients}", f"-d{duration}s", "--timeout", "60s", "-s", str(HERE / "statuses.lua"), base]
    out = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PATH_": read_path}).stdout
    stop.set()
    poster.join(timeout=130)
    m = re.search(r"STATS requests=(\d+) duration_us=(\d+) p50_us=(\d+) p99_us=(\d+) max_us=(\d+) s2xx=(\d+) "
                  r"s4xx=(\d+) s5xx=(\d+) other=(\d+) errors=(\d+)", out)
    if not m:
        raise RuntimeError(f"wrk gave no stats:\n{out}")
    req, dur, p50, p99, mx, s2, s4, s5, other, err = map(int, m.groups())
    post_latencies = [x for _, x in posts] or [0.0]
    post_statuses: dict[str, int] = {}
    for s, _ in posts:
        post_statuses[str(s)] = post_statuses.get(str(s), 0) + 1
    return {
        "command": " ".join(cmd),
        "reads": req, "reads_per_s": round(req / (dur / 1e6), 1),
        "read_p50_ms": round(p50 / 1000, 1), "read_p99_ms": round(p99 / 1000, 1), "read_max_ms": round(mx / 1000, 1),
        "read_2xx": s2, "read_4xx": s4, "read_5xx": s5, "read_other": other, "socket_errors": err,
        "reports": dict(sorted(post_statuses.items())),
        "report_p99_ms": round(_pct(post_latencies, 99) * 1000, 1),
        "report_max_ms": round(max(post_latencies) * 1000, 1),
    }


def run_backend(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix=f"ss-burst-{backend}-"))
    ss_url, floor_url, cleanup = database(backend, tmp)
    floor = server = None
    try:
        port = free_port()
        floor = Server([str(VENV_BIN / "uvicorn"), "bench.availability.floor_app:app", "--port", str(port),
                        "--no-access-log", "--log-level", "warning"], {"FLOOR_DATABASE_URL": floor_url}, "/docs", port)
        floor_base = f"http://127.0.0.1:{port}"
        port = free_port()
        env = {"SAFESHARE_DATABASE_URL": ss_url, "SAFESHARE_KEY_FILE": str(tmp / "keys.json"),
               "SAFESHARE_LOG_LEVEL": "WARNING",
               # Every report comes from this one client: the per-client report rate (issue 11) is off.
               "SAFESHARE_REPORT_RATE": "0"}
        server = Server([args.safeshare, "serve", "--port", str(port)], env, "/api/v1/themes", port)
        base = f"http://127.0.0.1:{port}"
        targets = {"floor": (floor_base, "/case", "/insert"),
                   "safeshare": (base, "/api/v1/reporter/case", "/api/v1/reports")}
        bursts: dict[str, list[dict[str, Any]]] = {"floor": [], "safeshare": []}
        for _ in range(args.rounds):
            for name, (b, read_path, post_path) in targets.items():
                bursts[name].append(asyncio.run(one_burst(b, read_path, post_path, args.clients)))
                time.sleep(0.5)
        steady = {name: sustained(b, r, p, args.clients, args.duration) for name, (b, r, p) in targets.items()}
        return {"backend": backend, "bursts": bursts, "sustained": steady}
    finally:
        for srv in (floor, server):
            if srv is not None:
                srv.stop()
        cleanup()


def write_markdown(results: list[dict[str, Any]], args: argparse.Namespace, path: Path) -> None:
    lines = [
        "# Burst benchmark — latest results",
        "",
        f"Run on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores, "
        f"`{Path(args.safeshare).name} serve` (one worker) and the floor (one uvicorn worker) on the same machine, "
        f"{args.clients} clients, {args.rounds} alternating rounds; command: "
        f"`python -m bench.availability.burst --backends {args.backends} --rounds {args.rounds} "
        f"--clients {args.clients} --duration {args.duration}`.",
        "",
        f"## Burst: {args.clients} parallel `GET` with a bogus token, one report 0.1 s in",
        "",
        "Target: every read answered 401 (0 × 5xx), the report accepted in under 2 s.",
        "",
        "| backend | app | round | read statuses | read p50 ms | read p99 ms | read max ms | report | report ms |",
        "| --- | --- | ---: | --- | ---: | ---: | ---: | --- | ---: |",
    ]
    for r in results:
        for name in ("floor", "safeshare"):
            for i, b in enumerate(r["bursts"][name], 1):
                statuses = ", ".join(f"{n} × {s}" for s, n in b["statuses"].items())
                lines.append(f"| {r['backend']} | {name} | {i} | {statuses} | {b['read_p50_ms']} | {b['read_p99_ms']} "
                             f"| {b['read_max_ms']} | {b['report_status']} | {b['report_ms']} |")
    lines += [
        "",
        f"## Sustained: wrk, {args.clients} connections for {args.duration} s on the same read; a report every 0.25 s",
        "",
        "| backend | app | reads/s | read p50 ms | read p99 ms | read max ms | 4xx | 5xx | socket errors "
        "| reports | report p99 ms | report max ms |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |",
    ]
    for r in results:
        for name in ("floor", "safeshare"):
            s = r["sustained"][name]
            reports = ", ".join(f"{n} × {st}" for st, n in s["reports"].items())
            lines.append(f"| {r['backend']} | {name} | {s['reads_per_s']} | {s['read_p50_ms']} | {s['read_p99_ms']} "
                         f"| {s['read_max_ms']} | {s['read_4xx']} | {s['read_5xx']} | {s['socket_errors']} | {reports} "
                         f"| {s['report_p99_ms']} | {s['report_max_ms']} |")
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--clients", type=int, default=100)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--safeshare", default=str(VENV_BIN / "safeshare"), help="the safeshare command to run")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "burst"))
    args = ap.parse_args()
    results = [run_backend(b, args) for b in args.backends.split(",")]
    out = Path(args.out)
    out.with_suffix(".json").write_text(json.dumps(results, indent=2) + "\n")
    write_markdown(results, args, out.with_suffix(".md"))
    sys.stdout.write(out.with_suffix(".md").read_text())


if __name__ == "__main__":
    main()
