"""Every API endpoint against every kind of caller, read from the app's own OpenAPI document.

The detailed matrices live beside each domain (tests/cases/test_role_matrix.py for cases with
assigned, other and excluded HR contacts; tests/foundation/test_roles.py for admin endpoints).
This one makes sure no endpoint escapes: a route added without an entry in ACCESS fails here.

Each entry names the capability (or capabilities) a caller needs, and the permission table
(app.auth.permissions) says which roles have it: those get past authorisation, and every other
staff role must get 403 (or 404 for case routes, where an HR contact not assigned may not learn
the case exists). A new role is covered by this test without a change here.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from app.auth.permissions import Capability, roles_with
from app.enums import Role

PUBLIC = "public"
REPORTER = "reporter"
C = Capability
SG, HR = Role.SAFEGUARDING.value, Role.HR.value
ANY_STAFF = C.OWN_ACCOUNT
STATS = C.READ_STATISTICS
CASEWORK = C.WORK_ON_CASES
TRIAGE = C.READ_EVERY_CASE

ACCESS: dict[str, Any] = {
    "POST /auth/login": PUBLIC,
    "POST /auth/logout": ANY_STAFF,
    "GET /auth/me": ANY_STAFF,
    "POST /auth/password": ANY_STAFF,
    "POST /auth/totp/setup": ANY_STAFF,
    "POST /auth/totp/confirm": ANY_STAFF,
    "DELETE /auth/totp": ANY_STAFF,
    "GET /auth/sessions": ANY_STAFF,
    "DELETE /auth/sessions/{session_id}": ANY_STAFF,
    "DELETE /auth/sessions": ANY_STAFF,
    "POST /auth/recovery-key": ANY_STAFF,
    "POST /auth/recovery-key/restore": ANY_STAFF,
    "POST /auth/password/recover": PUBLIC,  # a forgotten password: the recovery key and a code, no token
    "POST /key-grants": TRIAGE,
    "GET /users": (C.ADMINISTER, TRIAGE),  # safeguarding: the HR contacts only, checked below
    "POST /users": C.ADMINISTER,
    "PATCH /users/{user_id}": C.ADMINISTER,
    "POST /users/{user_id}/password-reset": C.ADMINISTER,
    "POST /users/{user_id}/totp-reset": C.ADMINISTER,
    "POST /users/{user_id}/totp-reset/confirm": C.CONFIRM_APPROVALS,
    "POST /users/{user_id}/totp-reset/cancel": C.SEE_APPROVALS,
    "POST /users/{user_id}/password-reset/confirm": C.CONFIRM_APPROVALS,
    "POST /users/{user_id}/password-reset/cancel": C.SEE_APPROVALS,
    "POST /users/{user_id}/role-grant/confirm": C.CONFIRM_APPROVALS,
    "POST /users/{user_id}/role-grant/cancel": C.SEE_APPROVALS,
    "GET /account-approvals": C.SEE_APPROVALS,
    "GET /themes": PUBLIC,
    "POST /themes": C.ADMINISTER,
    "PATCH /themes/{slug}": C.ADMINISTER,
    "GET /locations": PUBLIC,
    "POST /locations": C.ADMINISTER,
    "PATCH /locations/{slug}": C.ADMINISTER,
    "GET /audit": C.ADMINISTER,
    "GET /audit/verify": C.ADMINISTER,
    "POST /reports": PUBLIC,
    "POST /reporter/session": PUBLIC,
    "DELETE /reporter/session": REPORTER,
    "GET /reporter/case": REPORTER,
    "POST /reporter/messages": REPORTER,
    "POST /reporter/feedback": REPORTER,
    "POST /reporter/attachments": REPORTER,
    "GET /reporter/attachments/{attachment_id}": REPORTER,
    "DELETE /reporter/attachments/{attachment_id}": REPORTER,
    "GET /cases": CASEWORK,
    "POST /cases": TRIAGE,
    "GET /cases/{case_id}": CASEWORK,
    "PATCH /cases/{case_id}": TRIAGE,
    "PUT /cases/{case_id}/hr-contact": TRIAGE,
    "GET /cases/{case_id}/history": TRIAGE,
    "GET /cases/{case_id}/export.pdf": TRIAGE,
    "POST /cases/{case_id}/notes/{note_id}/redactions": TRIAGE,
    "POST /cases/{case_id}/messages/{message_id}/redactions": TRIAGE,
    "GET /cases/{case_id}/exclusions": TRIAGE,
    "POST /cases/{case_id}/exclusions": TRIAGE,
    "GET /cases/{case_id}/notes": CASEWORK,
    "POST /cases/{case_id}/notes": CASEWORK,
    "GET /cases/{case_id}/messages": CASEWORK,
    "POST /cases/{case_id}/messages": CASEWORK,
    "POST /cases/{case_id}/close": CASEWORK,
    "GET /cases/{case_id}/attachments": CASEWORK,
    "POST /cases/{case_id}/attachments": CASEWORK,
    "GET /cases/{case_id}/attachments/{attachment_id}": CASEWORK,
    "DELETE /cases/{case_id}/attachments/{attachment_id}": CASEWORK,
    "GET /cases/{case_id}/check-ins": CASEWORK,
    "GET /cases/{case_id}/referrals": CASEWORK,
    "POST /cases/{case_id}/referrals": CASEWORK,
    "PATCH /cases/{case_id}/referrals/{referral_id}": CASEWORK,
    "POST /cases/{case_id}/check-ins/{check_in_id}/complete": CASEWORK,
    "GET /check-ins": CASEWORK,
    "GET /support-directory": C.READ_SUPPORT_DIRECTORY,
    "POST /support-directory": C.ADMINISTER,
    "PATCH /support-directory/{entry_id}": C.ADMINISTER,
    "DELETE /support-directory/{entry_id}": C.ADMINISTER,
    "POST /cases/{case_id}/signposts": CASEWORK,
    "GET /reply-templates": CASEWORK,
    "POST /reply-templates": TRIAGE,
    "PATCH /reply-templates/{template_id}": TRIAGE,
    "DELETE /reply-templates/{template_id}": TRIAGE,
    "GET /me/views": ANY_STAFF,
    "POST /me/views": ANY_STAFF,
    "DELETE /me/views/{view_id}": ANY_STAFF,
    "GET /stats/themes": STATS,
    "GET /stats/themes.csv": STATS,
    "GET /stats/summary": STATS,
    "GET /stats/referrals": STATS,
    "GET /stats/equality": STATS,
    "PUT /stats/equality/baseline": C.ADMINISTER,
    "GET /stats/locations": STATS,
}


def _allowed(rule: Any) -> set[str]:
    """The roles (values) that get past a rule of ACCESS."""
    capabilities = rule if isinstance(rule, tuple) else (rule,)
    return {role.value for capability in capabilities for role in roles_with(capability)}


def _api_routes(app: Any) -> list[str]:
    out = []
    for path, ops in app.openapi()["paths"].items():
        if not path.startswith("/api/v1/"):
            continue
        for method in ops:
            out.append(f"{method.upper()} {path.removeprefix('/api/v1')}")
    return sorted(out)


def _normalise(path: str) -> str:
    # Path parameter names differ between routers; compare by shape.
    import re

    return re.sub(r"\{[^}]+\}", "{}", path)


def test_every_api_route_has_an_access_rule(app: Any) -> None:
    known = {_normalise(k) for k in ACCESS}
    routes = {_normalise(r) for r in _api_routes(app)}
    assert routes - known == set(), "add these routes to ACCESS (and to their domain's role matrix)"
    assert known - routes == set(), "ACCESS names routes the app no longer has"


@pytest.fixture
def callers(make_staff: Any) -> dict[str, Any]:
    return {role.value: make_staff(role.value) for role in Role}


@pytest.fixture
def reporter_token(client: Any) -> str:
    r = client.post("/api/v1/reports", json={"description": "Someone at work keeps taking my lunch money."})
    assert r.status_code == 201
    s = client.post("/api/v1/reporter/session", json={"receipt": r.json()["receipt"]})
    assert s.status_code == 200
    return s.json()["token"]


def _url(template: str) -> str:
    import re

    return "/api/v1" + re.sub(r"\{[^}]+\}", lambda m: "domestic_abuse" if m.group(0) == "{slug}" else str(uuid.uuid4()), template)


def test_no_credentials_and_wrong_kind_of_token_are_refused_everywhere(
    app: Any, client: Any, callers: dict[str, Any], reporter_token: str
) -> None:
    """Without a token every non-public route is 401; reporter tokens never open staff routes and
    staff tokens never open reporter routes (401, as for any bad credential)."""
    seen = []
    for route in _api_routes(app):
        rule = next(v for k, v in ACCESS.items() if _normalise(k) == _normalise(route))
        if rule == PUBLIC:
            continue
        method, template = route.split(" ", 1)
        url = _url(template)
        none = client.request(method, url)
        assert none.status_code == 401, route
        assert none.headers["content-type"].startswith("application/problem+json"), route
        wrong = {"Authorization": f"Bearer {callers[SG].token}"} if rule == REPORTER else {"Authorization": f"Bearer {reporter_token}"}
        assert client.request(method, url, headers=wrong).status_code == 401, route
        seen.append(route)
    assert len(seen) >= 25


def test_staff_roles_outside_an_endpoints_rule_get_403_or_404(
    app: Any, client: Any, callers: dict[str, Any]
) -> None:
    """A staff role an endpoint does not name is refused before anything happens: 403 (or 404 on a
    case route, where the case's existence is itself the secret). Allowed roles are never 401/403."""
    for route in _api_routes(app):
        rule = next(v for k, v in ACCESS.items() if _normalise(k) == _normalise(route))
        if rule in (PUBLIC, REPORTER):
            continue
        method, template = route.split(" ", 1)
        url = _url(template)
        for role, staff in callers.items():
            if route == "POST /auth/logout":
                continue  # would revoke the caller's token for the rest of the loop
            r = client.request(method, url, headers=staff.headers, json={})
            if role in _allowed(rule):
                assert r.status_code not in (401, 403), (route, role, r.status_code)
            else:
                expected = {403, 404} if "/cases" in template or "/check-ins" in template else {403}
                assert r.status_code in expected, (route, role, r.status_code)


def test_safeguarding_may_list_hr_contacts_but_not_all_users(client: Any, callers: dict[str, Any]) -> None:
    sg = callers[SG].headers
    hr = client.get("/api/v1/users?role=hr", headers=sg)
    assert hr.status_code == 200
    assert {u["email"] for u in hr.json()} == {callers[HR].email}
    # Without ?role their list is the same: HR contacts, never every account.
    default = client.get("/api/v1/users", headers=sg)
    assert default.status_code == 200 and default.json() == hr.json()
    other = client.get("/api/v1/users?role=admin", headers=sg)
    assert other.status_code == 403 and "HR contacts only" in other.json()["detail"]
