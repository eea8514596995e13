"""Helpers for the sign-in security tests: codes computed from the secret, as an authenticator
app would, and a staff user with two-factor sign-in set up through the API."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp
import pytest
from fastapi.testclient import TestClient

from app import clock
from app.auth import notices

LOGIN = "/api/v1/auth/login"
T0 = datetime(2026, 3, 2, 10, 0, 5, tzinfo=UTC)  # 5 s into a 30 s step
REQUIRED = {"require_2fa_roles": "admin,safeguarding,hr"}


def code(secret: str, at: datetime, steps: int = 0) -> str:
    """What an authenticator app shows at `at` (plus `steps` steps of 30 s)."""
    return pyotp.TOTP(secret).at(at + timedelta(seconds=30 * steps))


@dataclass
class TwoFactor:
    secret: str
    recovery_codes: list[str]


@pytest.fixture
def frozen() -> Iterator[datetime]:
    clock.set_frozen(T0)
    yield T0
    clock.set_frozen(None)


@pytest.fixture
def enable_totp(client: TestClient) -> Callable[..., TwoFactor]:
    """Set up two-factor sign-in for a staff user through the API, at the frozen time."""

    def enable(staff: Any) -> TwoFactor:
        r = client.post("/api/v1/auth/totp/setup", headers=staff.headers)
        assert r.status_code == 200, r.text
        secret = r.json()["secret"]
        r = client.post("/api/v1/auth/totp/confirm", json={"code": code(secret, clock.now())}, headers=staff.headers)
        assert r.status_code == 200, r.text
        return TwoFactor(secret, r.json()["recovery_codes"])

    return enable


@pytest.fixture
def mail() -> Iterator[Any]:
    """The security notices committed during the test (see app/auth/notices.py)."""
    notices.recorded.clear()
    yield notices.recorded
    notices.recorded.clear()


def login(client: TestClient, email: str, password: str, totp: str | None = None, **kw: Any) -> Any:
    body = {"email": email, "password": password}
    if totp is not None:
        body["totp"] = totp
    return client.post(LOGIN, json=body, **kw)
