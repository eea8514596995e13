"""`safeshare set-password` and `safeshare reset-2fa`: an operator with shell access lets the only
admin back in. Both audited, both end the account's sessions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp
from fastapi.testclient import TestClient
from sqlalchemy import select

from app import clock
from app.audit.models import AuditEvent
from tests.foundation.conftest import env_for

T0 = datetime(2026, 3, 2, 10, 0, 5, tzinfo=UTC)


def _last_action(db: Any) -> tuple[str, str]:
    db.rollback()
    row = db.execute(select(AuditEvent.action, AuditEvent.actor).order_by(AuditEvent.id.desc())).first()
    db.rollback()  # no transaction left open: on SQLite it would hold the write lock
    return row.action, row.actor


def test_set_password_lets_the_admin_back_in_and_ends_their_sessions(
    client: TestClient, make_staff: Any, settings: Any, run_cli: Any, db: Any
) -> None:
    admin = make_staff("admin")
    result = run_cli(["set-password", admin.email.upper(), "--password-stdin"], env_for(settings), input="river lantern quietly\n")
    assert result.exit_code == 0, result.output
    assert _last_action(db) == ("user.password.set", "system:set-password")
    assert client.get("/api/v1/auth/me", headers=admin.headers).status_code == 401
    assert client.post("/api/v1/auth/login", json={"email": admin.email, "password": "river lantern quietly"}).status_code == 200


def test_set_password_refuses_a_common_password_or_unknown_account_in_one_line(
    make_staff: Any, settings: Any, run_cli: Any
) -> None:
    admin = make_staff("admin")
    for args, stdin, says in (
        ([admin.email, "--password-stdin"], "password1234\n", "common"),
        ([admin.email, "--password-stdin"], "short\n", "12"),
        (["ghost@example.org", "--password-stdin"], "river lantern quietly\n", "No user"),
        ([admin.email], "river lantern quietly\n", "--password-stdin"),
    ):
        result = run_cli(["set-password", *args], env_for(settings), input=stdin)
        lines = [ln for ln in result.output.splitlines() if ln.strip()]
        assert result.exit_code != 0 and len(lines) == 1 and says in lines[0], result.output


def test_reset_2fa_turns_it_off_at_once_and_is_audited(
    client: TestClient, make_staff: Any, settings: Any, run_cli: Any, db: Any
) -> None:
    admin = make_staff("safeguarding", "admin")
    with clock.frozen(T0):
        secret = client.post("/api/v1/auth/totp/setup", headers=admin.headers).json()["secret"]
        assert client.post("/api/v1/auth/totp/confirm", json={"code": pyotp.TOTP(secret).at(T0)},
                           headers=admin.headers).status_code == 200
    result = run_cli(["reset-2fa", admin.email], env_for(settings))
    assert result.exit_code == 0, result.output
    assert _last_action(db) == ("user.totp.reset", "system:reset-2fa")
    assert client.get("/api/v1/auth/me", headers=admin.headers).status_code == 401
    with clock.frozen(T0 + timedelta(minutes=1)):
        r = client.post("/api/v1/auth/login", json={"email": admin.email, "password": admin.password})
    assert r.status_code == 200 and r.json()["user"]["totp_enabled"] is False
    again = run_cli(["reset-2fa", admin.email], env_for(settings))
    assert again.exit_code != 0 and "no two-factor sign-in" in again.output


def test_the_shell_acts_at_once_and_tells_safeguarding(
    app: Any, client: TestClient, make_staff: Any, settings: Any, run_cli: Any
) -> None:
    """`create-user`, `set-password` (and `reset-2fa`) are the operator's own trust: no second
    person, a password that is not one-time, and the safeguarding users are told."""
    from tests.auth.conftest import Outbox, login

    mail = Outbox(app)
    sg = make_staff("safeguarding")
    hr = make_staff("hr")
    mail.clear()
    env = env_for(settings)
    made = run_cli(["create-user", "ops@example.org", "--role", "hr", "--password-stdin"], env, input="an operator passphrase\n")
    assert made.exit_code == 0, made.output
    signed_in = login(client, "ops@example.org", "an operator passphrase").json()
    assert signed_in["user"]["roles"] == ["hr"] and signed_in["password_change_required"] is False
    assert run_cli(["set-password", hr.email, "--password-stdin"], env, input="break glass passphrase\n").exit_code == 0
    assert login(client, hr.email, "break glass passphrase").status_code == 200
    kinds = sorted(n.kind for n in mail if sg.email in n.to)
    assert kinds == ["password_reset", "role_granted"]
