"""What an operator reads: one line for a bad setting, a warning for a misspelt one, `serve`
saying "listening" only once it is, help without Typer's type markers, and the key-ring reminder."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from app.config import SettingsError, load_settings, unknown_settings
from tests.foundation.conftest import env_for, run_safeshare


def _only_line(text: str) -> str:
    lines = [ln for ln in text.splitlines() if ln.strip()]
    assert len(lines) == 1, text
    return lines[0]


# -- settings ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("level", ["LOUD", "verbose", "5"])
def test_unknown_log_level_is_one_line_naming_the_setting(tmp_path: Path, level: str) -> None:
    proc = run_safeshare(["migrate"], {"SAFESHARE_LOG_LEVEL": level, "SAFESHARE_DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}, tmp_path)
    assert proc.returncode == 2
    line = _only_line(proc.stderr)
    assert line.startswith("error: SAFESHARE_LOG_LEVEL: expected one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
    assert "Traceback" not in proc.stderr + proc.stdout


def test_log_level_is_accepted_in_any_letter_case() -> None:
    assert load_settings(log_level="debug").log_level == "DEBUG"


@pytest.mark.parametrize("url", ["not a url", "safeshare.example.org", "ftp://safeshare.example.org", "https://", "http:// x"])
def test_public_url_must_be_an_absolute_http_url(url: str) -> None:
    with pytest.raises(SettingsError, match=r"^SAFESHARE_PUBLIC_URL: expected an absolute http\(s\) URL"):
        load_settings(public_url=url)


def test_a_good_public_url_is_kept() -> None:
    assert load_settings(public_url="https://safeshare.example.org/").public_url == "https://safeshare.example.org/"


def test_bad_public_url_stops_a_command_in_one_line(tmp_path: Path) -> None:
    proc = run_safeshare(["migrate"], {"SAFESHARE_PUBLIC_URL": "not a url", "SAFESHARE_DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}, tmp_path)
    assert proc.returncode == 2
    assert _only_line(proc.stderr).startswith("error: SAFESHARE_PUBLIC_URL: ")


def test_bad_quick_exit_url_names_the_setting() -> None:
    with pytest.raises(SettingsError, match=r"^SAFESHARE_QUICK_EXIT_URL: "):
        load_settings(quick_exit_url="javascript:alert(1)")


def test_misspelt_setting_is_pointed_out_with_the_likely_one(tmp_path: Path) -> None:
    env = {"SAFESHARE_LOGLEVEL": "debug", "SAFESHARE_DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}
    proc = run_safeshare(["migrate"], env, tmp_path)
    assert proc.returncode == 0, proc.stderr  # a warning, not a refusal
    warning = _only_line(proc.stderr)
    assert warning == ("warning: SAFESHARE_LOGLEVEL in the environment is not a Safe Share setting and is ignored "
                       "(did you mean SAFESHARE_LOG_LEVEL?)")


def test_unknown_names_in_the_env_file_are_pointed_out_too(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("SAFESHARE_PUBLIC_ULR=https://x.example.org\nPOSTGRES_PASSWORD=secret\nSAFESHARE_MIN_CELL=3\n")
    warnings = unknown_settings({"PATH": "/bin", "SAFESHARE_TEST_PG": "postgresql://x", "safeshare_key_file": "k"}, env_file)
    assert warnings == [f"SAFESHARE_PUBLIC_ULR in {env_file} is not a Safe Share setting and is ignored "
                        "(did you mean SAFESHARE_PUBLIC_URL?)"]


def test_a_name_like_no_setting_gets_no_guess() -> None:
    assert unknown_settings({"SAFESHARE_BANANA": "1"}, None) == [
        "SAFESHARE_BANANA in the environment is not a Safe Share setting and is ignored"]


# -- serve -------------------------------------------------------------------------------------------


def test_serve_says_listening_only_once_the_port_takes_connections(tmp_path: Path) -> None:
    env = {"SAFESHARE_DATABASE_URL": f"sqlite:///{tmp_path}/x.db", "SAFESHARE_KEY_FILE": str(tmp_path / "keys.json")}
    exe = Path(sys.executable).with_name("safeshare")
    import os

    base = {k: v for k, v in os.environ.items() if not k.startswith("SAFESHARE_")}
    proc = subprocess.Popen([str(exe), "serve", "--port", "0"], env={**base, **env}, cwd=tmp_path,
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    try:
        assert proc.stderr is not None
        deadline = time.monotonic() + 60
        port = None
        while port is None and time.monotonic() < deadline:
            line = proc.stderr.readline()
            assert line, "serve ended without saying where it listens"
            m = re.search(r"Safe Share is listening on http://127\.0\.0\.1:(\d+)/", line)
            port = int(m.group(1)) if m else None
        assert port
        # The very moment it says so, a connection is accepted (not refused).
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_serve_on_a_port_in_use_says_so_in_one_line_and_never_listening(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = run_safeshare(["serve", "--port", str(port)], {
            "SAFESHARE_DATABASE_URL": f"sqlite:///{tmp_path}/x.db", "SAFESHARE_KEY_FILE": str(tmp_path / "keys.json")}, tmp_path)
    assert proc.returncode == 2
    assert "listening" not in proc.stderr.lower()
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert errors == [f"error: cannot listen on 127.0.0.1:{port}: Address already in use"]
    assert "Traceback" not in proc.stderr


# -- help --------------------------------------------------------------------------------------------


def _help(run_cli: Any, *args: str, width: int = 100) -> str:
    result = run_cli([a for a in args if a] + ["--help"], {"COLUMNS": str(width)})
    assert result.exit_code == 0, result.output
    return str(result.output)


def test_help_has_no_type_markers_or_braces(run_cli: Any) -> None:
    texts = {name: _help(run_cli, name) for name in ["", "create-user", "serve", "remind", "purge", "report", "rotate-key"]}
    for name, text in texts.items():
        assert not re.search(r"<(bool|str|int|list\[str\]|int range|path)>", text), (name, text)
        assert not re.search(r"\{\w+\}", text), (name, text)
    assert re.search(r"Usage: \S+ create-user \[OPTIONS\] EMAIL\s", texts["create-user"])
    assert re.search(r"--port\s+PORT\s+Port to listen on", texts["serve"])


def test_help_reflows_docstrings_instead_of_keeping_their_line_breaks(run_cli: Any) -> None:
    text = _help(run_cli, width=160)
    row = next(ln for ln in text.splitlines() if "│ remind" in ln)
    # On a wide terminal the row of `remind` runs on past its docstring's own line break (after
    # "safe to run"), which Typer's default mode kept.
    assert "safe to run from cron on several hosts" in row, text


# -- rotate-key --------------------------------------------------------------------------------------


def test_rotate_key_reminds_to_back_up_the_key_file(app: Any, settings: Any, run_cli: Any) -> None:
    result = run_cli(["rotate-key"], env_for(settings))
    assert result.exit_code == 0, result.output
    last = result.output.strip().splitlines()[-1]
    assert "Back up" in last and str(settings.key_file) in last and "SAFESHARE_KEY_FILE" in last


