"""E-mail notifications: written in the event's transaction, sent by `safeshare deliver` to a
real SMTP server, never carrying case text, identity or a receipt, and never lost."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner

from app import clock
from app.audit.service import Actor
from app.auth import service as auth
from app.notify import service as notify
from app.notify.models import Notification
from tests.cases.conftest import World
from tests.mailbox import Inbox, free_port

SECRET = "Ms Roberts on Blue Watch pushed me against the lockers on 3 March."


@pytest.fixture
def settings_overrides(inbox: Inbox) -> dict[str, object]:
    return {"smtp_host": "127.0.0.1", "smtp_port": inbox.port, "smtp_from": "safeshare@service.example",
            "public_url": "https://safeshare.example.org/"}


@pytest.fixture(autouse=True)
def _outbox_starts_empty(app: Any, world: World) -> None:
    """Making the world's accounts granted case-reading roles, which e-mails the safeguarding users
    (security notices, tested in tests/auth): those are taken as sent, so each test sees its own."""
    with app.state.sessionmaker() as s, s.begin():
        s.execute(update(Notification).values(sent_at=clock.now()))


def test_a_security_notice_about_an_account_goes_through_the_outbox(
    app: Any, world: World, client: Any, inbox: Inbox
) -> None:
    r = client.patch(f"/api/v1/users/{world.id('leadership')}", json={"roles": ["leadership", "hr"]},
                     headers=world.staff["admin"].headers)
    assert r.status_code == 202  # waits for a safeguarding user (issue 21)
    assert client.post(f"/api/v1/users/{world.id('leadership')}/role-grant/confirm",
                       headers=world.staff["safeguarding"].headers).status_code == 200
    _deliver(app)
    safeguarding = sorted([world.staff["safeguarding"].email, world.staff["excluded_safeguarding"].email])
    assert sorted(inbox.to()) == sorted(safeguarding * 2)  # asked to confirm, then told it is done
    subjects = [m["Subject"] for m in inbox.messages]
    assert sum(f"{world.staff['leadership'].email} can now act as hr" in s for s in subjects) == 2
    assert sum(f"confirm or cancel: {world.staff['leadership'].email} to act as hr" in s for s in subjects) == 2
    assert world.staff["leadership"].password not in _everything_in(inbox)


def _deliver(app: Any, settings: Any = None) -> notify.DeliverResult:
    return notify.deliver(app.state.sessionmaker, settings or app.state.settings)


def _rows(app: Any) -> list[Notification]:
    """The notifications about cases (not the security notices about the world's accounts)."""
    with app.state.sessionmaker() as s:
        rows = list(s.scalars(select(Notification).where(Notification.subject.is_(None))
                              .order_by(Notification.created_at)))
        for r in rows:
            s.expunge(r)
        return rows


def _everything_in(inbox: Inbox) -> str:
    return "\n".join(f"{m['Subject']}\n{inbox.body(i)}" for i, m in enumerate(inbox.messages))


def test_a_new_concern_tells_the_safeguarding_team_without_a_word_of_it(
    app: Any, world: World, client: Any, inbox: Inbox
) -> None:
    r = client.post("/api/v1/reports", json={"description": SECRET, "anonymous": False,
                                             "reporter": {"name": "Priya Natt", "email": "priya@example.org"}})
    assert r.status_code == 201
    body = r.json()
    result = _deliver(app)
    # Every active safeguarding user (nobody is excluded from a brand-new case).
    assert sorted(inbox.to()) == sorted([world.staff["safeguarding"].email, world.staff["excluded_safeguarding"].email])
    assert result.sent == 2
    text = _everything_in(inbox)
    assert body["reference"] in text
    assert "https://safeshare.example.org/staff/cases/" in text
    for secret in ("Roberts", "lockers", "Priya", "priya@example.org", body["receipt"], body["receipt"].replace("-", "")):
        assert secret not in text


def test_a_failed_request_leaves_no_notification(app: Any, world: World, client: Any, inbox: Inbox) -> None:
    bad = client.post("/api/v1/reports", json={"description": "x", "themes": ["no_such_theme"]})
    assert bad.status_code == 422
    assert _rows(app) == []


def test_an_urgent_contact_recorded_by_phone_says_urgent(app: Any, world: World, client: Any, inbox: Inbox) -> None:
    r = client.post("/api/v1/cases", headers=world.staff["safeguarding"].headers, json={
        "description": "Caller says a colleague is at risk tonight.", "channel": "phone",
        "received_at": "2026-03-02T22:00:00Z", "risk": "urgent"})
    assert r.status_code == 201 and r.json()["risk"] == "urgent"
    _deliver(app)
    assert inbox.to() == [world.staff["excluded_safeguarding"].email]  # the recorder already knows
    assert inbox.messages[0]["Subject"].startswith("URGENT")


def test_a_reporters_message_goes_to_their_hr_contact_and_is_not_repeated(
    app: Any, world: World, client: Any, inbox: Inbox
) -> None:
    case_id = world.new_case()
    _deliver(app)
    inbox.messages.clear()
    headers = {"Authorization": f"Bearer {world.reporter_token(case_id)}"}
    for text in ("Any news?", "Please call me.", "I am worried."):
        assert client.post("/api/v1/reporter/messages", json={"body": text}, headers=headers).status_code == 201
    _deliver(app)
    assert inbox.to() == [world.staff["assigned_hr"].email]  # one mail for three messages
    assert "worried" not in _everything_in(inbox)


def test_assignment_tells_the_new_contact(app: Any, world: World, client: Any, inbox: Inbox) -> None:
    case_id = world.new_case(assign=False, exclude=False)
    _deliver(app)
    inbox.messages.clear()
    r = client.put(f"/api/v1/cases/{case_id}/hr-contact", json={"user_id": world.id("other_hr")},
                   headers=world.staff["safeguarding"].headers)
    assert r.status_code == 200
    _deliver(app)
    assert inbox.to() == [world.staff["other_hr"].email]
    assert "HR contact" in inbox.messages[0]["Subject"]


def test_nobody_is_told_of_a_case_they_are_excluded_from(app: Any, world: World, client: Any, inbox: Inbox) -> None:
    case_id = world.new_case(assign=False)  # excluded_safeguarding and excluded_hr are excluded
    _deliver(app)
    inbox.messages.clear()
    headers = {"Authorization": f"Bearer {world.reporter_token(case_id)}"}
    assert client.post("/api/v1/reporter/messages", json={"body": "Hello?"}, headers=headers).status_code == 201
    _deliver(app)
    assert inbox.to() == [world.staff["safeguarding"].email]


def test_an_exclusion_made_after_the_notification_was_written_stops_it(
    app: Any, world: World, client: Any, inbox: Inbox
) -> None:
    case_id = world.new_case(exclude=False)  # assigned_hr
    _deliver(app)
    inbox.messages.clear()
    headers = {"Authorization": f"Bearer {world.reporter_token(case_id)}"}
    assert client.post("/api/v1/reporter/messages", json={"body": "Hello?"}, headers=headers).status_code == 201
    r = client.post(f"/api/v1/cases/{case_id}/exclusions", json={"user_id": world.id("assigned_hr"), "reason": "named"},
                    headers=world.staff["safeguarding"].headers)
    assert r.status_code == 201
    result = _deliver(app)
    assert inbox.messages == [] and result.dropped == 1


def test_a_deactivated_contacts_notifications_go_to_safeguarding(app: Any, world: World, client: Any, inbox: Inbox) -> None:
    case_id = world.new_case()
    _deliver(app)
    inbox.messages.clear()
    with app.state.sessionmaker() as s, s.begin():
        auth.update_user(s, user_id=uuid.UUID(world.id("assigned_hr")), roles=None, active=False, name=None,
                         by=Actor.system("test"))
    headers = {"Authorization": f"Bearer {world.reporter_token(case_id)}"}
    assert client.post("/api/v1/reporter/messages", json={"body": "Hello?"}, headers=headers).status_code == 201
    _deliver(app)
    assert inbox.to() == [world.staff["safeguarding"].email]  # excluded_safeguarding is excluded from this case


def test_nothing_is_lost_while_the_mail_server_is_down(app: Any, world: World, client: Any, inbox: Inbox, settings: Any) -> None:
    assert client.post("/api/v1/reports", json={"description": "Something at work."}).status_code == 201
    down = settings.model_copy(update={"smtp_port": free_port()})
    failed = _deliver(app, down)
    assert (failed.sent, failed.failed) == (0, 2)
    rows = _rows(app)
    assert all(r.sent_at is None and r.attempts == 1 and r.last_error for r in rows)
    assert _deliver(app).sent == 0  # too early: it waits its back-off
    clock.set_frozen(clock.now() + timedelta(minutes=2))
    assert _deliver(app).sent == 2
    assert len(inbox.messages) == 2
    assert _deliver(app).sent == 0  # and never twice


def test_a_refusing_server_is_retried_with_growing_waits(app: Any, world: World, client: Any, inbox: Inbox) -> None:
    inbox.refuse = True
    assert client.post("/api/v1/reports", json={"description": "Something at work."}).status_code == 201
    start = clock.now()
    clock.set_frozen(start)
    waits = []
    for _ in range(3):
        _deliver(app)
        row = _rows(app)[0]
        waits.append(row.next_attempt_at - clock.now())
        clock.set_frozen(row.next_attempt_at)
    assert waits == [timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=4)]
    inbox.refuse = False
    assert _deliver(app).sent == 2


