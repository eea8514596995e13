"""The casework world (tests/cases/conftest.py) and helpers to upload files and read them back with exiftool."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.cases.conftest import World, world  # noqa: F401 - the fixture, shared
from tests.console.conftest import as_, browser  # noqa: F401 - the fixtures, shared

EXIFTOOL = shutil.which("exiftool")
CI_RUN = __import__("os").environ.get("CI", "").lower() == "true"


@pytest.fixture(scope="session")
def exiftool() -> str:
    if EXIFTOOL is None:
        if CI_RUN:
            pytest.fail("exiftool is required under CI=true (scripts/test installs libimage-exiftool-perl)")
        pytest.skip("exiftool is not installed (apt-get install libimage-exiftool-perl)")
    return EXIFTOOL


def exif_dump(exiftool: str, data: bytes, tmp_path: Path, name: str) -> str:
    """Everything exiftool finds in these bytes (all groups, embedded documents too)."""
    path = tmp_path / f"{uuid.uuid4().hex[:8]}-{name}"
    path.write_bytes(data)
    return subprocess.run([exiftool, "-a", "-G1", "-ee", "-u", str(path)], capture_output=True, text=True,
                          check=True).stdout


def upload(client: Any, url: str, headers: dict[str, str], name: str, data: bytes,
           content_type: str = "application/octet-stream") -> Any:
    return client.post(url, headers=headers, files={"file": (name, data, content_type)})


def case_url(case_id: uuid.UUID, rest: str = "") -> str:
    return f"/api/v1/cases/{case_id}/attachments{rest}"


__all__ = ["World", "case_url", "exif_dump", "upload"]
