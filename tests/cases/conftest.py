"""A small world for the casework tests: one person per row of the role matrix, and a factory
for cases already assigned to `hr` with two people excluded from them."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from app import clock, flows
from app.audit.models import AuditEvent
from app.auth.models import User
from app.cases import intake
from app.cases.models import Case
from app.cases.schemas import ReportIn
from app.enums import Channel
from app.reports.models import ReporterSession

DESCRIPTION = "My line manager shouts at me in front of the team every week."


@dataclass
class World:
    staff: dict[str, Any]  # actor name -> Staff (or None for "no token")
    new_case: Callable[..., uuid.UUID]
    reporter_token: Callable[[uuid.UUID], str]

    def headers(self, who: str, case_id: uuid.UUID | None = None) -> dict[str, str]:
        if who == "none":
            return {}
        if who == "reporter":
            assert case_id is not None
            return {"Authorization": f"Bearer {self.reporter_token(case_id)}"}
        return self.staff[who].headers

    def id(self, who: str) -> str:
        return self.staff[who].id


@pytest.fixture
def world(app: Any, make_staff: Callable[..., Any]) -> World:
    staff = {
        "safeguarding": make_staff("safeguarding", name="Sam Safeguarding"),
        "assigned_hr": make_staff("hr", name="Alex Assigned"),
        "other_hr": make_staff("hr", name="Olly Other"),
        "excluded_safeguarding": make_staff("safeguarding", name="Eve Excluded"),
        "excluded_hr": make_staff("hr", name="Fred Formerly"),
        "leadership": make_staff("leadership", name="Lee Leader"),
        "admin": make_staff("admin", name="Ada Admin"),
    }

    def new_case(*, assign: bool = True, exclude: bool = True, description: str = DESCRIPTION) -> uuid.UUID:
        """A web report; the excluded HR user was its contact before being excluded; then `assigned_hr`."""
        ring, settings = app.state.keyring, app.state.settings
        with app.state.sessionmaker() as s, s.begin():
            sg = s.get(User, uuid.UUID(staff["safeguarding"].id))
            new = intake.create_case(s, ring, settings, data=ReportIn(description=description), channel=Channel.WEB)
            case = s.get(Case, new.id)
            assert case is not None
            if exclude:
                flows.assign_hr_contact(s, settings, user=sg, case=case, user_id=uuid.UUID(staff["excluded_hr"].id))
                for who in ("excluded_hr", "excluded_safeguarding"):
                    flows.exclude(s, ring, user=sg, case=case, user_id=uuid.UUID(staff[who].id), reason="named")
            if assign:
                flows.assign_hr_contact(s, settings, user=sg, case=case, user_id=uuid.UUID(staff["assigned_hr"].id))
            return case.id

    def reporter_token(case_id: uuid.UUID) -> str:
        # A live reporter session for the case, stored the way staff sessions are (hash only).
        token = "ssr_" + secrets.token_urlsafe(32)
        with app.state.sessionmaker() as s, s.begin():
            s.add(ReporterSession(
                token_hash=hashlib.sha256(token.encode()).digest(), case_id=case_id,
                expires_at=clock.now() + timedelta(minutes=30),
            ))
        return token

    return World(staff, new_case, reporter_token)


def audit_count(app: Any) -> int:
    with app.state.sessionmaker() as s:
        return s.scalar(select(func.count()).select_from(AuditEvent)) or 0


def load_case(app: Any, case_id: uuid.UUID) -> Case:
    with app.state.sessionmaker() as s:
        case = s.get(Case, case_id)
        assert case is not None
        s.expunge(case)
        return case


def run_purge(settings: Any) -> str:
    """`safeshare purge` in-process, against the test's database, with the clock as frozen."""
    import logging

    from typer.testing import CliRunner

    from app.cli import cli

    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    env = {"SAFESHARE_DATABASE_URL": settings.database_url, "SAFESHARE_KEY_FILE": str(settings.key_file)}
    try:
        result = CliRunner().invoke(cli, ["purge"], env=env)
    finally:
        # The command points logging at the runner's stderr, which closes when it returns.
        root.handlers[:], root.level = handlers, level
    assert result.exit_code == 0, result.output
    return result.output.strip()
