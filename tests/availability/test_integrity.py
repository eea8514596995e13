"""A stored ciphertext that fails authentication on read: never shown, a problem of its own type,
an audit entry and an integrity alert in the log (never "something went wrong")."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from app.audit.models import AuditEvent
from app.cases.models import Case

TEXT = "A colleague has been taking money from the charity tin."


def _tamper(app: Any, case_id: str) -> None:
    with app.state.sessionmaker() as s, s.begin():
        blob = s.scalar(select(Case.description_ct).where(Case.id == uuid.UUID(case_id)))
        assert blob is not None
        flipped = blob[:-1] + bytes([blob[-1] ^ 0x01])
        s.execute(update(Case).where(Case.id == uuid.UUID(case_id)).values(description_ct=flipped))


def test_a_tampered_description_is_an_integrity_failure_audited_and_alerted(
    app: Any, client: TestClient, make_staff: Any, caplog: pytest.LogCaptureFixture
) -> None:
    staff = make_staff("safeguarding")
    case_id = client.post("/api/v1/cases", headers=staff.headers, json={
        "description": TEXT, "channel": "phone", "received_at": "2026-01-05T10:00:00Z"}).json()["id"]
    _tamper(app, case_id)
    with caplog.at_level(logging.INFO):
        r = client.get(f"/api/v1/cases/{case_id}", headers=staff.headers)
    assert r.status_code == 500
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["type"].endswith("/integrity-failure")
    assert "integrity" in problem["title"].lower() and "Something went wrong" not in problem["detail"]
    assert TEXT not in r.text
    alerts = [rec for rec in caplog.records if rec.name == "safeshare.integrity"]
    assert len(alerts) == 1 and alerts[0].levelno == logging.ERROR
    assert alerts[0].case_id == case_id and alerts[0].where == "cases.description"
    assert all(TEXT not in rec.getMessage() for rec in caplog.records)
    with app.state.sessionmaker() as s:
        entry = s.scalars(select(AuditEvent).where(AuditEvent.action == "integrity.failure")).one()
    assert entry.case_id == uuid.UUID(case_id) and entry.actor == staff.email and entry.target == "cases.description"
