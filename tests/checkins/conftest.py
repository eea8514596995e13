"""Arranging cases for the check-in tests: cases come from the real intake service, and the HR
contact is set directly in the database (the assignment endpoint lives in the casework branch)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from app.cases import access
from app.cases.intake import create_case
from app.cases.models import Case, Exclusion
from app.cases.schemas import ReportIn
from app.checkins import service as checkins
from app.enums import Channel, Status

SECRET_DESCRIPTION = "My sergeant keeps shouting at me in front of the watch and I dread every shift."


@pytest.fixture
def new_case(app: Any, settings: Any) -> Callable[..., tuple[str, str]]:
    """Create a case; returns (case id, reference)."""

    def make(description: str = SECRET_DESCRIPTION) -> tuple[str, str]:
        with app.state.sessionmaker() as s, s.begin():
            case = create_case(
                s, app.state.keyring, settings, data=ReportIn(description=description), channel=Channel.WEB
            )
            return str(case.id), case.reference

    return make


@pytest.fixture
def assign(app: Any, settings: Any) -> Callable[[str, str], str]:
    """Make `hr_id` the case's HR contact and book the first check-in; returns its id."""

    def do(case_id: str, hr_id: str) -> str:
        with app.state.sessionmaker() as s, s.begin():
            case = s.get(Case, uuid.UUID(case_id))
            assert case is not None
            case.hr_contact_id = uuid.UUID(hr_id)
            case.status = Status.IN_PROGRESS
            first = checkins.schedule_first(s, settings, case_id=case.id, hr_contact_id=case.hr_contact_id)
            return str(first.id)

    return do


@pytest.fixture
def close_case(app: Any) -> Callable[[str], None]:
    """Close a case as the closure service will: status closed and open check-ins cancelled."""
    from app import clock

    def do(case_id: str) -> None:
        with app.state.sessionmaker() as s, s.begin():
            case = s.get(Case, uuid.UUID(case_id))
            assert case is not None
            case.status = Status.CLOSED
            case.closed_at = clock.now()
            checkins.cancel_open(s, case_id=case.id)

    return do


@pytest.fixture
def exclude(app: Any) -> Callable[[str, str], None]:
    def do(case_id: str, user_id: str) -> None:
        with app.state.sessionmaker() as s, s.begin():
            s.add(Exclusion(case_id=uuid.UUID(case_id), user_lookup=access.exclusion_lookup(s, uuid.UUID(user_id))))

    return do
