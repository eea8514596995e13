"""A client generated from the OpenAPI document works as a developer would use it.

openapi-python-client (requirements/openapi-client.txt, hash-checked) is installed into a
temporary virtual environment of its own: it pins typer and httpx below the versions Safe Share
uses, so it cannot share the project's. It generates a client from the document the service
serves; a script run in that environment submits a concern, signs in with the receipt (typed by
hand: lower case, spaces), writes and reads the thread, and is refused a wrong receipt with a
problem document, against a real server on each database.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from app.config import load_settings
from app.main import create_app
from tests.conftest import TEST_DEFAULTS

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = r'''
import datetime, json, sys
from safeshare_client import AuthenticatedClient, Client
from safeshare_client.api.reporters import (post_reporter_message, read_reporter_case, start_reporter_session,
                                            submit_report)
from safeshare_client.models import MessageIn, Problem, ReceiptIn, ReporterCaseOut, ReportIn, ReportOut

base = sys.argv[1]
with Client(base_url=base) as client:
    out = submit_report.sync(client=client, body=ReportIn(description="My manager shouts at me in front of the crew."),
                             idempotency_key="generated-client-1")
    assert isinstance(out, ReportOut), out
    assert isinstance(out.created_at, datetime.datetime) and out.created_at.tzinfo is not None
    again = submit_report.sync_detailed(client=client, body=ReportIn(description="My manager shouts at me in front of the crew."),
                                        idempotency_key="generated-client-1")
    assert again.parsed.reference == out.reference and again.headers["Idempotent-Replayed"] == "true"
    typed = out.receipt.lower().replace("-", " ")
    session = start_reporter_session.sync(client=client, body=ReceiptIn(receipt=typed))
    wrong = start_reporter_session.sync(client=client, body=ReceiptIn(receipt="0000-0000-0000-0000-0000-0000"))
    assert isinstance(wrong, Problem) and wrong.status == 401, wrong
with AuthenticatedClient(base_url=base, token=session.token) as reporter:
    post_reporter_message.sync(client=reporter, body=MessageIn(body="It happened again today."))
    case = read_reporter_case.sync(client=reporter)
    assert isinstance(case, ReporterCaseOut), case
print(json.dumps({"reference": out.reference, "read_back": case.reference, "status": str(getattr(case.status, "value", case.status)),
                  "messages": [m.body for m in case.messages], "expires_at": session.expires_at.isoformat(),
                  "wrong_type": wrong.type_}))
'''


@pytest.fixture(scope="session")
def client_env(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """A temporary environment with openapi-python-client, and the client it generated: built once
    for the run, by whichever test worker gets there first (the others wait on a lock)."""
    shared = tmp_path_factory.getbasetemp() if worker_id == "master" else tmp_path_factory.getbasetemp().parent
    where = shared / "generated-client"
    with open(shared / "generated-client.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (where / "use_it.py").exists():
            shutil.rmtree(where, ignore_errors=True)  # a build another worker left half-done
            where.mkdir()
            _build_client(where)
    return where


def _build_client(where: Path) -> None:
    venv = where / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    install = subprocess.run(
        [str(venv / "bin/python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--require-hashes",
         "-r", str(ROOT / "requirements/openapi-client.txt")], capture_output=True, text=True, timeout=600)
    assert install.returncode == 0, install.stderr[-2000:]
    application = create_app(load_settings(database_url=f"sqlite:///{where}/unused.db", key_file=where / "keys.json",
                                           **TEST_DEFAULTS))
    (where / "openapi.json").write_text(json.dumps(application.openapi()))
    # The generator reads bytes only as application/octet-stream: a PDF (the case hand-off) is bytes too.
    (where / "config.json").write_text(json.dumps({"content_type_overrides": {"application/pdf": "application/octet-stream"}}))
    application.state.engine.dispose()
    done = subprocess.run(
        [str(venv / "bin/openapi-python-client"), "generate", "--path", str(where / "openapi.json"), "--meta", "none",
         "--config", str(where / "config.json"), "--output-path", str(where / "safeshare_client")],
        capture_output=True, text=True, timeout=300, env={**os.environ, "PATH": f"{venv / 'bin'}:{os.environ['PATH']}"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Warning" not in done.stdout + done.stderr, done.stdout + done.stderr  # every operation and model generated
    (where / "use_it.py").write_text(SCRIPT)


def test_a_generated_client_submits_a_report_and_reads_it_back_with_the_receipt(
    client_env: Path, live_server: str
) -> None:
    # The generated functions carry the operations' names.
    functions = {p.stem for p in (client_env / "safeshare_client/api/reporters").glob("*.py")}
    assert {"submit_report", "start_reporter_session", "read_reporter_case"} <= functions
    done = subprocess.run([str(client_env / "venv/bin/python"), "use_it.py", live_server], cwd=client_env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    assert result["read_back"] == result["reference"] and result["status"] == "received"
    assert result["messages"] == ["It happened again today."]
    assert result["expires_at"].endswith("+00:00")
    assert result["wrong_type"] == "/problems/unauthorized"
