"""Side effects are calls (issue 20): statistics staleness, account notices and outbox rows are
written by explicit calls of `app.flows` (and `app.retention`), and every commit point runs them.
A commit that skips `app.flows.finish` is refused, so a new commit path cannot lose a notice."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, select

from app import clock, flows
from app.audit.service import Actor
from app.auth import notices
from app.auth import service as auth
from app.cases.models import Case
from app.enums import Role
from app.notify.models import Notification
from app.retention import erase_case
from app.stats.models import StatsStale

from .conftest import env_for

APP = Path(__file__).resolve().parents[2] / "app"


def test_only_the_audit_chain_and_files_on_disk_listen_to_every_session() -> None:
    """docs/architecture.md, "Side effects": the one global `Session` listener that does work is the
    audit chain at commit; the attachments' hooks keep files outside the database in step with
    the transaction's outcome. Anything else is an explicit call."""
    found = set()
    for path in APP.rglob("*.py"):
        for event in re.findall(r'(?:listens_for|event\.listen)\(\s*Session,\s*"(\w+)"', path.read_text()):
            found.add((str(path.relative_to(APP)), event))
    assert found == {("audit/service.py", "before_commit"), ("attachments/storage.py", "after_commit"),
                     ("attachments/storage.py", "after_soft_rollback")}


def _stale(db: Any) -> set[str]:
    db.rollback()
    months = set(db.scalars(select(StatsStale.month)))
    db.execute(delete(StatsStale))
    db.commit()
    return months


def _outbox(db: Any, kind: str) -> int:
    db.rollback()
    n = len(db.scalars(select(Notification.id).where(Notification.kind == kind)).all())
    db.rollback()
    return n


def test_a_commit_that_skips_finish_is_refused_and_one_through_flows_writes_the_notice(app: Any, db: Any) -> None:
    with app.state.sessionmaker() as s:
        sg = auth.create_user(s, app.state.passwords, email="sg@example.org", name="Sam", roles=[Role.SAFEGUARDING],
                              password="a long passphrase 1", by=Actor.system("test"))
        with pytest.raises(RuntimeError, match="app.flows.finish"):
            s.commit()
        s.rollback()
        assert notices.take(s) == []  # the rolled-back transaction's notices are gone with it
        auth.create_user(s, app.state.passwords, email="sg2@example.org", name="Sue", roles=[Role.SAFEGUARDING],
                         password="a long passphrase 1", by=Actor.system("test"))
        flows.commit(s)
    assert sg.email and _outbox(db, "role_granted") >= 1


def test_every_commit_point_runs_the_steps(client: TestClient, db: Any, make_staff: Any, settings: Any,
                                           run_cli: Any) -> None:
    """The request's transaction (both doors, every operation that changes a counted column), the
    break-glass commands and `safeshare purge`'s erasure: each stale mark and outbox row is there."""
    sg = make_staff("safeguarding")
    _stale(db)
    clock.set_frozen(datetime(2024, 5, 10, 12, tzinfo=UTC))
    sent = client.post("/api/v1/reports", json={"description": "Something happened at work."})
    assert sent.status_code == 201 and _stale(db) == {"2024-05"}
    assert _outbox(db, "new_concern") == 1
    db.rollback()
    case = db.scalar(select(Case).where(Case.reference == sent.json()["reference"]))
    assert case is not None
    case_id = str(case.id)
    db.rollback()
    recorded = client.post("/api/v1/cases", headers=sg.headers, json={
        "description": "A call about a colleague.", "channel": "phone",
        "received_at": "2024-03-02T10:00:00Z"})
    assert recorded.status_code == 201 and _stale(db) == {"2024-03"}
    assert client.patch(f"/api/v1/cases/{case_id}", headers=sg.headers,
                        json={"primary_theme": "bullying"}).status_code == 200
    assert _stale(db) == {"2024-05"}
    assert client.post(f"/api/v1/cases/{case_id}/messages", headers=sg.headers,
                       json={"body": "Thank you, we have read it."}).status_code == 201
    assert _stale(db) == {"2024-05"}  # the first message acknowledges the case
    assert client.post(f"/api/v1/cases/{case_id}/close", headers=sg.headers,
                       json={"outcome": "signposted", "summary": "Signposted."}).status_code == 200
    _stale(db)
    token = client.post("/api/v1/reporter/session", json={"receipt": sent.json()["receipt"]}).json()["token"]
    ratings = {"listened_to": 4, "kept_informed": 4, "support_suitable": 4, "would_recommend": 4}
    assert client.post("/api/v1/reporter/feedback", headers={"Authorization": f"Bearer {token}"},
                       json={"ratings": ratings}).status_code == 201
    assert _stale(db) == {"2024-05"}
    db.rollback()
    erase_case(db, case=db.get(Case, case.id) or case, by=Actor.system("test"))
    db.commit()
    assert _stale(db) == {"2024-05"}
    # A break-glass command commits on its own: its notice reaches the outbox too.
    before = _outbox(db, "password_reset")
    result = run_cli(["set-password", sg.email, "--password-stdin"], env_for(settings), input="another long passphrase 2\n")
    assert result.exit_code == 0, result.output
    assert _outbox(db, "password_reset") == before + 1
