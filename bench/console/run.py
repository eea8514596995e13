"""Console benchmark: the queue and the case page with 10,000 cases on PostgreSQL, beside their API twins.

    .venv/bin/python -m bench.console.run [--cases 10000] [--duration 10] [--connections 8] [--rounds 3]

A real `safeshare serve --workers 2` on a PostgreSQL database of its own, loaded with N cases
(through the intake service, spread over two years, a third triaged and assigned, some urgent),
driven by wrk as one safeguarding user. In the same run, alternately:

- `GET /staff/cases` (the queue page: 25 cases, deadlines, next check-ins, unread marks) against
  `GET /api/v1/cases` (the same first 25 cases as JSON, with their deadline flags);
- `GET /staff/cases/{id}` (the whole case: content, notes, thread, check-ins, exclusions, each read
  audited) against `GET /api/v1/cases/{id}` (content only) and against the five API reads the page
  stands for (case, notes, messages, check-ins, exclusions), timed one after another.

Target: a page costs at most twice its API twin (p50). Writes bench/results/console.md and .json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.reporter.run import ROOT, VENV_BIN, Server, database, free_port, wrk

HERE = Path(__file__).resolve().parent


def _load(url: str, key_file: Path, n: int) -> tuple[str, str]:
    """N cases, a safeguarding user and an HR contact; returns (the safeguarding user's e-mail, a busy case's id)."""
    from app import clock, flows
    from app.audit.service import Actor
    from app.auth import service as auth
    from app.auth.passwords import Passwords
    from app.cases import intake
    from app.cases import service as cases
    from app.cases.models import Case
    from app.cases.schemas import CaseUpdate, ReportIn
    from app.config import load_settings
    from app.crypto.blind import exclusion_key
    from app.crypto.keyring import KeyRing
    from app.db import make_engine, make_sessionmaker
    from app.enums import Channel, Risk, Role

    settings = load_settings(database_url=url, key_file=key_file, argon2_time_cost=1, argon2_memory_kib=8,
                             argon2_parallelism=1)
    ring = KeyRing.load_or_create(key_file)
    engine = make_engine(url)
    from app.audit.service import chain_key

    sessions = make_sessionmaker(engine, audit_key=chain_key(ring), exclusion_key=exclusion_key(ring))
    passwords = Passwords(settings)
    with sessions() as s, s.begin():
        sg = auth.create_user(s, passwords, email="sg@bench.example", name="Bench Safeguarding",
                              roles=[Role.SAFEGUARDING], password="bench passphrase 1", by=Actor.system("bench"))
        hr = auth.create_user(s, passwords, email="hr@bench.example", name="Bench HR", roles=[Role.HR],
                              password="bench passphrase 2", by=Actor.system("bench"))
        sg_id, hr_id = sg.id, hr.id
        flows.finish(s)  # the notices of the new accounts join the outbox
    start = datetime(2024, 12, 1, 9, 0, tzinfo=UTC)
    busy = None
    texts = ["My manager shouts at me in front of the crew at every shift change.",
             "I am worried about a colleague's drinking before night shifts.",
             "My partner controls all our money and I am scared to go home."]
    for batch in range(0, n, 500):
        with sessions() as s, s.begin():
            sg = s.get(auth.User, sg_id)
            for i in range(batch, min(n, batch + 500)):
                clock.set_frozen(start + timedelta(minutes=105 * i))
                new = intake.create_case(s, ring, settings, data=ReportIn(description=texts[i % 3]), channel=Channel.WEB)
                if i % 3 == 0:
                    case = s.get(Case, new.id)
                    assert case is not None and sg is not None
                    risk = Risk.URGENT if i % 30 == 0 else Risk.STANDARD
                    flows.triage(s, user=sg, case=case, data=CaseUpdate(primary_theme="bullying", risk=risk))
                    flows.assign_hr_contact(s, settings, user=sg, case=case, user_id=hr_id)
                    busy = new.id
    clock.set_frozen(None)
    with sessions() as s, s.begin():  # the measured case has a thread and notes
        sg = s.get(auth.User, sg_id)
        case = s.get(Case, busy)
        assert sg is not None and case is not None
        for k in range(10):
            cases.add_note(s, ring, user=sg, case=case, body=f"Note {k}: spoke to the station manager.")
            cases.send_message(s, ring, user=sg, case=case, body=f"Message {k}: we are here to help.")
    engine.dispose()
    return "sg@bench.example", str(busy)


def _login(base: str, email: str, password: str) -> str:
    req = urllib.request.Request(base + "/api/v1/auth/login", method="POST", headers={"Content-Type": "application/json"},
                                 data=json.dumps({"email": email, "password": password}).encode())
    with urllib.request.urlopen(req, timeout=30) as r:
        return str(json.loads(r.read())["token"])


def _sequence(base: str, token: str, paths: list[str], runs: int = 200) -> dict[str, float]:
    """The API reads a client needs to show what the case page shows, one after another."""
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        for p in paths:
            req = urllib.request.Request(base + p, headers={"Authorization": f"Bearer {token}"})
            with urllib.request.urlopen(req, timeout=30) as r:
                r.read()
        samples.append((time.perf_counter() - t) * 1000)
    samples.sort()
    return {"p50_ms": round(statistics.median(samples), 1), "p99_ms": round(samples[int(len(samples) * 0.99) - 1], 1)}


def _warm(base: str, token: str, targets: list[tuple[str, str]], times: int = 4) -> None:
    """Each page and API read a few times before the clock starts, so both workers have compiled
    the templates and opened their connections: a one-second run (the suite's) is not spent on
    cold starts, and a long one does not count them."""
    import concurrent.futures

    def get(target: tuple[str, str]) -> None:
        kind, path = target
        headers = {"Cookie": f"ss_staff={token}"} if kind == "page" else {"Authorization": f"Bearer {token}"}
        with urllib.request.urlopen(urllib.request.Request(base + path, headers=headers), timeout=30) as r:
            r.read()

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        list(pool.map(get, [t for t in targets for _ in range(times)]))


def run(n: int, duration: int, connections: int, rounds: int, sequence_runs: int = 200) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="ss-bench-console-"))
    url, _floor, cleanup = database("postgresql", tmp)
    key_file = tmp / "keys.json"
    server = None
    try:
        from app import migrate

        migrate.upgrade(url)
        t = time.perf_counter()
        email, busy = _load(url, key_file, n)
        load_s = round(time.perf_counter() - t, 1)
        port = free_port()
        env = {"SAFESHARE_DATABASE_URL": url, "SAFESHARE_KEY_FILE": str(key_file), "SAFESHARE_LOG_LEVEL": "WARNING",
               "SAFESHARE_ARGON2_TIME_COST": "1", "SAFESHARE_ARGON2_MEMORY_KIB": "8", "SAFESHARE_ARGON2_PARALLELISM": "1",
               # The console's cost is measured, not sign-in: a password alone opens the session.
               "SAFESHARE_REQUIRE_2FA_ROLES": ""}
        server = Server([str(VENV_BIN / "safeshare"), "serve", "--workers", "2", "--port", str(port)], env,
                        "/api/v1/themes", port)
        base = f"http://127.0.0.1:{port}"
        token = _login(base, email, "bench passphrase 1")
        pairs = {
            "queue": (("page", "/staff/cases"), ("api", "/api/v1/cases")),
            "case": (("page", f"/staff/cases/{busy}"), ("api", f"/api/v1/cases/{busy}")),
        }
        _warm(base, token, [target for pair in pairs.values() for target in pair])
        five = ",".join(f"/api/v1/cases/{busy}{p}" for p in ("", "/notes", "/messages", "/check-ins", "/exclusions"))
        out: dict = {"cases": n, "load_seconds": load_s, "rounds": []}
        for _ in range(rounds):
            one = {}
            for name, ((k1, p1), (k2, p2)) in pairs.items():
                one[f"{name}_page"] = wrk(base, HERE / "get.lua", duration, connections, {"KIND": k1, "PATH_": p1, "TOKEN": token})
                one[f"{name}_api"] = wrk(base, HERE / "get.lua", duration, connections, {"KIND": k2, "PATH_": p2, "TOKEN": token})
            # The five API reads that show what the case page shows, in turn: a view costs five of them.
            one["case_api_five"] = wrk(base, HERE / "cycle.lua", duration, connections, {"PATHS": five, "TOKEN": token})
            out["rounds"].append(one)
        out["case_api_sequence"] = _sequence(base, token, [f"/api/v1/cases/{busy}{p}" for p in
                                                           ("", "/notes", "/messages", "/check-ins", "/exclusions")],
                                             runs=sequence_runs)
        out["safeshare_peak_rss_mib"] = round(server.stop() / 1024, 1)
        server = None
        return out
    finally:
        if server is not None:
            server.stop()
        cleanup()


def _median(rounds: list[dict], key: str, field: str) -> float:
    return float(statistics.median(r[key][field] for r in rounds))


def write_markdown(r: dict, args: argparse.Namespace, path: Path) -> None:
    rows = []
    for name, label in (("queue", "queue `/staff/cases`"), ("case", "case `/staff/cases/{id}`")):
        page_p50, api_p50 = _median(r["rounds"], f"{name}_page", "p50_ms"), _median(r["rounds"], f"{name}_api", "p50_ms")
        rows.append(f"| {label} | {page_p50} | {_median(r['rounds'], f'{name}_page', 'p99_ms')} "
                    f"| {_median(r['rounds'], f'{name}_page', 'rps')} | {api_p50} | {_median(r['rounds'], f'{name}_api', 'p99_ms')} "
                    f"| {_median(r['rounds'], f'{name}_api', 'rps')} | {round(page_p50 / api_p50, 2) if api_p50 else '-'} |")
    errors = sum(x["non_2xx"] + x["socket_errors"] for rnd in r["rounds"] for x in rnd.values())
    seq = r["case_api_sequence"]
    lines = [
        "# Console benchmark — latest results",
        "",
        f"Run on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores: `safeshare serve --workers 2` "
        f"on PostgreSQL with {r['cases']:,} cases (loaded in {r['load_seconds']} s), wrk -t2 -c{args.connections} "
        f"-d{args.duration}s as one safeguarding user, page and API twin measured alternately in {args.rounds} rounds "
        "(medians of the rounds below).",
        "",
        "| page | page p50 ms | page p99 ms | page req/s | API twin p50 ms | API twin p99 ms | API twin req/s | page / API (p50) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        *rows,
        "",
        f"Non-2xx answers and socket errors over the whole run: {errors} (must be 0).",
        "",
        "The case page shows what five API reads show (case, notes, messages, check-ins, exclusions), each audited. "
        f"Those five reads one after another, from one client: p50 {seq['p50_ms']} ms, p99 {seq['p99_ms']} ms. "
        "Under the same load, server time per view (1000 / req/s, at the same concurrency): case page "
        f"{round(1000 / _median(r['rounds'], 'case_page', 'rps'), 1)} ms against "
        f"{round(5 * 1000 / _median(r['rounds'], 'case_api_five', 'rps'), 1)} ms for the five API reads "
        f"(and {round(1000 / _median(r['rounds'], 'case_api', 'rps'), 1)} ms for `GET /api/v1/cases/{{id}}` alone).",
        "",
        f"Safe Share peak RSS, all processes: {r['safeshare_peak_rss_mib']} MiB.",
        "",
        "Every round:",
        "",
        "| round | queue page p50 | queue API p50 | case page p50 | case API p50 |",
        "| ---: | ---: | ---: | ---: | ---: |",
    ]
    for i, rnd in enumerate(r["rounds"], 1):
        lines.append(f"| {i} | {rnd['queue_page']['p50_ms']} | {rnd['queue_api']['p50_ms']} | {rnd['case_page']['p50_ms']} "
                     f"| {rnd['case_api']['p50_ms']} |")
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", type=int, default=10_000)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "console"))
    args = ap.parse_args()
    result = run(args.cases, args.duration, args.connections, args.rounds)
    out = Path(args.out)
    out.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    write_markdown(result, args, out.with_suffix(".md"))
    print(out.with_suffix(".md").read_text())


if __name__ == "__main__":
    main()
