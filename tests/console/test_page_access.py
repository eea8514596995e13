"""Every staff page against every kind of person, read from the app's own list of routes.

A page added without an entry in PAGES fails here. Each entry says who may use the page; the
rules are the API's (the pages take the API's dependencies), so:

- nobody signed in: a redirect to the sign-in page, nothing done;
- a role the page does not name: 403, a page saying so, nothing done;
- on a case's pages, an HR contact the case is not assigned to, and anyone excluded from the
  case: 404, as on the API (they may not learn the case exists), nothing done;
- everyone the page names: neither of those.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEvent
from tests.attachments.files import screenshot_png
from tests.cases.conftest import World
from tests.console.conftest import Browser

SG, HR, LEAD, ADMIN = "safeguarding", "hr", "leadership", "admin"
CASEWORK = (SG, HR)
EVERY_STAFF = (SG, HR, LEAD, ADMIN)

# path template -> {method: roles}. Case pages: HR means the case's own HR contact only.
PAGES: dict[str, dict[str, tuple[str, ...]]] = {
    "/staff": {"GET": EVERY_STAFF},
    "/staff/cases": {"GET": CASEWORK},
    "/staff/cases/{case_id}": {"GET": CASEWORK},
    "/staff/cases/{case_id}/history": {"GET": (SG,)},
    "/staff/cases/{case_id}/owner": {"POST": (SG,)},
    "/staff/cases/{case_id}/identity-sharing": {"POST": (SG,)},
    "/staff/cases/{case_id}/export.pdf": {"GET": (SG,)},
    "/staff/cases/{case_id}/{part}/{row_id}/redact": {"POST": (SG,)},
    "/staff/cases/{case_id}/triage": {"POST": (SG,)},
    "/staff/cases/{case_id}/themes": {"POST": (SG,)},
    "/staff/cases/{case_id}/hr-contact": {"POST": (SG,)},
    "/staff/cases/{case_id}/exclusions": {"POST": (SG,)},
    "/staff/cases/{case_id}/notes": {"POST": CASEWORK},
    "/staff/cases/{case_id}/messages": {"POST": CASEWORK},
    "/staff/cases/{case_id}/check-ins/{check_in_id}/complete": {"POST": CASEWORK},
    "/staff/cases/{case_id}/close": {"POST": CASEWORK},
    "/staff/cases/{case_id}/acknowledge": {"POST": CASEWORK},
    "/staff/cases/{case_id}/attachments/{attachment_id}": {"GET": CASEWORK},
    "/staff/cases/{case_id}/attachments/{attachment_id}/preview": {"GET": CASEWORK},
    "/staff/cases/{case_id}/attachments/{attachment_id}/withdraw": {"POST": CASEWORK},
    "/staff/cases/{case_id}/referrals": {"POST": CASEWORK},
    "/staff/cases/{case_id}/referrals/{referral_id}/complete": {"POST": CASEWORK},
    "/staff/views": {"POST": CASEWORK},
    "/staff/views/{view_id}/delete": {"POST": CASEWORK},
    "/staff/check-ins": {"GET": CASEWORK},
    "/staff/check-ins/{case_id}/{check_in_id}": {"POST": CASEWORK},
    "/staff/record": {"GET": (SG,), "POST": (SG,)},
    "/staff/cases/{case_id}/signposts": {"POST": CASEWORK},
    "/staff/support-directory": {"GET": (ADMIN,), "POST": (ADMIN,)},
    "/staff/support-directory/{entry_id}": {"POST": (ADMIN,)},
    "/staff/support-directory/{entry_id}/delete": {"POST": (ADMIN,)},
    "/staff/reply-templates": {"GET": (SG,), "POST": (SG,)},
    "/staff/reply-templates/{template_id}": {"POST": (SG,)},
    "/staff/reply-templates/{template_id}/delete": {"POST": (SG,)},
    "/staff/users": {"GET": (ADMIN,), "POST": (ADMIN,)},
    "/staff/users/{user_id}": {"POST": (ADMIN,)},
    "/staff/users/{user_id}/password-reset": {"POST": (ADMIN,)},
    "/staff/users/{user_id}/totp-reset": {"POST": (ADMIN,)},
    "/staff/resets/{user_id}/confirm": {"POST": (SG,)},
    "/staff/approvals": {"GET": (ADMIN, SG)},
    "/staff/approvals/{user_id}/{kind}/confirm": {"POST": (SG,)},
    "/staff/approvals/{user_id}/{kind}/cancel": {"POST": (ADMIN, SG)},
    "/staff/approvals/keys/{user_id}/grant": {"POST": (SG,)},
    "/staff/account": {"GET": EVERY_STAFF},
    "/staff/account/password": {"POST": EVERY_STAFF},
    "/staff/account/totp/setup": {"POST": EVERY_STAFF},
    "/staff/account/totp/confirm": {"POST": EVERY_STAFF},
    "/staff/account/totp/remove": {"POST": EVERY_STAFF},
    "/staff/account/sessions/{session_id}/end": {"POST": EVERY_STAFF},
    "/staff/account/sessions/end-all": {"POST": EVERY_STAFF},
    "/staff/account/recovery-key": {"GET": EVERY_STAFF, "POST": EVERY_STAFF},
    "/staff/account/recovery-key/restore": {"POST": EVERY_STAFF},
    "/staff/themes": {"GET": (ADMIN,), "POST": (ADMIN,)},
    "/staff/themes/{slug}": {"POST": (ADMIN,)},
    "/staff/locations": {"GET": (ADMIN,), "POST": (ADMIN,)},
    "/staff/locations/{slug}": {"POST": (ADMIN,)},
    "/dashboard": {"GET": (LEAD, SG, ADMIN)},
    "/dashboard/themes.csv": {"GET": (LEAD, SG, ADMIN)},
}
# Staff pages open to anyone (signing in and out, a forgotten password).
OPEN = {("/login", "GET"), ("/login", "POST"), ("/logout", "POST"), ("/login/forgot", "GET"), ("/login/forgot", "POST")}


def _routes(app: Any) -> set[tuple[str, str]]:
    """(path, method) of every page route, including those of included routers."""
    out: set[tuple[str, str]] = set()

    def walk(routes: list[Any], prefix: str = "") -> None:
        for r in routes:
            original = getattr(r, "original_router", None)
            if original is not None:
                walk(original.routes, prefix + r.include_context.prefix)
            elif hasattr(r, "methods") and r.methods:
                for m in r.methods - {"HEAD"}:
                    out.add((prefix + r.path, m))

    walk(app.routes)
    return {(p, m) for p, m in out if p.startswith(("/staff", "/dashboard", "/login", "/logout"))}


def test_every_staff_page_has_an_access_rule(app: Any) -> None:
    listed = {(p, m) for p, methods in PAGES.items() for m in methods} | OPEN
    assert _routes(app) - listed == set(), "add these pages to PAGES"
    assert listed - _routes(app) == set(), "PAGES names pages the app no longer has"


def _audit_count(app: Any) -> int:
    with app.state.sessionmaker() as s:
        return s.scalar(select(func.count()).select_from(AuditEvent)) or 0


def _actions_since(app: Any, count: int) -> list[str]:
    with app.state.sessionmaker() as s:
        return list(s.scalars(select(AuditEvent.action).order_by(AuditEvent.id).offset(count)))


def _url(template: str, case_id: uuid.UUID, check_in_id: str, user_id: str, attachment_id: str = "") -> str:
    values = {"case_id": str(case_id), "check_in_id": check_in_id, "user_id": user_id, "slug": "bullying",
              "session_id": str(uuid.uuid4()), "referral_id": str(uuid.uuid4()), "attachment_id": attachment_id,
              "template_id": str(uuid.uuid4()), "entry_id": str(uuid.uuid4()), "kind": "role_grant",
              "view_id": str(uuid.uuid4()), "part": "notes", "row_id": str(uuid.uuid4())}
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], template)


def _open_check_in(app: Any, case_id: uuid.UUID) -> str:
    from app.checkins.models import CheckIn

    with app.state.sessionmaker() as s:
        row = s.scalar(select(CheckIn).where(CheckIn.case_id == case_id, CheckIn.completed_at.is_(None),
                                             CheckIn.cancelled_at.is_(None)))
        assert row is not None
        return str(row.id)


# The people of tests/cases' world, by the role they stand for.
PEOPLE = {
    "safeguarding": SG, "assigned_hr": HR, "other_hr": HR, "excluded_safeguarding": SG, "excluded_hr": HR,
    "leadership": LEAD, "admin": ADMIN,
}


@pytest.mark.parametrize("who", ["none", *PEOPLE])
def test_each_person_gets_what_the_api_would_give_them_on_every_page(app: Any, world: World, as_: Any, who: str) -> None:
    case_id = world.new_case()
    check_in_id = _open_check_in(app, case_id)
    photo = as_("safeguarding").client.post(f"/api/v1/cases/{case_id}/attachments", headers=world.headers("safeguarding"),
                                             files={"file": ("photo.png", screenshot_png(), "image/png")})
    assert photo.status_code == 201, photo.text
    me: Browser = as_(who)
    token = me.token("/login")
    for template, methods in PAGES.items():
        for method, roles in methods.items():
            url = _url(template, case_id, check_in_id, world.id("other_hr"), photo.json()["id"])
            before = _audit_count(app)
            if method == "GET":
                r = me.get(url)
            else:
                r = me.post(url, {"body": "x"}, token=token)
            where = f"{method} {template} as {who}"
            changed = _audit_count(app) != before
            if who == "none":
                assert r.status_code == 303 and r.headers["location"] == "/login", where
                assert not changed, where
                continue
            role = PEOPLE[who]
            on_case = "{case_id}" in template
            allowed = role in roles and not (on_case and who in ("other_hr", "excluded_safeguarding", "excluded_hr"))
            if allowed:
                # Past the gate: no sign-in asked for, no "not available to you", no "no such case".
                # (A form may still refuse what was sent, e.g. a wrong current password is 403.)
                assert r.status_code != 401 and r.headers.get("location") != "/login", (where, r.status_code)
                assert "Not available to you" not in r.text, (where, r.status_code)
                if on_case:
                    assert r.status_code != 404, (where, r.status_code)
                continue
            if role not in roles:
                assert r.status_code == 403, (where, r.status_code)
                assert "Not available to you" in r.text, where
            else:
                assert r.status_code == 404, (where, r.status_code)
                # Nothing done or read; the refused attempt itself is on the record, for safeguarding.
                assert _actions_since(app, before) == ["case.refused"], where
                continue
            assert not changed, f"{where}: something was done or read ({r.status_code})"


def test_a_page_for_a_case_that_does_not_exist_is_404_like_the_api(as_: Any) -> None:
    assert as_("safeguarding").get(f"/staff/cases/{uuid.uuid4()}").status_code == 404


def test_a_console_session_left_idle_ends_and_signing_out_ends_it_on_the_server(
    app: Any, world: World, as_: Any, client: Any
) -> None:
    from datetime import timedelta

    from app import clock

    sg = as_("safeguarding")
    start = clock.now()
    clock.set_frozen(start + timedelta(minutes=20))
    assert sg.get("/staff/cases").status_code == 200  # in use: still signed in, and the clock restarts
    clock.set_frozen(start + timedelta(minutes=45))
    assert sg.get("/staff/cases").status_code == 200  # 25 minutes since it was last used
    clock.set_frozen(start + timedelta(minutes=76))
    idle = sg.get("/staff/cases")
    assert idle.status_code == 303 and idle.headers["location"] == "/login"  # 31 minutes unused
    token = world.staff["safeguarding"].token
    assert client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401

    hr = as_("assigned_hr")
    assert hr.post("/logout", {}).status_code == 303
    assert client.get("/api/v1/auth/me", headers=world.staff["assigned_hr"].headers).status_code == 401
