"""Fixtures for the reporters' pages: a real uvicorn server on the test's own database, and
Debian's headless Chromium with JavaScript switched off (never `playwright install`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture
def page(chromium: Any, live_server: str) -> Iterator[Any]:
    """A fresh browser profile with JavaScript disabled, pointed at the live server."""
    context = chromium.new_context(java_script_enabled=False, base_url=live_server)
    context.set_default_timeout(10_000)
    pg = context.new_page()
    yield pg
    context.close()
