"""The staff console's tests: the casework world of tests/cases, seen through the pages.

Each staff user browses with a client of their own, signed in with the same kind of staff
session the sign-in page sets (the `ss_staff` cookie).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.cases.conftest import World, world  # noqa: F401 - the fixture, shared

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


class Browser:
    """A staff user's browser: the sign-in cookie, the CSRF cookie, and a way to post forms."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    def get(self, path: str, **kw: Any) -> Any:
        return self.client.get(path, follow_redirects=False, **kw)

    def token(self, path: str = "/staff") -> str:
        page = self.client.get(path)
        found = CSRF_RE.search(page.text)
        assert found, f"no form token on {path}"
        return found.group(1)

    def post(self, path: str, data: dict[str, Any] | None = None, *, token: str | None = None) -> Any:
        form = {"csrf_token": token if token is not None else self.token("/login"), **(data or {})}
        return self.client.post(path, data=form, follow_redirects=False)


@pytest.fixture
def browser(app: Any) -> Iterator[Callable[[str | None], Browser]]:
    """`browser("safeguarding")`: a signed-in browser for a person of the world (None: nobody)."""
    clients: list[TestClient] = []

    def make(token: str | None) -> Browser:
        client = TestClient(app, raise_server_exceptions=False)
        clients.append(client)
        if token:
            client.cookies.set("ss_staff", token)
        return Browser(client)

    yield make
    for c in clients:
        c.close()


@pytest.fixture
def as_(world: World, browser: Callable[[str | None], Browser]) -> Callable[[str], Browser]:  # noqa: F811
    """`as_("assigned_hr")`: that person of the world, signed in through the cookie."""
    cache: dict[str, Browser] = {}

    def get(who: str) -> Browser:
        if who not in cache:
            cache[who] = browser(None if who == "none" else world.staff[who].token)
        return cache[who]

    return get


def case_link(case_id: uuid.UUID) -> str:
    return f"/staff/cases/{case_id}"
