"""The audit trail: written with the action, hash-chained, append-only in the database, never content."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import Request
from fastapi.testclient import TestClient
from sqlalchemy import select

from app import dialect
from app.audit import service as audit
from app.audit.models import AuditEvent
from app.cases.models import Case
from app.http.transactions import DbSession

PASSWORD = "a long enough password"


def _actions(db: Any) -> list[str]:
    actions = list(db.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
    db.rollback()
    return actions


def _verify(client: TestClient, admin: Any) -> dict[str, Any]:
    r = client.get("/api/v1/audit/verify", headers=admin.headers)
    assert r.status_code == 200
    return r.json()


def test_actions_write_entries(client: TestClient, make_staff: Any, db: Any) -> None:
    admin = make_staff("admin")
    uid = client.post("/api/v1/users", json={"email": "a@example.org", "name": "A", "roles": ["hr"], "password": PASSWORD},
                      headers=admin.headers).json()["id"]
    client.patch(f"/api/v1/users/{uid}", json={"active": False}, headers=admin.headers)
    client.post("/api/v1/themes", json={"slug": "car_parking", "name": "Car parking"}, headers=admin.headers)
    client.patch("/api/v1/themes/car_parking", json={"active": False}, headers=admin.headers)
    client.post("/api/v1/auth/logout", headers=admin.headers)
    assert _actions(db)[-7:] == [
        "auth.login", "user.create", "user.role.grant_requested.hr", "user.update", "theme.create", "theme.update",
        "auth.logout",
    ]
    entry = db.scalar(select(AuditEvent).where(AuditEvent.action == "user.update"))
    assert entry.actor == admin.email and str(entry.actor_id) == admin.id and entry.target == uid


def test_audit_listing_is_newest_first_and_filters_by_case(
    client: TestClient, make_staff: Any, make_case: Any
) -> None:
    admin = make_staff("admin")
    case_id = make_case()
    r = client.get("/api/v1/audit", headers=admin.headers)
    body = r.json()
    assert body["total"] == 3  # the admin's creation by the test, their login, the case
    assert [i["action"] for i in body["items"]] == ["case.create", "auth.login", "user.create"]
    assert set(body["items"][0]) >= {"at", "actor", "action", "case_id"}
    assert body["items"][0]["at"].endswith("Z")
    only = client.get(f"/api/v1/audit?case_id={case_id}", headers=admin.headers).json()
    assert only["total"] == 1 and only["items"][0]["case_id"] == str(case_id)
    page2 = client.get("/api/v1/audit?page=2&page_size=2", headers=admin.headers).json()
    # The two readings above are in the trail now (`audit.read`), newest first.
    assert [i["action"] for i in page2["items"]] == ["case.create", "auth.login"]
    assert page2["total"] == 5


def test_failed_request_writes_no_entry(app: Any, client: TestClient, make_staff: Any, db: Any) -> None:
    admin = make_staff("admin")

    @app.post("/test-only/audit-then-fail")
    def audit_then_fail(request: Request, session: DbSession) -> None:
        audit.record(session, audit.Actor.system("test"), "test.should_vanish")
        raise RuntimeError("boom after the audit row was written")

    before = _actions(db)
    assert client.post("/test-only/audit-then-fail").status_code == 500
    # Refused (nobody deactivates themself) after the service had begun: no entry either.
    assert client.patch(f"/api/v1/users/{admin.id}", json={"active": False}, headers=admin.headers).status_code == 403
    assert _actions(db) == before
    assert _verify(client, admin)["intact"] is True


def test_chain_verifies(client: TestClient, make_staff: Any, make_case: Any) -> None:
    admin = make_staff("admin")
    for _ in range(3):
        make_case()
    result = _verify(client, admin)
    assert result == {"intact": True, "entries": 5, "first_broken_id": None}


def _without_append_only_guard(db: Any) -> Any:
    """Switch the append-only trigger off, as an attacker with database access could."""
    if db.get_bind().dialect.name == "postgresql":
        db.execute(sa.text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
    else:
        db.execute(sa.text("DROP TRIGGER audit_events_no_update"))
        db.execute(sa.text("DROP TRIGGER audit_events_no_delete"))


def _restore_guard(db: Any) -> None:
    if db.get_bind().dialect.name == "postgresql":
        db.rollback()
        db.execute(sa.text("ALTER TABLE audit_events ENABLE TRIGGER USER"))
        db.commit()


@pytest.mark.parametrize("tamper", ["edit", "delete", "reorder-time", "delete-newest"])
def test_tampering_is_detected(client: TestClient, make_staff: Any, make_case: Any, db: Any, tamper: str) -> None:
    admin = make_staff("admin")
    case_ids = [make_case() for _ in range(3)]
    target = db.scalar(select(AuditEvent.id).where(AuditEvent.case_id == case_ids[1]))
    if tamper == "delete-newest":
        target = db.scalar(select(sa.func.max(AuditEvent.id)))
    try:
        _without_append_only_guard(db)
        if tamper == "delete-newest":  # what is left still chains; only the head shows the loss
            db.execute(sa.delete(AuditEvent).where(AuditEvent.id == target))
        elif tamper == "edit":
            db.execute(sa.update(AuditEvent).where(AuditEvent.id == target).values(actor="someone else"))
        elif tamper == "delete":
            db.execute(sa.delete(AuditEvent).where(AuditEvent.id == target))
        else:
            first = db.scalar(select(AuditEvent.at).order_by(AuditEvent.id).limit(1))
            db.execute(sa.update(AuditEvent).where(AuditEvent.id == target).values(at=first))
        db.commit()
        result = _verify(client, admin)
        assert result["intact"] is False
        expected = target if tamper in ("edit", "reorder-time") else target + 1
        if tamper == "delete-newest":
            expected = target  # the id after the last entry left
        assert result["first_broken_id"] == expected
    finally:
        _restore_guard(db)


@pytest.mark.parametrize("statement", ["update", "delete"])
def test_database_refuses_to_change_audit_rows(make_staff: Any, db: Any, statement: str) -> None:
    make_staff("admin")
    stmt = (
        sa.update(AuditEvent).values(actor="someone else")
        if statement == "update"
        else sa.delete(AuditEvent)
    )
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        db.execute(stmt)
        db.commit()
    db.rollback()
    assert db.scalar(select(sa.func.count()).select_from(AuditEvent)) == 2


def test_entries_never_contain_passwords_or_tokens(client: TestClient, make_staff: Any, db: Any) -> None:
    admin = make_staff("admin")
    client.post("/api/v1/users", json={"email": "b@example.org", "name": "B", "roles": ["hr"], "password": PASSWORD},
                headers=admin.headers)
    client.post("/api/v1/auth/login", json={"email": "b@example.org", "password": "a wrong password!!"})
    rows = db.execute(select(AuditEvent)).scalars().all()
    dump = repr([{c.name: getattr(r, c.key) for c in AuditEvent.__table__.columns} for r in rows])
    for secret in (PASSWORD, admin.password, admin.token, admin.token[4:]):
        assert secret not in dump


def test_concurrent_writers_keep_one_unbroken_chain(app: Any) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def write(n: int) -> None:
        for i in range(5):
            with app.state.sessionmaker() as s, s.begin():
                audit.record(s, audit.Actor.system(f"worker-{n}"), "test.concurrent", target=str(i))

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(write, range(4)))
    with app.state.sessionmaker() as s:
        assert audit.verify(s) == (True, 20, None)


def test_the_head_row_cannot_be_deleted(db: Any) -> None:
    with pytest.raises(sa.exc.DBAPIError, match="audit_head cannot be deleted"):
        db.execute(sa.text("DELETE FROM audit_head"))
        db.commit()
    db.rollback()


def test_with_the_head_row_gone_a_report_is_refused_and_nothing_is_stored(app: Any, db: Any) -> None:
    """Someone removed the head row behind the triggers' back: the entry cannot join the chain, so
    the report is refused and nothing of it stays, on PostgreSQL too, where the entry and the
    COMMIT go in one round trip with no answer read between them."""
    engine = app.state.engine
    postgresql = dialect.is_postgresql(engine)
    with engine.begin() as c:
        head = dict(c.execute(sa.text("SELECT * FROM audit_head")).mappings().one())
        trigger = None if postgresql else c.execute(
            sa.text("SELECT sql FROM sqlite_master WHERE name = 'audit_head_no_delete'")).scalar()
        c.execute(sa.text("ALTER TABLE audit_head DISABLE TRIGGER USER" if postgresql
                          else "DROP TRIGGER audit_head_no_delete"))
        c.execute(sa.text("DELETE FROM audit_head"))
        c.execute(sa.text("ALTER TABLE audit_head ENABLE TRIGGER USER" if postgresql else trigger))
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            r = client.post("/api/v1/reports", json={"description": "The forklift brakes fail.", "about": "self"})
        assert r.status_code == 500
        assert db.scalar(select(sa.func.count()).select_from(Case)) == 0
        assert db.scalar(select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.action == "case.create")) == 0
        db.rollback()
    finally:
        with engine.begin() as c:
            c.execute(sa.insert(sa.table("audit_head", *(sa.column(k) for k in head))).values(head))


def test_intake_and_other_writers_racing_keep_one_unbroken_chain(app: Any) -> None:
    """New cases (on PostgreSQL their entry goes with the COMMIT, in one round trip) and other
    audited actions, from several threads at once: one chain, every entry in it."""
    from concurrent.futures import ThreadPoolExecutor

    from app.cases.intake import create_case
    from app.cases.schemas import ReportIn
    from app.enums import Channel

    def write(n: int) -> None:
        for i in range(4):
            with app.state.sessionmaker() as s, s.begin():
                if n % 2:
                    create_case(s, app.state.keyring, app.state.settings, channel=Channel.WEB,
                                data=ReportIn(description=f"Concern {n}-{i} about my shift pattern."))
                else:
                    audit.record(s, audit.Actor.system(f"worker-{n}"), "test.concurrent", target=str(i))

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(write, range(6)))
    with app.state.sessionmaker() as s:
        assert audit.verify(s) == (True, 24, None)
        assert s.scalar(select(sa.func.count()).where(AuditEvent.action == "case.create")) == 12


def test_verify_while_others_append_reports_the_chain_intact(app: Any) -> None:
    """The walk and the head come from one snapshot: entries appended during a long walk are
    neither counted nor mistaken for a chain cut short."""
    import threading

    with app.state.sessionmaker() as s, s.begin():
        for i in range(1500):
            audit.record(s, audit.Actor.system("seed"), "test.seed", target=str(i))
    stop = threading.Event()
    appended = []

    def append() -> None:
        while not stop.is_set():
            with app.state.sessionmaker() as s, s.begin():
                audit.record(s, audit.Actor.system("busy"), "test.busy")
            appended.append(1)

    writer = threading.Thread(target=append)
    writer.start()
    try:
        results = []
        for _ in range(3):
            with app.state.sessionmaker() as s:
                results.append(audit.verify(s))
    finally:
        stop.set()
        writer.join(timeout=30)
    assert appended  # the writer really did append meanwhile
    assert all(intact and broken is None for intact, _, broken in results), results
