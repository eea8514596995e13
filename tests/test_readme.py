"""The README works as written: its first steps, run on a fresh install, and every `create-user`
example in the README and docs/, each one line with a password the rules accept.

"A fresh install" is an empty folder with the project's environment (`.venv`) and nothing else:
no database, no key ring, no settings (every `SAFESHARE_` variable removed), exactly what a
newcomer has after `scripts/run` set up `.venv`. `scripts/run` itself is `scripts/_env.sh` (which
CI runs on a clean checkout) and then `safeshare serve`: the test starts `safeshare serve` there
on a free port, and the block's commands talk to that port instead of 8000.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import _free_port

ROOT = Path(__file__).resolve().parents[1]
VENV = Path(sys.executable).parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def block_of(path: Path, name: str) -> list[str]:
    """The commands of the ```sh block right after `<!-- tested: NAME ...-->`, one per line
    (comment lines dropped, trailing comments kept: bash ignores them)."""
    text = path.read_text()
    marker = text.index(f"<!-- tested: {name}")
    block = re.search(r"```sh\n(.*?)```", text[marker:], re.DOTALL)
    assert block is not None
    return [line for line in block.group(1).splitlines() if line.strip() and not line.lstrip().startswith("#")]


def fresh_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFESHARE_")}
    # Staff passwords are hashed with the production argon2 cost here, as a newcomer's would be.
    return env


@pytest.fixture
def fresh_install(tmp_path: Path) -> Path:
    home = tmp_path / "safeshare"
    home.mkdir()
    (home / ".venv").symlink_to(VENV)
    return home


def serve(cwd: Path, env: dict[str, str]) -> tuple[subprocess.Popen[str], int]:
    """`safeshare serve` as scripts/run starts it, on a free port; returns once it listens."""
    port = _free_port()
    proc = subprocess.Popen([".venv/bin/safeshare", "serve", "--port", str(port)], cwd=cwd, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    deadline = time.monotonic() + 60
    for line in proc.stderr:
        if "Safe Share is listening on" in line:
            return proc, port
        if time.monotonic() > deadline:
            break
    proc.kill()
    raise AssertionError("safeshare serve did not start")


def run_line(line: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-c", f"set -o pipefail; {line}"], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


def test_the_first_steps_work_on_a_fresh_install(fresh_install: Path, stop_afterwards: list[Any]) -> None:
    env = fresh_env()
    proc, port = serve(fresh_install, env)
    stop_afterwards.append(proc)
    lines = block_of(ROOT / "README.md", "first steps")
    assert sum("create-user" in line for line in lines) >= 2
    said = []
    for line in lines:
        done = run_line(line.replace("127.0.0.1:8000", f"127.0.0.1:{port}"), fresh_install, env)
        assert done.returncode == 0, f"README line failed: {line}\n{done.stdout}{done.stderr}"
        said.append(done.stdout)
    # The sign-in it shows answers what the README says: an authenticator must be set up first.
    login = json.loads(said[-1])
    assert login["totp_setup_required"] is True and login["user"]["roles"] == ["admin"]
    readme = (ROOT / "README.md").read_text()
    assert "authenticator app" in readme.split("### First steps", 1)[1].split("###", 1)[0]
    # ...and the key ring was created where the README says, to be backed up.
    assert (fresh_install / "var" / "keys.json").exists() and (fresh_install / "var" / "safeshare.db").exists()


def _create_user_examples() -> list[tuple[str, str]]:
    found = []
    for path in DOCS:
        for line in path.read_text().splitlines():
            if "create-user" in line and "echo '" in line:
                found.append((path.name, line.strip().strip("`")))
    return found


def test_every_create_user_example_is_one_line_that_works(tmp_path: Path) -> None:
    examples = _create_user_examples()
    assert len(examples) >= 4  # README (first steps, Docker) and docs/operations.md
    tried: set[str] = set()
    for where, line in examples:
        m = re.search(r"(echo '[^']+' \| )(\.venv/bin/safeshare|docker compose exec -T app safeshare) (create-user .*)$",
                      line)
        assert m, f"{where}: not one `echo '…' | … safeshare create-user EMAIL …` line: {line}"
        if m.group(1) + m.group(3) in tried:
            continue  # the same command in the container or another document: tried once
        tried.add(m.group(1) + m.group(3))
        home = tmp_path / f"example{len(list(tmp_path.iterdir()))}"
        home.mkdir()
        (home / ".venv").symlink_to(VENV)
        # After `scripts/run` (or the container's start), which migrates; in Docker the same command
        # runs in the container, here on a fresh install.
        assert run_line(".venv/bin/safeshare migrate", home, fresh_env()).returncode == 0
        done = run_line(f"{m.group(1)}.venv/bin/safeshare {m.group(3)}", home, fresh_env())
        assert done.returncode == 0, f"{where}: {line}\n{done.stderr}"


def test_operations_has_each_section_once() -> None:
    headings = re.findall(r"^#+ .+$", (ROOT / "docs/operations.md").read_text(), re.MULTILINE)
    assert len(headings) == len(set(headings)), [h for h in headings if headings.count(h) > 1]
