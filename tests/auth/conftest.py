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


class Outbox:
    """The security notices committed so far, read back from the notification outbox (one notice
    per kind, subject and body, with all its recipients), oldest first."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.skip = 0

    def _all(self) -> list[notices.Notice]:
        from sqlalchemy import select

        from app.auth.models import User
        from app.notify.models import Notification

        with self.app.state.sessionmaker() as s:
            rows = s.execute(
                select(Notification.kind, Notification.subject, Notification.body, User.email, Notification.created_at)
                .join(User, User.id == Notification.user_id)
                .where(Notification.subject.is_not(None))
                .order_by(Notification.created_at)
            ).all()
        grouped: dict[tuple[str, str, str], list[str]] = {}
        for kind, subject, body, email, _at in rows:
            grouped.setdefault((kind, subject, body), []).append(email)
        return [notices.Notice(kind, tuple(sorted(to)), subject, body) for (kind, subject, body), to in grouped.items()]

    def __iter__(self) -> Iterator[notices.Notice]:
        return iter(self._all()[self.skip:])

    def clear(self) -> None:
        self.skip = len(self._all())


@pytest.fixture
def mail(app: Any) -> Outbox:
    """The security notices committed during the test (app/auth/notices.py, through the outbox)."""
    return Outbox(app)


def login(client: TestClient, email: str, password: str, totp: str | None = None, **kw: Any) -> Any:
    body = {"email": email, "password": password}
    if totp is not None:
        body["totp"] = totp
    return client.post(LOGIN, json=body, **kw)


def enrol_by_link(app: Any, mail: Outbox, email: str, password: str = "the owner's own passphrase") -> None:
    """What the owner of a new account does: follow the link e-mailed to them and choose a password."""
    import re

    from tests.web.helpers import csrf

    notice = [n for n in mail._all() if n.kind == "enrolment" and n.to == (email,)][-1]
    found = re.search(r"/enrol/(\S+)", notice.body)
    assert found is not None
    path = f"/enrol/{found.group(1)}"
    with TestClient(app) as owner:
        r = owner.post(path, data={"csrf_token": csrf(owner, path), "new_password": password,
                                   "confirm_password": password}, follow_redirects=False)
        assert r.status_code == 303, r.text