def test_two_hosts_delivering_at_once_send_each_message_once(app: Any, world: World, client: Any, inbox: Inbox) -> None:
    for n in range(6):
        assert client.post("/api/v1/reports", json={"description": f"Concern {n}"}).status_code == 201
    inbox.delay = 0.05
    results: list[notify.DeliverResult] = []
    threads = [threading.Thread(target=lambda: results.append(_deliver(app))) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r.sent for r in results) == 12 and len(inbox.messages) == 12
    assert len({(m["To"], m["Subject"]) for m in inbox.messages}) == 12


def test_a_claim_left_by_a_dead_host_is_taken_back_once_it_runs_out(
    app: Any, world: World, client: Any, inbox: Inbox
) -> None:
    assert client.post("/api/v1/reports", json={"description": "Something at work."}).status_code == 201
    with app.state.sessionmaker() as s, s.begin():  # a host claimed them, then died before sending
        s.execute(update(Notification).values(claimed_until=clock.now() + notify.LEASE))
    assert _deliver(app).sent == 0
    clock.set_frozen(clock.now() + notify.LEASE + timedelta(seconds=1))
    assert _deliver(app).sent == 2


def test_the_deliver_command_says_what_it_did(app: Any, world: World, client: Any, inbox: Inbox, settings: Any) -> None:
    import logging

    from app.cli import cli

    assert client.post("/api/v1/reports", json={"description": "Something at work."}).status_code == 201
    env = {"SAFESHARE_DATABASE_URL": settings.database_url, "SAFESHARE_KEY_FILE": str(settings.key_file),
           "SAFESHARE_SMTP_HOST": "127.0.0.1", "SAFESHARE_SMTP_PORT": str(inbox.port)}
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        ok = CliRunner().invoke(cli, ["deliver"], env=env)
        assert ok.exit_code == 0 and "sent 2 notification(s)" in ok.output
        assert client.post("/api/v1/reports", json={"description": "Another."}).status_code == 201
        down = CliRunner().invoke(cli, ["deliver"], env={**env, "SAFESHARE_SMTP_PORT": str(free_port())})
        assert down.exit_code == 1 and "will be retried" in down.output
    finally:
        root.handlers[:], root.level = handlers, level
