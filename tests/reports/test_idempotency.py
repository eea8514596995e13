"""Idempotency-Key on POST /api/v1/reports (IETF httpapi-idempotency-key-header)."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app import clock
from app.audit.models import AuditEvent
from app.cases.models import Case
from app.crypto.envelope import DecryptionError
from app.crypto.models import CaseKey
from app.reports import idempotency as service
from app.reports.models import IdempotencyRecord
from tests.reports.conftest import count, report


def _key() -> str:
    return str(uuid.uuid4())


def test_replay_with_same_key_and_body_returns_same_reference_and_receipt_and_one_case(client, db):
    key = _key()
    first = client.post("/api/v1/reports", json=report(), headers={"Idempotency-Key": key})
    second = client.post("/api/v1/reports", json=report(), headers={"Idempotency-Key": key})
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.headers.get("idempotent-replayed") == "true"
    assert count(db, Case) == 1


def test_key_may_be_sent_as_a_structured_fields_string(client, db):
    key = _key()
    first = client.post("/api/v1/reports", json=report(), headers={"Idempotency-Key": key})
    second = client.post("/api/v1/reports", json=report(), headers={"Idempotency-Key": f'"{key}"'})
    assert second.json()["receipt"] == first.json()["receipt"]
    assert count(db, Case) == 1


def test_replayed_receipt_still_signs_in(client, sign_in):
    key = _key()
    client.post("/api/v1/reports", json=report(), headers={"Idempotency-Key": key})
    replay = client.post("/api/v1/reports", json=report(), headers={"Idempotency-Key": key}).json()
    assert client.get("/api/v1/reporter/case", headers=sign_in(replay["receipt"])).json()["reference"] == replay["reference"]


def test_same_key_with_another_body_is_422(client, db):
    key = _key()
    client.post("/api/v1/reports", json=report(), headers={"Idempotency-Key": key})
    r = client.post("/api/v1/reports", json=report(description="Something else entirely."), headers={"Idempotency-Key": key})
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["errors"][0]["field"] == "Idempotency-Key"
    assert "receipt" not in r.text
    assert count(db, Case) == 1


def test_different_keys_create_different_cases(client, db):
    a = client.post("/api/v1/reports", json=report(), headers={"Idempotency-Key": _key()}).json()
    b = client.post("/api/v1/reports", json=report(), headers={"Idempotency-Key": _key()}).json()
    assert a["reference"] != b["reference"] and a["receipt"] != b["receipt"]
    assert count(db, Case) == 2


def test_retry_while_first_is_still_running_is_409(app, client, db):
    key = _key()
    derived = service.IdempotencyKey.derive(app.state.keyring, key)
    from app.cases.schemas import ReportIn

    # The first request has claimed the key and is still working.
    assert service.claim(
        app.state.sessionmaker, derived, fingerprint=derived.fingerprint(ReportIn(**report()))
    ) is None
    r = client.post("/api/v1/reports", json=report(), headers={"Idempotency-Key": key})
    assert r.status_code == 409
    assert r.headers["content-type"].startswith("application/problem+json")
    # Retryable, and says so: when, and what kind of conflict (a page of the service explains it).
    assert r.headers["retry-after"] == "2"
    assert r.json()["type"] == "/problems/still-processing"
    assert client.get(r.json()["type"]).status_code == 200
    assert count(db, Case) == 0


def test_marker_left_by_a_dead_process_is_taken_over_after_a_minute(app, client, db):
    key = _key()
    derived = service.IdempotencyKey.derive(app.state.keyring, key)
    from app.cases.schemas import ReportIn

    start = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    with clock.frozen(start):
        service.claim(app.state.sessionmaker, derived, fingerprint=derived.fingerprint(ReportIn(**report())))
    with clock.frozen(start + timedelta(seconds=30)):
        r = client.post("/api/v1/reports", json=report(), headers={"Idempotency-Key": key})
    assert r.status_code == 409  # it might still be running
    with clock.frozen(start + timedelta(seconds=61)):
        r = client.post("/api/v1/reports", json=report(), headers={"Idempotency-Key": key})
    assert r.status_code == 201
    assert count(db, Case) == 1


def test_two_retries_racing_each_other_create_exactly_one_case(client, db):
    key = _key()
    barrier = threading.Barrier(2)
    results: list = [None, None]

    def post(i: int) -> None:
        barrier.wait()
        results[i] = client.post("/api/v1/reports", json=report(), headers={"Idempotency-Key": key})

    threads = [threading.Thread(target=post, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    statuses = sorted(r.status_code for r in results)
    assert statuses in ([201, 201], [201, 409]), [r.text for r in results]
    created = [r.json() for r in results if r.status_code == 201]
    assert all(c == created[0] for c in created)
    assert count(db, Case) == 1


def test_many_concurrent_retries_create_exactly_one_case(client, db):
    key = _key()
    barrier = threading.Barrier(6)
    results: list = []
    lock = threading.Lock()

    def post() -> None:
        barrier.wait()
        r = client.post("/api/v1/reports", json=report(), headers={"Idempotency-Key": key})
        with lock:
            results.append(r)

    threads = [threading.Thread(target=post) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert {r.status_code for r in results} <= {201, 409}
    assert len({r.json()["receipt"] for r in results if r.status_code == 201}) == 1
    assert count(db, Case) == 1


def test_records_expire_after_24_hours(client, db):
    key = _key()
    start = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    with clock.frozen(start):
        first = client.post("/api/v1/reports", json=report(), headers={"Idempotency-Key": key}).json()
    with clock.frozen(start + timedelta(hours=23, minutes=59)):
        assert client.post("/api/v1/reports", json=report(), headers={"Idempotency-Key": key}).json() == first
    with clock.frozen(start + timedelta(hours=24, minutes=1)):
        later = client.post("/api/v1/reports", json=report(), headers={"Idempotency-Key": key})
    assert later.status_code == 201 and later.json()["reference"] != first["reference"]
    assert count(db, Case) == 2
    assert count(db, IdempotencyRecord) == 1


def test_failed_request_leaves_nothing_half_written_and_releases_the_key(client, db, monkeypatch):
    key = _key()

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    # Fail after the case, its key and (on PostgreSQL) its audit entry were written: while
    # sealing the response that the key's record keeps for replays.
    monkeypatch.setattr(service.IdempotencyKey, "seal", broken)
    r = client.post("/api/v1/reports", json=report(), headers={"Idempotency-Key": key})
    assert r.status_code == 500
    assert "disk on fire" not in r.text
    assert (count(db, Case), count(db, CaseKey), count(db, IdempotencyRecord), count(db, AuditEvent)) == (0, 0, 0, 0)
    monkeypatch.undo()
    retry = client.post("/api/v1/reports", json=report(), headers={"Idempotency-Key": key})
    assert retry.status_code == 201
    assert count(db, Case) == 1


def test_refused_body_with_key_leaves_no_record(client, db):
    key = _key()
    r = client.post("/api/v1/reports", json=report(themes=["no_such_theme"]), headers={"Idempotency-Key": key})
    assert r.status_code == 422
    assert (count(db, Case), count(db, IdempotencyRecord)) == (0, 0)
    fixed = client.post("/api/v1/reports", json=report(), headers={"Idempotency-Key": key})
    assert fixed.status_code == 201


@pytest.mark.parametrize("bad", ["short", "x" * 256, "has space inside it!!", "ünïcödé-ünïcödé-ünïcödé"])
def test_malformed_key_is_400_and_writes_nothing(client, db, bad):
    r = client.post("/api/v1/reports", json=report(), headers={"Idempotency-Key": bad.encode("utf-8")})
    assert r.status_code == 400, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert count(db, Case) == 0


def test_stored_response_cannot_be_read_without_the_key(app, client, db):
    key = _key()
    body = client.post("/api/v1/reports", json=report(), headers={"Idempotency-Key": key}).json()
    db.rollback()
    row = db.scalar(select(IdempotencyRecord))
    assert row.state == "done" and row.response_ct is not None
    assert body["receipt"].encode() not in row.response_ct
    other = service.IdempotencyKey.derive(app.state.keyring, _key())
    with pytest.raises(DecryptionError):
        other.open(row.response_ct)
    assert service.IdempotencyKey.derive(app.state.keyring, key).open(row.response_ct)["receipt"] == body["receipt"]
