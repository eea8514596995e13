"""Staff accounts through the API and the `safeshare create-user` command."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.auth.models import User
from tests.foundation.conftest import env_for

NEW = {"email": "Jo.Bloggs@Example.org", "name": "Jo Bloggs", "roles": ["hr"], "password": "a long enough password"}


def _counts(db: Any) -> tuple[int, int]:
    counts = (db.scalar(select(func.count()).select_from(User)), db.scalar(select(func.count()).select_from(AuditEvent)))
    db.rollback()
    return counts


def test_create_user(client: TestClient, make_staff: Any) -> None:
    admin = make_staff("admin")
    r = client.post("/api/v1/users", json=NEW, headers=admin.headers)
    assert r.status_code == 201
    body = r.json()
    # The HR role waits for a safeguarding user's confirmation; the password given is one-time.
    assert body["email"] == "jo.bloggs@example.org" and body["roles"] == [] and body["pending_roles"] == ["hr"]
    assert body["active"] is True and "password" not in body and "password_hash" not in body
    login = client.post("/api/v1/auth/login", json={"email": NEW["email"], "password": NEW["password"]})
    assert login.status_code == 200 and login.json()["password_change_required"] is True


def test_duplicate_email_is_409(client: TestClient, make_staff: Any, db: Any) -> None:
    admin = make_staff("admin")
    assert client.post("/api/v1/users", json=NEW, headers=admin.headers).status_code == 201
    before = _counts(db)
    r = client.post("/api/v1/users", json={**NEW, "email": "JO.BLOGGS@example.org"}, headers=admin.headers)
    assert r.status_code == 409 and r.headers["content-type"] == "application/problem+json"
    assert _counts(db) == before


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"password": "short"}, "password"),
        ({"roles": ["superuser"]}, "roles.0"),
        ({"roles": []}, "roles"),
        ({"name": "   "}, "name"),
        ({"is_admin": True}, "is_admin"),
    ],
    ids=["bad-email", "short-password", "unknown-role", "no-roles", "blank-name", "unknown-field"],
)
def test_bad_user_is_422_and_nothing_written(
    client: TestClient, make_staff: Any, db: Any, change: dict[str, Any], field: str
) -> None:
    admin = make_staff("admin")
    before = _counts(db)
    r = client.post("/api/v1/users", json={**NEW, **change}, headers=admin.headers)
    assert r.status_code == 422
    problem = r.json()
    assert r.headers["content-type"] == "application/problem+json"
    assert {"type", "title", "status", "detail"} <= problem.keys()
    assert field in [e["field"] for e in problem["errors"]]
    assert all(set(e) == {"field", "message"} for e in problem["errors"])
    assert _counts(db) == before


def test_patch_roles_and_active(client: TestClient, make_staff: Any) -> None:
    admin, hr, sg = make_staff("admin"), make_staff("hr"), make_staff("safeguarding")
    r = client.patch(f"/api/v1/users/{hr.id}", json={"roles": ["safeguarding", "hr"]}, headers=admin.headers)
    assert r.status_code == 202 and r.json()["status"] == "pending" and r.json()["pending_roles"] == ["safeguarding"]
    r = client.post(f"/api/v1/users/{hr.id}/role-grant/confirm", headers=sg.headers)
    assert r.status_code == 200 and sorted(r.json()["roles"]) == ["hr", "safeguarding"]
    r = client.patch(f"/api/v1/users/{hr.id}", json={"active": False}, headers=admin.headers)
    assert r.status_code == 200 and r.json()["active"] is False


def test_patch_unknown_user_is_404(client: TestClient, make_staff: Any) -> None:
    admin = make_staff("admin")
    r = client.patch("/api/v1/users/3f0c3a5e-0000-4000-8000-000000000000", json={"active": False}, headers=admin.headers)
    assert r.status_code == 404


@pytest.mark.parametrize("change", [{"active": False}, {"roles": ["hr"]}], ids=["deactivate", "drop-role"])
def test_cannot_remove_the_last_active_admin(app: Any, make_staff: Any, change: dict[str, Any]) -> None:
    import uuid

    from app.audit.service import Actor
    from app.auth import service as auth
    from app.enums import Role
    from app.errors import Conflict

    admin = make_staff("admin")
    # Only a caller other than the admin can try (nobody changes their own roles): here a command.
    with app.state.sessionmaker() as s, pytest.raises(Conflict):
        auth.update_user(s, user_id=uuid.UUID(admin.id), roles=[Role(r) for r in change.get("roles", ["admin"])],
                         active=change.get("active"), name=None, by=Actor.system("test"))
    with app.state.sessionmaker() as s:
        user = s.get(User, uuid.UUID(admin.id))
        assert user is not None and user.roles == [Role.ADMIN] and user.active


def test_an_admin_can_step_down_when_another_remains(client: TestClient, make_staff: Any) -> None:
    first, second = make_staff("admin"), make_staff("admin")
    assert client.patch(f"/api/v1/users/{first.id}", json={"roles": ["leadership"]}, headers=second.headers).status_code == 200
    assert client.get("/api/v1/auth/me", headers=first.headers).json()["roles"] == ["leadership"]


def test_create_user_command(client: TestClient, settings: Any, run_cli: Any) -> None:
    result = run_cli(
        ["create-user", "Chief@Example.org", "--role", "admin", "--role", "safeguarding", "--name", "Chief", "--password-stdin"],
        env_for(settings),
        input="a long enough password\n",
    )
    assert result.exit_code == 0, result.output
    r = client.post("/api/v1/auth/login", json={"email": "chief@example.org", "password": "a long enough password"})
    assert r.status_code == 200 and sorted(r.json()["user"]["roles"]) == ["admin", "safeguarding"]


@pytest.mark.parametrize(
    ("args", "stdin", "mentions"),
    [
        (["--role", "wizard", "--password-stdin"], "a long enough password\n", "roles"),
        (["--role", "admin", "--password-stdin"], "short\n", "password"),
        (["--role", "admin"], "a long enough password\n", "--password-stdin"),
    ],
    ids=["bad-role", "short-password", "no-password-stdin"],
)
def test_create_user_command_refuses_bad_input_with_one_line(
    settings: Any, run_cli: Any, db: Any, args: list[str], stdin: str, mentions: str
) -> None:
    before = _counts(db)
    result = run_cli(["create-user", "someone@example.org", *args], env_for(settings), input=stdin)
    assert result.exit_code != 0
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and mentions in lines[0], result.output
    assert _counts(db) == before


def test_create_user_command_duplicate_is_one_line(settings: Any, run_cli: Any, make_staff: Any) -> None:
    staff = make_staff("hr")
    result = run_cli(["create-user", staff.email, "--role", "hr", "--password-stdin"], env_for(settings),
                     input="a long enough password\n")
    assert result.exit_code != 0
    assert [ln for ln in result.output.splitlines() if ln.strip()] == [
        "error: A user with this e-mail address already exists."
    ]


def test_two_admins_demoting_each_other_at_once_leave_one(app: Any, make_staff: Any) -> None:
    import threading
    import time
    import uuid

    from app.audit.service import Actor
    from app.auth import service as auth
    from app.errors import Conflict

    first, second = make_staff("admin"), make_staff("admin")
    outcome: dict[str, Any] = {}
    s1 = app.state.sessionmaker()
    auth.update_user(s1, user_id=uuid.UUID(first.id), roles=None, active=False, name=None, by=Actor.system("t1"))

    def demote_second() -> None:
        with app.state.sessionmaker() as s2:
            try:
                auth.update_user(s2, user_id=uuid.UUID(second.id), roles=None, active=False, name=None,
                                 by=Actor.system("t2"))
                s2.commit()
                outcome["second"] = "demoted"
            except Conflict:
                s2.rollback()
                outcome["second"] = "conflict"

    t = threading.Thread(target=demote_second)
    t.start()
    time.sleep(0.5)  # the second transaction is now waiting for the first
    s1.commit()
    s1.close()
    t.join(timeout=30)
    assert outcome == {"second": "conflict"}
