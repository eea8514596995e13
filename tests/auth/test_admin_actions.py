"""What administrators may do to other accounts, and what nobody may do to their own."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app import clock
from app.audit.models import AuditEvent
from tests.auth.conftest import T0, code, enrol_by_link, login

NEW_HR = {"email": "new.hr@example.org", "name": "New HR", "roles": ["hr"], "password": "a long enough password"}


def _actions(db: Any, target: str) -> list[str]:
    db.rollback()
    rows = list(db.scalars(select(AuditEvent.action).where(AuditEvent.target == target).order_by(AuditEvent.id)))
    db.rollback()
    return rows


# --- nobody changes their own roles or activation ------------------------------------------------


@pytest.mark.parametrize("change", [{"roles": ["admin", "safeguarding"]}, {"roles": ["hr"]}, {"active": False}],
                         ids=["self-promotion", "self-demotion", "self-deactivation"])
def test_nobody_changes_their_own_roles_or_activation(client: TestClient, make_staff: Any, change: dict[str, Any]) -> None:
    admin, _other = make_staff("admin"), make_staff("admin")
    r = client.patch(f"/api/v1/users/{admin.id}", json=change, headers=admin.headers)
    assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json"
    me = client.get("/api/v1/auth/me", headers=admin.headers).json()
    assert me["roles"] == ["admin"] and me["active"] is True
    # An admin who tried to promote themself still cannot read cases.
    assert client.get("/api/v1/cases", headers=admin.headers).status_code == 403


def test_renaming_oneself_is_fine(client: TestClient, make_staff: Any) -> None:
    admin = make_staff("admin")
    r = client.patch(f"/api/v1/users/{admin.id}", json={"name": "Sam", "roles": ["admin"], "active": True}, headers=admin.headers)
    assert r.status_code == 200 and r.json()["name"] == "Sam"


def test_the_last_active_admin_cannot_be_deactivated_by_another_who_is_going(
    app: Any, client: TestClient, make_staff: Any
) -> None:
    first, second = make_staff("admin"), make_staff("admin")
    assert client.patch(f"/api/v1/users/{first.id}", json={"roles": ["leadership"]}, headers=second.headers).status_code == 200
    # `first` is no longer an admin, so only `second` is left; nobody may remove them.
    assert client.patch(f"/api/v1/users/{second.id}", json={"active": False}, headers=first.headers).status_code == 403
    assert client.patch(f"/api/v1/users/{second.id}", json={"active": False}, headers=second.headers).status_code == 403


# --- grants of case-reading roles --------------------------------------------------------------------


def test_every_grant_of_safeguarding_or_hr_is_audited_and_told_to_safeguarding(
    app: Any, client: TestClient, make_staff: Any, db: Any, mail: Any
) -> None:
    admin, sg1, sg2, lead = make_staff("admin"), make_staff("safeguarding"), make_staff("safeguarding"), make_staff("leadership")
    mail.clear()
    created = client.post("/api/v1/users", json=NEW_HR, headers=admin.headers).json()
    assert created["pending_roles"] == ["hr"]
    assert client.patch(f"/api/v1/users/{lead.id}", json={"roles": ["leadership", "safeguarding"]}, headers=admin.headers).status_code == 202
    assert client.patch(f"/api/v1/users/{lead.id}", json={"name": "Lee"}, headers=admin.headers).status_code == 200  # no grant
    asked = [n for n in mail if n.kind == "role_grant_requested"]
    assert len(asked) == 2 and all(set(n.to) == {sg1.email, sg2.email} for n in asked)
    # The new account's owner has not chosen their own password yet: its grant cannot be confirmed.
    assert client.post(f"/api/v1/users/{created['id']}/role-grant/confirm", headers=sg1.headers).status_code == 409
    enrol_by_link(app, mail, NEW_HR["email"])
    for uid in (created["id"], lead.id):
        assert client.post(f"/api/v1/users/{uid}/role-grant/confirm", headers=sg1.headers).status_code == 200
    assert "user.role.granted.hr" in _actions(db, created["id"])
    assert "user.role.granted.safeguarding" in _actions(db, lead.id)
    grants = [n for n in mail if n.kind == "role_granted"]
    assert [n.subject for n in grants] == [
        f"Safe Share: {NEW_HR['email']} can now act as hr", f"Safe Share: {lead.email} can now act as safeguarding",
    ]
    assert set(grants[0].to) == {sg1.email, sg2.email}
    assert set(grants[1].to) == {sg1.email, sg2.email, lead.email}  # now one of them
    assert all(NEW_HR["password"] not in n.body for n in grants)


# --- password reset ---------------------------------------------------------------------------------


def test_reset_by_another_admin_gives_a_one_time_password_that_must_be_changed(
    client: TestClient, make_staff: Any, frozen: Any, settings: Any, mail: Any
) -> None:
    admin, hr = make_staff("admin"), make_staff("leadership")  # reads no case: no second person needed
    r = client.post(f"/api/v1/users/{hr.id}/password-reset", headers=admin.headers)
    assert r.status_code == 200
    one_time, expires = r.json()["one_time_password"], r.json()["expires_at"]
    assert len(one_time) >= 12 and expires == clock.rfc3339(T0 + timedelta(hours=settings.one_time_password_hours))
    assert client.get("/api/v1/auth/me", headers=hr.headers).status_code == 401  # sessions ended
    assert login(client, hr.email, hr.password).status_code == 401  # the old password is gone
    signed_in = login(client, hr.email, one_time)
    assert signed_in.status_code == 200 and signed_in.json()["password_change_required"] is True
    headers = {"Authorization": f"Bearer {signed_in.json()['token']}"}
    assert client.post("/api/v1/auth/password", json={"current_password": one_time, "new_password": "river lantern quietly"},
                       headers=headers).status_code == 204
    assert login(client, hr.email, one_time).status_code == 401
    assert login(client, hr.email, "river lantern quietly").json()["password_change_required"] is False
    notice = next(n for n in mail if n.kind == "password_reset")
    assert hr.email in notice.to and one_time not in notice.body and one_time not in notice.subject


def test_a_one_time_password_expires(client: TestClient, make_staff: Any, frozen: Any, settings: Any) -> None:
    admin, hr = make_staff("admin"), make_staff("leadership")
    one_time = client.post(f"/api/v1/users/{hr.id}/password-reset", headers=admin.headers).json()["one_time_password"]
    clock.set_frozen(T0 + timedelta(hours=settings.one_time_password_hours, seconds=1))
    r = login(client, hr.email, one_time)
    assert r.status_code == 401 and r.content == login(client, "nobody@example.org", one_time).content


def test_a_password_reset_leaves_2fa_on(client: TestClient, make_staff: Any, frozen: Any, enable_totp: Any) -> None:
    admin, sg, sg2 = make_staff("admin"), make_staff("safeguarding"), make_staff("safeguarding")
    two = enable_totp(sg)
    enable_totp(sg2)
    assert client.post(f"/api/v1/users/{sg.id}/password-reset", headers=admin.headers).status_code == 202
    one_time = client.post(f"/api/v1/users/{sg.id}/password-reset/confirm", headers=sg2.headers).json()["one_time_password"]
    assert login(client, sg.email, one_time).json()["type"].endswith("/totp-required")
    assert login(client, sg.email, one_time, code(two.secret, T0, 1)).status_code == 200


@pytest.mark.parametrize("action", ["password-reset", "totp-reset"])
def test_no_admin_resets_their_own_account(client: TestClient, make_staff: Any, frozen: Any, enable_totp: Any, action: str) -> None:
    admin = make_staff("admin")
    enable_totp(admin)
    r = client.post(f"/api/v1/users/{admin.id}/{action}", headers=admin.headers)
    assert r.status_code == 403
    assert client.get("/api/v1/auth/me", headers=admin.headers).json()["totp_enabled"] is True


def test_resets_of_an_unknown_account_are_404(client: TestClient, make_staff: Any) -> None:
    admin = make_staff("admin")
    for action in ("password-reset", "totp-reset"):
        assert client.post(f"/api/v1/users/3f0c3a5e-0000-4000-8000-000000000000/{action}", headers=admin.headers).status_code == 404


# --- two-factor reset ---------------------------------------------------------------------------------


def test_a_2fa_reset_of_an_account_that_reads_no_case_takes_effect_at_once(
    client: TestClient, make_staff: Any, frozen: Any, enable_totp: Any, db: Any, mail: Any
) -> None:
    admin, lead = make_staff("admin"), make_staff("leadership")
    enable_totp(lead)
    r = client.post(f"/api/v1/users/{lead.id}/totp-reset", headers=admin.headers)
    assert r.status_code == 200 and r.json()["status"] == "applied"
    assert client.get("/api/v1/auth/me", headers=lead.headers).status_code == 401
    assert login(client, lead.email, lead.password).json()["user"]["totp_enabled"] is False
    assert "user.totp.reset" in _actions(db, lead.id)
    assert [n.to for n in mail if n.kind == "totp_reset"] == [(lead.email,)]
    assert client.post(f"/api/v1/users/{lead.id}/totp-reset", headers=admin.headers).status_code == 409  # none left


def test_a_2fa_reset_of_a_case_reading_account_waits_for_another_safeguarding_user(
    client: TestClient, make_staff: Any, frozen: Any, enable_totp: Any, db: Any, mail: Any
) -> None:
    admin_sg = make_staff("admin", "safeguarding")
    hr, sg = make_staff("hr"), make_staff("safeguarding")
    two = enable_totp(hr)
    asked = client.post(f"/api/v1/users/{hr.id}/totp-reset", headers=admin_sg.headers)
    assert asked.status_code == 200 and asked.json()["status"] == "awaiting_confirmation"
    assert client.get("/api/v1/auth/me", headers=hr.headers).status_code == 401  # sessions end at once
    # Not in effect yet: the owner still needs their code.
    assert login(client, hr.email, hr.password).json()["type"].endswith("/totp-required")
    assert client.post(f"/api/v1/users/{hr.id}/totp-reset", headers=admin_sg.headers).json()["id"] == asked.json()["id"]
    # The requester cannot confirm it, even holding safeguarding; nor an admin without it.
    assert client.post(f"/api/v1/users/{hr.id}/totp-reset/confirm", headers=admin_sg.headers).status_code == 403
    confirmed = client.post(f"/api/v1/users/{hr.id}/totp-reset/confirm", headers=sg.headers)
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "applied"
    assert confirmed.json()["confirmed_by"] == sg.id and confirmed.json()["requested_by"] == admin_sg.id
    assert login(client, hr.email, hr.password, code(two.secret, T0, 1)).json()["user"]["totp_enabled"] is False
    assert _actions(db, hr.id)[-3:-1] == ["user.totp.reset_requested", "user.totp.reset_confirmed"]
    told = [n for n in mail if n.kind.startswith("totp_reset")]
    assert sorted(n.kind for n in told) == ["totp_reset", "totp_reset_requested"]
    assert all(set(n.to) == {hr.email, admin_sg.email, sg.email} for n in told)
    assert client.post(f"/api/v1/users/{hr.id}/totp-reset/confirm", headers=sg.headers).status_code == 409


def test_the_owner_cannot_confirm_a_reset_of_their_own_account(
    client: TestClient, make_staff: Any, frozen: Any, enable_totp: Any
) -> None:
    admin, sg = make_staff("admin"), make_staff("safeguarding")
    two = enable_totp(sg)
    assert client.post(f"/api/v1/users/{sg.id}/totp-reset", headers=admin.headers).json()["status"] == "awaiting_confirmation"
    again = login(client, sg.email, sg.password, code(two.secret, T0, 1))  # the owner still has their phone
    assert again.status_code == 200
    headers = {"Authorization": f"Bearer {again.json()['token']}"}
    assert client.post(f"/api/v1/users/{sg.id}/totp-reset/confirm", headers=headers).status_code == 403
    assert client.get("/api/v1/auth/me", headers=headers).json()["totp_enabled"] is True
