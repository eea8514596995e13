"""Attachments benchmark: 10 MB files and a 12-megapixel phone photo through the form and the API,
on SQLite and PostgreSQL, against a real `safeshare serve` with one worker.

    .venv/bin/python -m bench.attachments.run [--backends sqlite,postgresql] [--file-mb 10] [--photo-mp 12]
                                              [--repeats 3] [--download-seconds 5] [--clients 4]

For each file (a 10 MB text file, a 10 MB PDF whose bulk is an image, a 12 MP photo with EXIF,
GPS and an orientation flag) and each way in (`POST /api/v1/reporter/attachments`, and the report
form `POST /report` as `multipart/form-data`), it measures:

- the time from sending to the answer (type from content, cleaning, sealing, storing: the
  upload itself is on loopback and takes a few milliseconds);
- the worker's peak resident memory during that request, above its resident memory just before
  (`/proc/PID/status` VmHWM, reset through `/proc/PID/clear_refs` before each request);

then `--clients` staff clients download the 10 MB file and the photo for `--download-seconds`
each: downloads per second and MB/s, and the worker's peak meanwhile.

The budget (docs/attachments.md, "Memory"): a request that stores a file raises a worker's peak by
at most FIXED_MB, plus PER_MEGAPIXEL_MB for each megapixel of an image, one file being decoded at a
time per process; a download by at most FIXED_MB, whatever the file's size. The run fails (exit 1)
when a measurement is over it. Writes bench/results/attachments.md and .json.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from bench.reporter.run import ROOT, VENV_BIN, Server, database, free_port

# The budget of a worker (see the module's text): measured in bench/results/attachments.md.
FIXED_MB = 40
PER_MEGAPIXEL_MB = 8
RESULTS = ROOT / "bench" / "results"
PASSWORD = "attachments bench: tawny kettle 9 lanterns"


# --- the files --------------------------------------------------------------------------------


def text_file(mb: int) -> bytes:
    line = b"2026-01-31 22:15 He messaged again at night, the fourth time this week, about the rota.\n"
    return (line * (mb * 1024 * 1024 // len(line) + 1))[: mb * 1024 * 1024 - 1024]


def pdf_file(mb: int) -> bytes:
    """A PDF of about `mb` MB: one page showing an uncompressed grey image (what a scan can be)."""
    import pikepdf

    side = int((mb * 1024 * 1024 * 0.97) ** 0.5)
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(595, 842))
    pdf.docinfo["/Author"] = "Bench Reporter"
    image = pikepdf.Stream(pdf, os.urandom(side * side), Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Image,
                           Width=side, Height=side, ColorSpace=pikepdf.Name.DeviceGray, BitsPerComponent=8)
    page = pdf.pages[0]
    page.obj.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=image))
    page.obj.Contents = pdf.make_stream(b"q 500 0 0 500 40 200 cm /Im0 Do Q")
    out = io.BytesIO()
    pdf.save(out, compress_streams=False)
    return out.getvalue()


def phone_photo(megapixels: int) -> bytes:
    """A photo-like JPEG of `megapixels` (4:3), with a phone's EXIF: GPS, make, model, orientation 6."""
    from PIL import Image

    width = int((megapixels * 1e6 * 4 / 3) ** 0.5)
    height = int(megapixels * 1e6 / width)
    small = Image.frombytes("RGB", (width // 16, height // 16), os.urandom((width // 16) * (height // 16) * 3))
    image = small.resize((width, height), Image.Resampling.BICUBIC)
    exif = Image.Exif()
    exif[0x010F], exif[0x0110], exif[0x0112] = "Apple", "iPhone 15 Pro", 6
    exif[0x8825] = {1: "N", 2: (51.0, 30.0, 26.0), 3: "W", 4: (0.0, 7.0, 39.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", quality=88, exif=exif.tobytes())
    return out.getvalue()


# --- the worker's memory ----------------------------------------------------------------------


def _worker_pids(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    children = [int(p) for p in out]
    return children or [pid]


def _status_kib(pid: int, field: str) -> int:
    text = Path(f"/proc/{pid}/status").read_text()
    m = re.search(rf"^{field}:\s+(\d+) kB", text, re.M)
    return int(m.group(1)) if m else 0


class Memory:
    """Peak resident memory of the serving processes around one request (VmHWM, reset before it)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid

    def reset(self) -> int:
        rss = 0
        for p in _worker_pids(self.pid):
            Path(f"/proc/{p}/clear_refs").write_text("5")
            rss = max(rss, _status_kib(p, "VmRSS"))
        return rss

    def peak(self) -> int:
        return max(_status_kib(p, "VmHWM") for p in _worker_pids(self.pid))


# --- one backend ------------------------------------------------------------------------------


def _reporter(base: str) -> tuple[str, str]:
    r = httpx.post(f"{base}/api/v1/reports", json={"description": "Bench: a concern with files."}, timeout=30)
    r.raise_for_status()
    s = httpx.post(f"{base}/api/v1/reporter/session", json={"receipt": r.json()["receipt"]}, timeout=30)
    s.raise_for_status()
    return r.json()["reference"], s.json()["token"]


def _form_upload(base: str, name: str, data: bytes) -> httpx.Response:
    with httpx.Client(base_url=base, timeout=300, headers={"Sec-Fetch-Site": "same-origin"}) as c:
        page = c.get("/report").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        form_id = re.search(r'name="form_id" value="([^"]+)"', page)
        assert token and form_id
        return c.post("/report", data={"csrf_token": token.group(1), "form_id": form_id.group(1),
                                       "description": "Bench: a concern sent with a file.", "identity": "anonymous"},
                      files=[("attachments", (name, data, "application/octet-stream"))])


def _downloads(url: str, token: str, seconds: float, clients: int, memory: Memory) -> dict[str, Any]:
    before = memory.reset()
    done = [0] * clients
    volume = [0] * clients
    failures = [0] * clients
    stop = time.monotonic() + seconds

    def worker(i: int) -> None:
        with httpx.Client(timeout=60, headers={"Authorization": f"Bearer {token}"}) as c:
            while time.monotonic() < stop:
                with c.stream("GET", url) as r:
                    size = sum(len(chunk) for chunk in r.iter_raw())
                if r.status_code == 200:
                    done[i] += 1
                    volume[i] += size
                else:
                    failures[i] += 1

    started = time.monotonic()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    return {"downloads": sum(done), "per_second": round(sum(done) / elapsed, 1),
            "mb_per_second": round(sum(volume) / elapsed / 1024 / 1024, 1), "failures": sum(failures),
            "peak_above_mb": round((memory.peak() - before) / 1024, 1), "clients": clients}


def run_backend(backend: str, *, files: dict[str, tuple[bytes, float]], repeats: int, download_seconds: float,
                clients: int, workdir: Path) -> dict[str, Any]:
    url, _floor, cleanup = database(backend, workdir)
    key_file = workdir / f"keys-{backend}.json"
    port = free_port()
    env = {"SAFESHARE_DATABASE_URL": url, "SAFESHARE_KEY_FILE": str(key_file), "SAFESHARE_LOG_LEVEL": "WARNING",
           "SAFESHARE_ARGON2_TIME_COST": "1", "SAFESHARE_ARGON2_MEMORY_KIB": "8", "SAFESHARE_ARGON2_PARALLELISM": "1",
           "SAFESHARE_REQUIRE_2FA_ROLES": "", "SAFESHARE_REPORT_RATE": "0",
           "SAFESHARE_ATTACHMENT_CASE_TOTAL_MB": "1000"}
    try:
        server = Server([str(VENV_BIN / "safeshare"), "serve", "--workers", "1", "--port", str(port)], env,
                        "/api/v1/themes", port)
    except BaseException:
        cleanup()
        raise
    base = f"http://127.0.0.1:{port}"
    memory = Memory(server.proc.pid)
    out: dict[str, Any] = {"backend": backend, "uploads": [], "downloads": {}}
    try:
        subprocess.run([str(VENV_BIN / "safeshare"), "create-user", "sg@bench.example", "--role", "safeguarding",
                        "--password-stdin"], input=PASSWORD, text=True, env={**os.environ, **env}, cwd=ROOT,
                       check=True, capture_output=True)
        staff = httpx.post(f"{base}/api/v1/auth/login", json={"email": "sg@bench.example", "password": PASSWORD},
                           timeout=30).json()["token"]
        _, warm = _reporter(base)  # one small upload first: imports and pools are warm before measuring
        httpx.post(f"{base}/api/v1/reporter/attachments", headers={"Authorization": f"Bearer {warm}"},
                   files={"file": ("warm.txt", b"warm up", "text/plain")}, timeout=60).raise_for_status()
        kept: dict[str, str] = {}
        case_of: dict[str, str] = {}
        for name, (data, megapixels) in files.items():
            for way in ("api", "form"):
                for _ in range(repeats):
                    reference, token = _reporter(base)
                    before = memory.reset()
                    started = time.perf_counter()
                    if way == "api":
                        r = httpx.post(f"{base}/api/v1/reporter/attachments", headers={"Authorization": f"Bearer {token}"},
                                       files={"file": (name, data, "application/octet-stream")}, timeout=300)
                        ok = r.status_code == 201
                        if ok:
                            kept[name] = r.json()["id"]
                            case_of[name] = reference
                    else:
                        r = _form_upload(base, name, data)
                        ok = r.status_code == 200 and "Your receipt" in r.text
                    seconds = time.perf_counter() - started
                    peak = memory.peak()
                    out["uploads"].append({
                        "file": name, "way": way, "mb": round(len(data) / 1024 / 1024, 1), "megapixels": megapixels,
                        "status": r.status_code, "ok": ok, "seconds": round(seconds, 3),
                        "rss_before_mb": round(before / 1024, 1), "peak_above_mb": round((peak - before) / 1024, 1),
                        "budget_mb": FIXED_MB + PER_MEGAPIXEL_MB * megapixels,
                    })
        cases = httpx.get(f"{base}/api/v1/cases?page_size=100", headers={"Authorization": f"Bearer {staff}"},
                          timeout=30).json()["items"]
        ids = {c["reference"]: c["id"] for c in cases}
        for name in files:
            if name in kept:
                link = f"{base}/api/v1/cases/{ids[case_of[name]]}/attachments/{kept[name]}"
                result = _downloads(link, staff, download_seconds, clients, memory)
                result["budget_mb"] = FIXED_MB
                out["downloads"][name] = result
    finally:
        out["server_peak_mb"] = round(server.stop() / 1024, 1)
        cleanup()
    return out


def over_budget(results: list[dict[str, Any]]) -> list[str]:
    bad = []
    for r in results:
        for u in r["uploads"]:
            if not u["ok"] or u["peak_above_mb"] > u["budget_mb"]:
                bad.append(f"{r['backend']} {u['way']} {u['file']}: status {u['status']}, +{u['peak_above_mb']} MB "
                           f"(budget {u['budget_mb']} MB)")
        for name, d in r["downloads"].items():
            if d["failures"] or d["peak_above_mb"] > d["budget_mb"] or d["downloads"] == 0:
                bad.append(f"{r['backend']} download {name}: {d}")
    return bad


def _median(values: list[float]) -> float:
    values = sorted(values)
    return values[len(values) // 2]


def write_markdown(results: list[dict[str, Any]], args: argparse.Namespace, path: Path) -> None:
    lines = [
        "# Attachments: cleaning, sealing, storing and serving files", "",
        f"Run: `.venv/bin/python -m bench.attachments.run --backends {args.backends} --file-mb {args.file_mb} "
        f"--photo-mp {args.photo_mp} --repeats {args.repeats} --download-seconds {args.download_seconds} "
        f"--clients {args.clients}` on this 2-core machine, one `safeshare serve` worker, loopback.", "",
        f"Budget per worker: a request that stores a file raises the peak by at most {FIXED_MB} MB, plus "
        f"{PER_MEGAPIXEL_MB} MB per megapixel of an image; a download by at most {FIXED_MB} MB.", "",
        "## Uploads (median of the repeats; time includes type check, cleaning, sealing and storing)", "",
        "| database | way in | file | MB | seconds | peak above before (MB) | budget (MB) |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for u in r["uploads"]:
            groups.setdefault((u["way"], u["file"]), []).append(u)
        for (way, name), rows in groups.items():
            lines.append(f"| {r['backend']} | {'API' if way == 'api' else 'report form'} | {name} | {rows[0]['mb']} | "
                         f"{_median([x['seconds'] for x in rows]):.2f} | "
                         f"{max(x['peak_above_mb'] for x in rows)} | {rows[0]['budget_mb']} |")
    lines += ["", "## Downloads (staff, `GET /api/v1/cases/{id}/attachments/{attachment_id}`, streamed and audited)", "",
              "| database | file | clients | downloads/s | MB/s | peak above before (MB) |",
              "| --- | --- | ---: | ---: | ---: | ---: |"]
    for r in results:
        for name, d in r["downloads"].items():
            lines.append(f"| {r['backend']} | {name} | {d['clients']} | {d['per_second']} | {d['mb_per_second']} | "
                         f"{d['peak_above_mb']} |")
    lines += ["", "Server peak over the whole run (resident, the one worker): " + ", ".join(
        f"{r['backend']} {r['server_peak_mb']} MB" for r in results) + ".", ""]
    bad = over_budget(results)
    lines += ["Over budget: " + ("none." if not bad else "; ".join(bad)), ""]
    path.write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--file-mb", type=int, default=10)
    parser.add_argument("--photo-mp", type=int, default=12)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--download-seconds", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--out", type=Path, default=RESULTS / "attachments.md")
    args = parser.parse_args(argv)
    photo = phone_photo(args.photo_mp)
    files = {
        f"{args.file_mb}mb.txt": (text_file(args.file_mb), 0.0),
        f"{args.file_mb}mb.pdf": (pdf_file(args.file_mb), 0.0),
        f"IMG_{args.photo_mp}mp.jpg": (photo, float(args.photo_mp)),
    }
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends.split(","):
            results.append(run_backend(backend, files=files, repeats=args.repeats,
                                       download_seconds=args.download_seconds, clients=args.clients,
                                       workdir=Path(tmp)))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(results, indent=2) + "\n")
    write_markdown(results, args, args.out)
    bad = over_budget(results)
    print(args.out.read_text())
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
