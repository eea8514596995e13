"""Helpers shared by the foundation tests: running the real CLI, making an encrypted case."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from app.config import Settings
from tests.conftest import FAST_ARGON2

ROOT = Path(__file__).resolve().parents[2]


def env_for(settings: Settings, **extra: str) -> dict[str, str]:
    """The SAFESHARE_ environment that reproduces these settings for a CLI process."""
    env = {
        "SAFESHARE_DATABASE_URL": settings.database_url,
        "SAFESHARE_KEY_FILE": str(settings.key_file),
        **{f"SAFESHARE_{k.upper()}": str(v) for k, v in FAST_ARGON2.items()},
    }
    env.update(extra)
    return env


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """The CLI reconfigures logging for the whole process; put pytest's set-up back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    access = logging.getLogger("uvicorn.access")
    saved = (access.handlers[:], access.propagate, access.disabled)
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    access.handlers[:], access.propagate, access.disabled = saved


@pytest.fixture
def run_cli(restore_logging: None) -> Callable[..., Any]:
    """Run `safeshare ARGS` in this process (typer's CliRunner) with the given environment."""
    from app.cli import cli

    def run(args: list[str], env: dict[str, str], input: str | None = None) -> Any:
        return CliRunner().invoke(cli, args, env=env, input=input, catch_exceptions=False)

    return run


def run_safeshare(args: list[str], env: dict[str, str], cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run the real `safeshare` console command in a child process with only SAFESHARE_ settings given."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("SAFESHARE_")}
    exe = Path(sys.executable).with_name("safeshare")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-c", "from app.cli import main; main()"]
    return subprocess.run(
        cmd + args, env={**base, **env}, cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture
def make_case(app: Any) -> Callable[..., uuid.UUID]:
    """Store a concern through the real intake service; returns the case id."""
    from app.cases import intake
    from app.cases.schemas import ReportIn
    from app.enums import Channel

    def make(description: str = "My manager shouts at me in meetings.", **fields: Any) -> uuid.UUID:
        with app.state.sessionmaker() as s, s.begin():
            case = intake.create_case(
                s, app.state.keyring, app.state.settings,
                data=ReportIn(description=description, **fields), channel=Channel.WEB,
            )
            return case.id

    return make
