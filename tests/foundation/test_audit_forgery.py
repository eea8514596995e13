"""The audit chain is an HMAC under the key ring's audit key: someone who can write to the database
(drop the triggers, delete an entry, recompute the chain and the head, put the triggers back) but
has no key ring cannot make `GET /api/v1/audit/verify` say intact. The head row only advances."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

from app import dialect, migrate
from app.audit import service as audit
from app.audit.models import AuditEvent
from tests.foundation.conftest import env_for

SQLITE_TRIGGERS = {
    "audit_events_no_update": "CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events "
                              "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END",
    "audit_events_no_delete": "CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events "
                              "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END",
}


def _forge(url: str, step: Callable[[bytes, bytes], bytes], *, delete_id: int, move_boundary: bool = False) -> None:
    """What a database writer does: triggers off, one entry deleted, every later hash recomputed
    with `step` (prev, payload), the head set to the new end, triggers back on."""
    engine = sa.create_engine(url)
    postgresql = dialect.is_postgresql(engine)
    try:
        with engine.begin() as c:
            if postgresql:
                c.execute(sa.text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
                c.execute(sa.text("ALTER TABLE audit_head DISABLE TRIGGER USER"))
            else:
                kept = dict(c.execute(sa.text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                                              "AND name IN ('audit_events_no_update', 'audit_events_no_delete', "
                                              "'audit_head_advance_only', 'audit_head_no_delete')")).all())
                assert set(kept) >= set(SQLITE_TRIGGERS)
                for name in kept:
                    c.execute(sa.text(f"DROP TRIGGER {name}"))
            c.execute(sa.text("DELETE FROM audit_events WHERE id = :id"), {"id": delete_id})
            from sqlalchemy.orm import Session

            with Session(bind=c) as s:
                prev = audit.GENESIS
                for ev in s.scalars(sa.select(AuditEvent).order_by(AuditEvent.id)).all():
                    new = step(prev, audit._payload(ev))
                    c.execute(sa.text("UPDATE audit_events SET prev_hash = :p, hash = :h WHERE id = :id"),
                              {"p": prev, "h": new, "id": ev.id})
                    prev, last_id = new, ev.id
            c.execute(sa.text("UPDATE audit_head SET prev_hash = hash, hash = :h WHERE id = 1"), {"h": prev})
            if move_boundary:  # "everything is from before the HMAC chain": plain SHA-256 throughout
                c.execute(sa.text("UPDATE audit_head SET legacy_until = :n WHERE id = 1"), {"n": last_id})
            if postgresql:
                c.execute(sa.text("ALTER TABLE audit_events ENABLE TRIGGER USER"))
                c.execute(sa.text("ALTER TABLE audit_head ENABLE TRIGGER USER"))
            else:
                for sql in kept.values():
                    c.execute(sa.text(sql))
    finally:
        engine.dispose()


def _sha256(prev: bytes, payload: bytes) -> bytes:
    return hashlib.sha256(prev + payload).digest()


def _trail(client: Any, make_staff: Any, make_case: Any) -> Any:
    admin = make_staff("admin")
    for _ in range(3):
        make_case()
    verified = client.get("/api/v1/audit/verify", headers=admin.headers).json()
    assert verified["intact"] is True and verified["entries"] >= 5
    return admin


@pytest.mark.parametrize("move_boundary", [False, True], ids=["plain-sha256-chain", "and-the-legacy-boundary"])
def test_a_database_writer_without_the_key_ring_cannot_rewrite_the_chain(
    app: Any, client: Any, make_staff: Any, make_case: Any, db_url: str, move_boundary: bool
) -> None:
    admin = _trail(client, make_staff, make_case)
    _forge(db_url, _sha256, delete_id=3, move_boundary=move_boundary)
    r = client.get("/api/v1/audit/verify", headers=admin.headers).json()
    assert r["intact"] is False
    assert r["first_broken_id"] is not None


def test_the_same_rewrite_with_the_key_ring_would_pass(app: Any, client: Any, make_staff: Any, make_case: Any,
                                                        db_url: str) -> None:
    """The teeth of the test above: the recomputation is right, only the key is missing."""
    admin = _trail(client, make_staff, make_case)
    key = audit.chain_key(app.state.keyring)
    _forge(db_url, lambda prev, payload: hmac.new(key, prev + payload, hashlib.sha256).digest(), delete_id=3)
    assert client.get("/api/v1/audit/verify", headers=admin.headers).json()["intact"] is True


def test_the_head_row_only_advances(app: Any, make_staff: Any, db_url: str) -> None:
    make_staff("admin")
    engine = sa.create_engine(db_url)
    try:
        for statement in ("UPDATE audit_head SET hash = prev_hash WHERE id = 1",
                          "UPDATE audit_head SET legacy_until = 99 WHERE id = 1",
                          "DELETE FROM audit_head"):
            with pytest.raises(sa.exc.DBAPIError, match="audit_head"), engine.begin() as c:
                c.execute(sa.text(statement))
    finally:
        engine.dispose()


def test_audit_head_prints_the_verified_head(app: Any, client: Any, make_staff: Any, make_case: Any,
                                             settings: Any, run_cli: Any, db_url: str) -> None:
    _trail(client, make_staff, make_case)
    with app.state.sessionmaker() as s:
        newest = s.scalars(sa.select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)).one()
    result = run_cli(["audit-head"], env_for(settings))
    assert result.exit_code == 0, result.output
    assert f"newest id {newest.id}, hmac-sha256 {newest.hash.hex()}" in result.output
    _forge(db_url, _sha256, delete_id=2)
    result = run_cli(["audit-head"], env_for(settings))
    assert result.exit_code == 2 and "the audit chain is broken at entry" in result.output


def test_an_existing_sha256_trail_is_sealed_on_upgrade_and_stays_verifiable(
    app: Any, client: Any, make_staff: Any, make_case: Any, db_url: str
) -> None:
    """Upgrade: the entries of before keep their SHA-256 chain, sealed at its end with the key by
    `safeshare migrate`; new entries are HMACs from there; moving the seal's boundary is caught."""
    admin = make_staff("admin")
    make_case()
    app.state.engine.dispose()
    migrate.downgrade(db_url, "0008")
    _forge(db_url, _sha256, delete_id=-1)  # the trail as version 0008 wrote it: plain SHA-256
    migrate.upgrade(db_url, audit_key=audit.chain_key(app.state.keyring))
    make_case()  # an HMAC entry after the legacy ones
    r = client.get("/api/v1/audit/verify", headers=admin.headers).json()
    assert r["intact"] is True and r["entries"] >= 4
    with app.state.sessionmaker() as s:
        legacy = s.execute(sa.text("SELECT legacy_until FROM audit_head")).scalar()
    assert legacy is not None and legacy >= 2
    # A writer who rewrites the whole trail as SHA-256 and moves the boundary to its end: caught.
    _forge(db_url, _sha256, delete_id=1, move_boundary=True)
    assert client.get("/api/v1/audit/verify", headers=admin.headers).json()["intact"] is False
