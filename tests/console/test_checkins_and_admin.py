"""`/staff/check-ins`, the handover of a deactivated HR contact's check-ins, and the admin pages."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from app import clock
from app.audit.service import Actor
from app.auth import service as auth
from app.auth.models import User
from app.checkins.models import CheckIn
from app.checkins.reminders import send_due_reminders
from app.themes.models import Theme
from tests.cases.conftest import World
from tests.mailbox import Inbox

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # check-ins of cases assigned now fall due on 9 March


@pytest.fixture
def settings_overrides(inbox: Inbox) -> dict[str, object]:
    return {"smtp_host": "127.0.0.1", "smtp_port": inbox.port, "public_url": "https://safeshare.example.org"}


def test_an_hr_contact_completes_a_due_check_in_on_the_check_ins_page(app: Any, world: World, as_: Any) -> None:
    with clock.frozen(T0):
        case_id = world.new_case()
    clock.set_frozen(datetime(2026, 3, 10, 9, 0, tzinfo=UTC))
    hr = as_("assigned_hr")
    page = hr.get("/staff/check-ins")
    assert page.status_code == 200 and "overdue" in page.text and "Monday 9 March 2026" in page.text
    action = re.search(r'form=(/staff/check-ins/[^"]+)"', page.text)
    assert action
    refused = hr.post(action.group(1), {"summary": ""}, token=hr.token("/staff/check-ins"))
    assert refused.status_code == 422 and "There is a problem" in refused.text
    done = hr.post(action.group(1), {"summary": "Spoke by phone; feeling better.", "support_suitable": "yes"},
                   token=hr.token("/staff/check-ins"))
    assert done.status_code == 303 and done.headers["location"].startswith("/staff/check-ins?done=")
    with app.state.sessionmaker() as s:
        rows = s.scalars(select(CheckIn).where(CheckIn.case_id == case_id,
                                               CheckIn.hr_contact_id == uuid.UUID(world.id("assigned_hr")))
                         .order_by(CheckIn.due_on)).all()
        assert rows[0].completed_at is not None and rows[0].support_suitable is True
        assert rows[1].due_on.isoformat() == "2026-03-24"  # the next one, booked
    assert "Nothing is due this week." in hr.get("/staff/check-ins").text


def test_each_hr_contact_sees_only_their_own_check_ins(app: Any, world: World, as_: Any) -> None:
    with clock.frozen(T0):
        world.new_case()
    assert "Nothing is due" not in as_("assigned_hr").get("/staff/check-ins").text
    assert "Nothing is due this week." in as_("other_hr").get("/staff/check-ins").text


def test_a_deactivated_contacts_due_check_ins_are_reminded_to_safeguarding(
    app: Any, world: World, as_: Any, inbox: Inbox
) -> None:
    with clock.frozen(T0):
        case_id = world.new_case()  # excluded_safeguarding is excluded from it
    with app.state.sessionmaker() as s, s.begin():
        auth.update_user(s, user_id=uuid.UUID(world.id("assigned_hr")), roles=None, active=False, name=None,
                         by=Actor.system("test"))
    clock.set_frozen(datetime(2026, 3, 9, 7, 0, tzinfo=UTC))
    result = send_due_reminders(app.state.sessionmaker, app.state.settings)
    assert result.mails_sent == 1
    assert inbox.to() == [world.staff["safeguarding"].email]
    body = inbox.body()
    assert "deactivated" in body and "https://safeshare.example.org/staff/check-ins" in body
    # Safeguarding sees it on the check-ins page, marked as theirs to see to.
    page = as_("safeguarding").get("/staff/check-ins").text
    assert f'/staff/cases/{case_id}' in page and "yours to see to" in page


def test_an_active_contact_gets_their_own_reminder_with_a_link_to_the_check_ins(
    app: Any, world: World, inbox: Inbox
) -> None:
    with clock.frozen(T0):
        world.new_case()
    clock.set_frozen(datetime(2026, 3, 9, 7, 0, tzinfo=UTC))
    send_due_reminders(app.state.sessionmaker, app.state.settings)
    assert inbox.to() == [world.staff["assigned_hr"].email]
    assert "https://safeshare.example.org/staff/check-ins" in inbox.body()


def _user(app: Any, email: str) -> User | None:
    with app.state.sessionmaker() as s:
        user = s.scalar(select(User).where(User.email == email))
        if user is not None:
            _ = user.roles
            s.expunge(user)
        return user


def test_an_admin_creates_an_account_on_the_users_page(app: Any, world: World, as_: Any) -> None:
    admin = as_("admin")
    token = admin.token("/staff/users")
    bad = admin.post("/staff/users", {"email": "not-an-address", "name": "Nia New", "role": ["hr"]}, token=token)
    assert bad.status_code == 422 and 'href="#new-email"' in bad.text and "Nia New" in bad.text
    assert 'name="password"' not in bad.text  # the admin never chooses a password: the owner enrols by link
    ok = admin.post("/staff/users", {"email": "new.hr@example.org", "name": "Nia New", "role": ["hr"]}, token=token)
    assert ok.status_code == 303 and ok.headers["location"].endswith("done=created_waiting")
    created = _user(app, "new.hr@example.org")
    assert created is not None and created.roles == []  # HR waits for a safeguarding user
    assert "Waiting for a safeguarding user" in admin.get("/staff/users").text
    again = admin.post("/staff/users", {"email": "new.hr@example.org", "name": "Nia", "role": ["hr"]}, token=token)
    assert again.status_code == 422 and "already exists" in again.text


def test_an_admin_deactivates_an_account_and_it_is_signed_out(app: Any, world: World, as_: Any) -> None:
    admin = as_("admin")
    target = world.staff["other_hr"]
    r = admin.post(f"/staff/users/{target.id}", {"role": ["hr"], "name": "Olly Other"},
                   token=admin.token("/staff/users"))
    assert r.status_code == 303
    user = _user(app, target.email)
    assert user is not None and not user.active
    assert as_("other_hr").get("/staff/cases").status_code == 303  # back to the sign-in page


def test_nobody_changes_their_own_roles_on_the_page_either(app: Any, world: World, as_: Any) -> None:
    admin = as_("admin")
    r = admin.post(f"/staff/users/{world.id('admin')}", {"role": ["hr"], "active": "yes", "name": "Ada Admin"},
                   token=admin.token("/staff/users"))
    assert r.status_code == 422 and "own" in r.text
    user = _user(app, world.staff["admin"].email)
    assert user is not None and [r.value for r in user.roles] == ["admin"]


def test_an_admin_adds_and_retires_a_theme(app: Any, world: World, as_: Any) -> None:
    admin = as_("admin")
    token = admin.token("/staff/themes")
    bad = admin.post("/staff/themes", {"slug": "Shift Patterns", "name": "Shift patterns"}, token=token)
    assert bad.status_code == 422 and "lower-case letters" in bad.text
    assert admin.post("/staff/themes", {"slug": "shift_patterns", "name": "Shift patterns"}, token=token).status_code == 303
    assert admin.post("/staff/themes/shift_patterns", {"name": "Shift patterns", "description": ""},
                      token=token).status_code == 303  # "In use" unticked: retired
    with app.state.sessionmaker() as s:
        theme = s.get(Theme, "shift_patterns")
        assert theme is not None and theme.active is False
    assert "shift_patterns" not in as_("none").client.get("/report").text


def test_a_reset_asked_on_the_users_page_is_confirmed_on_the_approvals_page(app: Any, world: World, as_: Any) -> None:
    """Issue 21: the administrator's reset of a case-reading account waits; a safeguarding user
    confirms it on "Waiting for a second person" and alone sees the one-time password."""
    admin, sg = as_("admin"), as_("safeguarding")
    target = world.staff["assigned_hr"]
    asked = admin.post(f"/staff/users/{target.id}/password-reset", {}, token=admin.token("/staff/users"))
    assert asked.status_code == 303 and asked.headers["location"].endswith("done=password_reset_waiting#user-" + target.id)
    page = admin.get("/staff/approvals")
    assert page.status_code == 200 and target.email in page.text and "/confirm" not in page.text  # admins only cancel
    waiting = sg.get("/staff/approvals").text
    assert f"/staff/approvals/{target.id}/password_reset/confirm" in waiting
    done = sg.post(f"/staff/approvals/{target.id}/password_reset/confirm", {}, token=sg.token("/staff/approvals"))
    assert done.status_code == 200 and 'aria-label="One-time password"' in done.text
    one_time = re.search(r'aria-label="One-time password">([^<]+)<', done.text)
    assert one_time is not None and one_time.group(1) not in admin.get("/staff/approvals").text
    assert "Nothing is waiting" in sg.get("/staff/approvals").text
    # A grant asked for on the users page waits too, and can be cancelled.
    lead = world.staff["leadership"]
    admin.post(f"/staff/users/{lead.id}", {"role": ["leadership", "hr"], "active": "yes", "name": "Lee"},
               token=admin.token("/staff/users"))
    assert f"/staff/approvals/{lead.id}/role_grant/cancel" in admin.get("/staff/approvals").text
    cancelled = admin.post(f"/staff/approvals/{lead.id}/role_grant/cancel", {}, token=admin.token("/staff/approvals"))
    assert cancelled.status_code == 303
    assert "Nothing is waiting" in admin.get("/staff/approvals").text
