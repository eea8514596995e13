"""Nobody alone (issue 21): the review's two attack chains by a rogue administrator, walked end
to end, read no case content; grants and resets wait for a second person, who may be nobody
but a safeguarding user other than the requester; what waits can be cancelled and lapses."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app import clock
from app.audit.models import AuditEvent
from tests.auth.conftest import T0, code, login

NAMED = {"description": "My partner hurts me and I am scared to go home.", "anonymous": False,
         "reporter": {"name": "Robin Reporter", "email": "robin@example.org", "phone": "07700 900123"}}


def _h(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _case_reads(db: Any) -> int:
    """Every read of case content, by anyone, so far."""
    db.rollback()
    n = db.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "case.read"))
    db.rollback()
    return int(n or 0)


def _assigned_case(client: TestClient, sg: Any, hr: Any) -> str:
    client.post("/api/v1/reports", json=NAMED)
    case_id = client.get("/api/v1/cases", headers=sg.headers).json()["items"][0]["id"]
    assert client.put(f"/api/v1/cases/{case_id}/hr-contact", json={"user_id": hr.id}, headers=sg.headers).status_code == 200
    return str(case_id)


def test_chain_one_demote_reset_and_regrant_reads_nothing(
    client: TestClient, make_staff: Any, frozen: Any, enable_totp: Any, db: Any, mail: Any
) -> None:
    admin, sg, hr1 = make_staff("admin"), make_staff("safeguarding"), make_staff("hr")
    admin_2fa = enable_totp(admin)
    sg_2fa = enable_totp(sg)
    enable_totp(hr1)
    case_id = _assigned_case(client, sg, hr1)
    reads = _case_reads(db)
    mail.clear()

    # 1. Demote the HR contact: a removal applies at once, and safeguarding is told.
    assert client.patch(f"/api/v1/users/{hr1.id}", json={"roles": ["leadership"]}, headers=admin.headers).status_code == 200
    assert [n.subject for n in mail if n.kind == "role_removed"] == [f"Safe Share: {hr1.email} no longer acts as hr"]
    # 2. Reset 2FA and the password: the account read cases in the last 90 days, so both wait.
    totp = client.post(f"/api/v1/users/{hr1.id}/totp-reset", headers=admin.headers)
    assert totp.status_code == 200 and totp.json()["status"] == "awaiting_confirmation"
    reset = client.post(f"/api/v1/users/{hr1.id}/password-reset", headers=admin.headers)
    assert reset.status_code == 202 and reset.json()["status"] == "awaiting_confirmation"
    assert "one_time_password" not in reset.json()
    # 3. Give HR back: it waits for a safeguarding user too.
    regrant = client.patch(f"/api/v1/users/{hr1.id}", json={"roles": ["hr"]}, headers=admin.headers)
    assert regrant.status_code == 202 and regrant.json() == {**regrant.json(), "status": "pending", "pending_roles": ["hr"]}
    # The administrator can confirm none of it, nor read the case.
    for what in ("role-grant", "password-reset", "totp-reset"):
        assert client.post(f"/api/v1/users/{hr1.id}/{what}/confirm", headers=admin.headers).status_code == 403
    assert client.get(f"/api/v1/cases/{case_id}", headers=admin.headers).status_code == 403
    # Everything waiting is listed for safeguarding, and they were told.
    waiting = client.get("/api/v1/account-approvals", headers=sg.headers).json()
    assert sorted(w["kind"] for w in waiting) == ["password_reset", "role_grant", "totp_reset"]
    told = {n.kind for n in mail if sg.email in n.to}
    assert {"role_grant_requested", "password_reset_requested", "totp_reset_requested"} <= told

    # 4. Wait past 90 days: the resets now apply alone (the account read no case since), but
    #    HR still waits for a second person, so the administrator holding the account reads nothing.
    clock.set_frozen(T0 + timedelta(days=91))
    admin.token = login(client, admin.email, admin.password, code(admin_2fa.secret, clock.now())).json()["token"]
    sg.token = login(client, sg.email, sg.password, code(sg_2fa.secret, clock.now())).json()["token"]
    two = client.post(f"/api/v1/users/{hr1.id}/totp-reset", headers=admin.headers)
    assert two.json()["status"] == "applied"
    one_time = client.post(f"/api/v1/users/{hr1.id}/password-reset", headers=admin.headers).json()["one_time_password"]
    stolen = login(client, hr1.email, one_time).json()["token"]
    assert client.post("/api/v1/auth/password", json={"current_password": one_time, "new_password": "the admin's own words"},
                       headers=_h(stolen)).status_code == 204
    secret = client.post("/api/v1/auth/totp/setup", headers=_h(stolen)).json()["secret"]
    assert client.post("/api/v1/auth/totp/confirm", json={"code": code(secret, clock.now())},
                       headers=_h(stolen)).status_code == 200
    assert client.patch(f"/api/v1/users/{hr1.id}", json={"roles": ["hr"]}, headers=admin.headers).status_code == 202
    assert client.get(f"/api/v1/cases/{case_id}", headers=_h(stolen)).status_code == 403
    assert client.get(f"/api/v1/cases/{case_id}", headers=admin.headers).status_code == 403
    # Safeguarding sees the grant waiting and cancels it.
    assert client.post(f"/api/v1/users/{hr1.id}/role-grant/cancel", headers=sg.headers).status_code == 204
    assert client.post(f"/api/v1/users/{hr1.id}/role-grant/confirm", headers=sg.headers).status_code == 409
    assert client.get(f"/api/v1/cases/{case_id}", headers=_h(stolen)).status_code == 403
    assert _case_reads(db) == reads  # 0 case content read


def test_chain_two_a_shadow_admin_cannot_make_anyone_safeguarding(
    client: TestClient, make_staff: Any, frozen: Any, enable_totp: Any, db: Any, mail: Any
) -> None:
    admin, sg = make_staff("admin"), make_staff("safeguarding")
    enable_totp(admin)
    sg_2fa = enable_totp(sg)
    _assigned_case(client, sg, make_staff("hr"))
    reads = _case_reads(db)
    mail.clear()
    shadow = {"email": "shadow@example.org", "name": "Shadow", "roles": ["admin"], "password": "a shadowy passphrase"}
    created = client.post("/api/v1/users", json=shadow, headers=admin.headers)
    assert created.status_code == 201 and created.json()["roles"] == ["admin"]
    # Safeguarding is told of every new administrator.
    assert [(n.subject, set(n.to)) for n in mail if n.kind == "admin_granted"] == [
        ("Safe Share: shadow@example.org is now an administrator", {sg.email})]
    signed_in = login(client, shadow["email"], shadow["password"]).json()
    assert signed_in["password_change_required"] is True  # an admin-set password is one-time
    h = _h(signed_in["token"])
    assert client.post("/api/v1/auth/password", json={"new_password": "a quiet harbour at dusk"}, headers=h).status_code == 204
    secret = client.post("/api/v1/auth/totp/setup", headers=h).json()["secret"]
    client.post("/api/v1/auth/totp/confirm", json={"code": code(secret, clock.now())}, headers=h)
    # The shadow grants safeguarding to the first admin: it waits, and neither can confirm it.
    grant = client.patch(f"/api/v1/users/{admin.id}", json={"roles": ["admin", "safeguarding"]}, headers=h)
    assert grant.status_code == 202 and grant.json()["pending_roles"] == ["safeguarding"]
    assert client.post(f"/api/v1/users/{admin.id}/role-grant/confirm", headers=h).status_code == 403
    assert client.post(f"/api/v1/users/{admin.id}/role-grant/confirm", headers=admin.headers).status_code == 403
    assert client.get("/api/v1/cases", headers=admin.headers).status_code == 403
    assert [n.subject for n in mail if n.kind == "role_grant_requested"] == [
        f"Safe Share: confirm or cancel: {admin.email} to act as safeguarding"]
    # Unconfirmed, it lapses after 7 days.
    clock.set_frozen(T0 + timedelta(days=7, seconds=1))
    sg.token = login(client, sg.email, sg.password, code(sg_2fa.secret, clock.now())).json()["token"]
    assert client.post(f"/api/v1/users/{admin.id}/role-grant/confirm", headers=sg.headers).status_code == 409
    assert client.get("/api/v1/account-approvals", headers=sg.headers).json() == []
    assert _case_reads(db) == reads  # 0 case content read


def test_a_second_safeguarding_user_confirms_and_the_one_time_password_is_theirs(
    client: TestClient, make_staff: Any, frozen: Any, enable_totp: Any, mail: Any
) -> None:
    admin, sg, hr = make_staff("admin"), make_staff("safeguarding"), make_staff("hr")
    enable_totp(sg)
    assert client.post(f"/api/v1/users/{hr.id}/password-reset", headers=admin.headers).status_code == 202
    assert login(client, hr.email, hr.password).status_code == 200  # nothing changed yet (but its sessions ended)
    # The owner may not confirm their own reset.
    own = login(client, hr.email, hr.password).json()["token"]
    assert client.post(f"/api/v1/users/{hr.id}/password-reset/confirm", headers=_h(own)).status_code == 403
    confirmed = client.post(f"/api/v1/users/{hr.id}/password-reset/confirm", headers=sg.headers)
    assert confirmed.status_code == 200
    one_time = confirmed.json()["one_time_password"]
    assert login(client, hr.email, hr.password).status_code == 401
    assert login(client, hr.email, one_time).json()["password_change_required"] is True
    assert all(one_time not in n.body for n in mail)
    # A grant: confirmed by safeguarding, the role is real.
    lead = make_staff("leadership")
    assert client.patch(f"/api/v1/users/{lead.id}", json={"roles": ["leadership", "hr"]}, headers=admin.headers).status_code == 202
    assert client.get("/api/v1/users", headers=admin.headers).json()  # listed with its pending role
    listed = {u["id"]: u for u in client.get("/api/v1/users", headers=admin.headers).json()}
    assert listed[lead.id]["pending_roles"] == ["hr"] and listed[lead.id]["roles"] == ["leadership"]
    r = client.post(f"/api/v1/users/{lead.id}/role-grant/confirm", headers=sg.headers)
    assert r.status_code == 200 and r.json()["roles"] == ["hr", "leadership"]
    assert client.get("/api/v1/cases", headers=lead.headers).status_code == 200


def test_every_kind_of_security_notice_can_be_delivered() -> None:
    """`safeshare deliver` reads each outbox row's kind back as a `Kind`: every notice's must be one."""
    import re
    from pathlib import Path

    from app.auth import notices
    from app.notify.service import Kind

    source = Path(notices.__file__).read_text()
    kinds = set(re.findall(r'kind="([a-z_]+)"', source)) | set(re.findall(r'"([a-z_]+)" if ', source))
    assert {"role_grant_requested", "enrolment", "admin_granted"} <= kinds
    assert kinds <= {k.value for k in Kind}


def test_a_case_role_is_never_confirmed_for_credentials_an_administrator_made(
    app: Any, client: TestClient, make_staff: Any, frozen: Any, enable_totp: Any, mail: Any
) -> None:
    """A third path: reset an account that never read cases (applies at once, the one-time
    password goes to the admin), take it over, then ask for HR. The grant cannot be confirmed
    until the real owner chooses their own password through the link sent to their mailbox."""
    from tests.auth.conftest import enrol_by_link

    admin, sg, lead = make_staff("admin"), make_staff("safeguarding"), make_staff("leadership")
    enable_totp(sg)
    one_time = client.post(f"/api/v1/users/{lead.id}/password-reset", headers=admin.headers).json()["one_time_password"]
    taken = login(client, lead.email, one_time).json()["token"]
    assert client.post("/api/v1/auth/password", json={"new_password": "the admin's own words"},
                       headers=_h(taken)).status_code == 204
    assert client.patch(f"/api/v1/users/{lead.id}", json={"roles": ["leadership", "hr"]}, headers=admin.headers).status_code == 202
    refused = client.post(f"/api/v1/users/{lead.id}/role-grant/confirm", headers=sg.headers)
    assert refused.status_code == 409 and "link" in refused.json()["detail"]
    # The owner follows the link e-mailed to them: the admin's password stops working, and then
    # the grant can be confirmed.
    enrol_by_link(app, mail, lead.email, "the real owner's words")
    assert login(client, lead.email, "the admin's own words").status_code == 401
    assert client.get("/api/v1/auth/me", headers=_h(taken)).status_code == 401
    assert client.post(f"/api/v1/users/{lead.id}/role-grant/confirm", headers=sg.headers).status_code == 200
