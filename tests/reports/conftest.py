"""Helpers for the reporter API tests: submit a concern, sign in with its receipt, close its case."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import clock
from app.cases.models import Case
from app.enums import Status

DESCRIPTION = "My manager shouts at me in team meetings and I dread going in."


def report(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"description": DESCRIPTION}
    body.update(overrides)
    return body


@pytest.fixture
def submit(client: TestClient) -> Callable[..., dict[str, Any]]:
    """Submit a concern through the API and return the 201 body."""

    def do(body: dict[str, Any] | None = None, **headers: str) -> dict[str, Any]:
        r = client.post("/api/v1/reports", json=body or report(), headers=headers)
        assert r.status_code == 201, r.text
        return r.json()

    return do


@pytest.fixture
def sign_in(client: TestClient) -> Callable[[str], dict[str, str]]:
    """Redeem a receipt and return the Authorization header for the reporter token."""

    def do(receipt: str) -> dict[str, str]:
        r = client.post("/api/v1/reporter/session", json={"receipt": receipt})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['token']}"}

    return do


@pytest.fixture
def close_case(db: Session) -> Callable[[str], None]:
    """Close a case directly in the database (closing through the API belongs to casework)."""

    def do(reference: str) -> None:
        case = db.scalar(select(Case).where(Case.reference == reference))
        assert case is not None
        case.status = Status.CLOSED
        case.closed_at = clock.now()
        db.commit()

    return do


def count(db: Session, model: Any) -> int:
    """Rows of a model, read in a transaction of its own: on SQLite an open one would hold the write lock."""
    from sqlalchemy import func

    db.rollback()
    try:
        return db.scalar(select(func.count()).select_from(model)) or 0
    finally:
        db.rollback()
