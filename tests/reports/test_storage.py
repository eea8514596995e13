"""What reaches the database: no description, identity, message, comment or receipt in clear, anywhere."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.crypto import receipts
from app.models import Base
from tests.reports.conftest import report

SECRETS = {
    "description": "Zebra-quartz incident at the Norwich depot on the night shift",
    "name": "Philippa Quenneville",
    "email": "philippa.quenneville@example.org",
    "phone": "+44 1632 960 123",
    "message": "Follow-up about the xylophone rota and the missing logbook",
    "comment": "Thank you to the marmalade team for listening",
}


def _text(value: Any) -> bytes | None:
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, (list, dict)):
        return json.dumps(value).encode()
    return None


def scan_database(db: Session, needles: list[str]) -> list[tuple[str, str, str]]:
    """Every (table, column, needle) where a needle appears in a text, JSON or binary column."""
    db.rollback()
    hits = []
    try:
        for table in Base.metadata.sorted_tables:
            for row in db.execute(select(table)).mappings():
                for column, value in row.items():
                    data = _text(value)
                    if data is None:
                        continue
                    for needle in needles:
                        for form in {needle, needle.lower(), needle.upper()}:
                            if form.encode() in data or form.encode("utf-16-le") in data:
                                hits.append((table.name, column, needle))
    finally:
        db.rollback()
    return hits


def _raw_sqlite_hits(settings, needles: list[str]) -> list[str]:
    path = Path(settings.database_url.split("///", 1)[1])
    blobs = b"".join(p.read_bytes() for p in [path, Path(f"{path}-wal")] if p.exists())
    return [n for n in needles if n.encode() in blobs or n.lower().encode() in blobs]


def _fill(client, close_case, sign_in, db, app) -> dict[str, Any]:
    created = client.post(
        "/api/v1/reports",
        json=report(
            description=SECRETS["description"],
            anonymous=False,
            reporter={"name": SECRETS["name"], "email": SECRETS["email"], "phone": SECRETS["phone"]},
        ),
        headers={"Idempotency-Key": "stored-response-key-0001"},
    ).json()
    headers = sign_in(created["receipt"])
    assert client.post("/api/v1/reporter/messages", json={"body": SECRETS["message"]}, headers=headers).status_code == 201
    close_case(created["reference"])
    r = client.post(
        "/api/v1/reporter/feedback",
        json={"ratings": {"listened_to": 5, "kept_informed": 4, "support_suitable": 4, "would_recommend": 5},
              "comment": SECRETS["comment"]},
        headers=headers,
    )
    assert r.status_code == 201
    return {**created, "token": headers["Authorization"].split()[1]}


def _needles(created: dict[str, Any]) -> list[str]:
    receipt = created["receipt"]
    return [
        *SECRETS.values(),
        "Zebra-quartz", "Quenneville", "xylophone", "marmalade",
        receipt, receipts.normalise(receipt), receipt.replace("-", " "), created["token"],
        "stored-response-key-0001",
    ]


def test_nothing_sensitive_is_stored_in_clear_in_any_table(client, close_case, sign_in, db, app):
    created = _fill(client, close_case, sign_in, db, app)
    assert scan_database(db, _needles(created)) == []


def test_nothing_sensitive_is_in_the_sqlite_files_either(client, close_case, sign_in, db, app, settings):
    if not settings.is_sqlite:
        return  # the PostgreSQL half is covered by the table scan above
    created = _fill(client, close_case, sign_in, db, app)
    assert _raw_sqlite_hits(settings, _needles(created)) == []


def test_the_scan_would_find_plaintext(db, app):
    # Guard against a scan that can never fail: plant a known value and look for it.
    from app.themes.models import Theme

    theme = db.get(Theme, "other")
    theme.description = SECRETS["description"]
    db.commit()
    assert ("themes", "description", SECRETS["description"]) in scan_database(db, [SECRETS["description"]])


def test_stored_text_reads_back_through_the_case_key(client, db, app):
    from app.cases.models import Case
    from tests import support as service

    client.post("/api/v1/reports", json=report(
        description=SECRETS["description"], anonymous=False, reporter={"name": SECRETS["name"]},
    ))
    db.rollback()
    case = db.scalar(select(Case))
    assert service.read_description(db, app.state.keyring, case) == SECRETS["description"]
    assert service.read_reporter(db, app.state.keyring, case)["name"] == SECRETS["name"]
    db.rollback()


def test_audit_trail_names_actions_not_content(client, close_case, sign_in, db, app):
    from app.audit.models import AuditEvent

    created = _fill(client, close_case, sign_in, db, app)
    db.rollback()
    events = db.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    actions = [e.action for e in events]
    assert actions[:4] == ["case.create", "reporter.session.start", "message.create", "feedback.create"]
    assert {e.actor for e in events} == {"reporter"}
    assert all(e.case_id is not None for e in events)
    db.rollback()
    assert scan_database(db, _needles(created)) == []


def test_logs_carry_no_receipt_token_address_or_text(client, caplog):
    import logging

    from app.logs import JsonFormatter

    caplog.set_level(logging.DEBUG)
    created = client.post("/api/v1/reports", json=report(description=SECRETS["description"])).json()
    token = client.post("/api/v1/reporter/session", json={"receipt": created["receipt"]}).json()["token"]
    client.post("/api/v1/reporter/session", json={"receipt": "WRONG-" + created["receipt"][5:]})
    client.post("/api/v1/reporter/messages", json={"body": SECRETS["message"]}, headers={"Authorization": f"Bearer {token}"})
    formatted = "\n".join(JsonFormatter().format(r) for r in caplog.records)
    assert any(r.name == "safeshare.access" for r in caplog.records)
    for needle in [created["receipt"], receipts.normalise(created["receipt"]), token, "testclient",
                   SECRETS["description"], SECRETS["message"]]:
        assert needle not in formatted
