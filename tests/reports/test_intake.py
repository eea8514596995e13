"""POST /api/v1/reports: what is accepted, what is refused, and that refusals write nothing."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.cases.models import Case
from app.crypto import receipts
from app.crypto.models import CaseKey
from tests.reports.conftest import count, report


def test_anonymous_report_returns_reference_and_receipt_once(client, db):
    r = client.post("/api/v1/reports", json=report())
    assert r.status_code == 201
    body = r.json()
    assert set(body) == {"reference", "receipt", "status", "created_at"}
    assert re.fullmatch(r"SS-[0-9A-Z]{4}-[0-9A-Z]{4}", body["reference"])
    assert receipts.normalise(body["receipt"]) is not None
    assert body["status"] == "received"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", body["created_at"])
    case = db.scalar(select(Case))
    assert case.anonymous is True and case.reporter_ct is None and case.about.value == "self"


def test_named_report_with_themes_and_wishes_is_accepted(client, db):
    r = client.post("/api/v1/reports", json=report(
        anonymous=False, reporter={"name": "Sam Example", "email": "sam@example.org", "phone": "+44 20 7946 0000"},
        about="colleague", themes=["bullying", "line_manager"], wishes=["talk", "investigation"],
    ))
    assert r.status_code == 201, r.text
    case = db.scalar(select(Case))
    assert case.anonymous is False and case.reporter_ct is not None
    assert case.reporter_themes == ["bullying", "line_manager"] and case.wishes == ["talk", "investigation"]


def _problem(r, status: int, field: str | None = None) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["status"] == status and body["detail"]
    if field is not None:
        assert any(e["field"] == field or e["field"].startswith(field) for e in body["errors"]), body


def test_missing_description_is_422(client, db):
    _problem(client.post("/api/v1/reports", json={"anonymous": True}), 422, "description")
    assert count(db, Case) == 0


def test_blank_description_is_422(client, db):
    _problem(client.post("/api/v1/reports", json=report(description="   \n ")), 422, "description")
    assert count(db, Case) == 0


def test_description_of_20001_characters_is_422(client, db):
    _problem(client.post("/api/v1/reports", json=report(description="x" * 20001)), 422, "description")
    assert count(db, Case) == 0


def test_description_of_20000_characters_is_accepted_even_when_its_json_exceeds_64_kib(client, db):
    # Non-ASCII escaped as \uXXXX: 20,000 characters become 120,000 bytes of JSON.
    payload = ('{"description": "' + "\\u00e9" * 20000 + '"}').encode()
    assert len(payload) > 64 * 1024
    r = client.post("/api/v1/reports", content=payload, headers={"content-type": "application/json"})
    assert r.status_code == 201, r.text
    assert count(db, Case) == 1


def test_other_api_bodies_keep_the_64_kib_limit(client):
    r = client.post("/api/v1/reporter/session", json={"receipt": "x" * 70000})
    assert r.status_code == 413


@pytest.mark.parametrize("settings_overrides", [{"max_report_body_bytes": 2048}])
def test_configured_intake_body_limit_is_413(client, db):
    r = client.post("/api/v1/reports", json=report(description="y" * 3000))
    _problem(r, 413)
    assert count(db, Case) == 0


def test_named_report_without_reporter_is_422(client, db):
    _problem(client.post("/api/v1/reports", json=report(anonymous=False)), 422)
    assert count(db, Case) == 0


def test_named_report_without_name_is_422(client, db):
    r = client.post("/api/v1/reports", json=report(anonymous=False, reporter={"email": "sam@example.org"}))
    _problem(r, 422, "reporter.name")
    assert count(db, Case) == 0


def test_anonymous_report_with_identity_is_422(client, db):
    r = client.post("/api/v1/reports", json=report(reporter={"name": "Sam Example"}))
    _problem(r, 422)
    assert "anonymous" in r.json()["detail"]
    assert count(db, Case) == 0


def test_unknown_theme_is_422_and_writes_nothing(client, db):
    r = client.post("/api/v1/reports", json=report(themes=["bullying", "no_such_theme"]))
    _problem(r, 422, "themes")
    assert "no_such_theme" in r.json()["detail"]
    assert (count(db, Case), count(db, CaseKey), count(db, AuditEvent)) == (0, 0, 0)


@pytest.mark.parametrize("field,value", [("about", "nobody"), ("wishes", ["revenge"]), ("colour", "red")])
def test_unknown_values_and_fields_are_422(client, db, field, value):
    _problem(client.post("/api/v1/reports", json=report(**{field: value})), 422, field)
    assert count(db, Case) == 0


def test_body_that_is_not_json_is_422(client):
    r = client.post("/api/v1/reports", content=b"description=hello", headers={"content-type": "application/json"})
    _problem(r, 422)


def test_a_reference_already_taken_is_drawn_again_and_nothing_is_doubled(client, db, monkeypatch):
    first = client.post("/api/v1/reports", json=report()).json()["reference"]
    drawn = iter([first, first, "SS-TEST-0002"])
    monkeypatch.setattr(receipts, "new_reference", lambda: next(drawn))
    r = client.post("/api/v1/reports", json=report(description="Someone at work is taking money from the kitty."))
    assert r.status_code == 201, r.text
    assert r.json()["reference"] == "SS-TEST-0002"
    assert count(db, Case) == 2 and count(db, CaseKey) == 2
    second = db.scalar(select(Case).where(Case.reference == "SS-TEST-0002"))
    assert db.get(CaseKey, second.id) is not None  # the key belongs to the case that went in
    assert [e.action for e in db.scalars(select(AuditEvent))].count("case.create") == 2
