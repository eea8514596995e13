"""`safeshare remind` against a real SMTP server (aiosmtpd) on both databases."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from app import clock
from app.audit.models import AuditEvent
from app.audit.service import chain_key
from app.checkins.models import CheckIn
from app.checkins.reminders import send_due_reminders
from app.crypto.blind import exclusion_key
from app.db import make_engine, make_sessionmaker
from tests.checkins.conftest import SECRET_DESCRIPTION
from tests.mailbox import Inbox, free_port

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # cases assigned now are due 2026-03-09 (first_days = 7)
DUE_DAY = datetime(2026, 3, 9, 7, 0, tzinfo=UTC)


@pytest.fixture
def settings_overrides(inbox: Inbox) -> dict[str, object]:
    return {"smtp_host": "127.0.0.1", "smtp_port": inbox.port, "smtp_from": "safeshare@service.example"}


@pytest.fixture(autouse=True)
def _frozen() -> None:
    clock.set_frozen(T0)


def _remind(app: Any, settings: Any, **kw: Any):  # type: ignore[no-untyped-def]
    return send_due_reminders(app.state.sessionmaker, settings, **kw)


def _reminded(db: Any) -> list[CheckIn]:
    rows = db.scalars(select(CheckIn).where(CheckIn.reminded_at.is_not(None))).all()
    db.rollback()
    return list(rows)


def test_each_contact_gets_one_mail_with_references_and_due_dates(app, settings, inbox, make_staff, new_case, assign):
    hr = make_staff("hr")
    overdue_id, overdue_ref = new_case()
    assign(overdue_id, hr.id)  # due 2026-03-09
    clock.set_frozen(datetime(2026, 3, 3, 9, 0, tzinfo=UTC))
    today_id, today_ref = new_case()
    assign(today_id, hr.id)  # due 2026-03-10
    clock.set_frozen(datetime(2026, 3, 5, 9, 0, tzinfo=UTC))
    later_id, later_ref = new_case()
    assign(later_id, hr.id)  # due 2026-03-12: not yet
    clock.set_frozen(datetime(2026, 3, 10, 6, 0, tzinfo=UTC))

    result = _remind(app, settings)

    assert (result.mails_sent, result.check_ins, result.failed_contacts) == (1, 2, 0)
    assert inbox.to() == [hr.email]
    body = inbox.body()
    assert f"{overdue_ref}  due 2026-03-09 (overdue)" in body
    assert f"{today_ref}  due 2026-03-10" in body.splitlines()[5]
    assert later_ref not in body
    assert inbox.messages[0]["From"] == "safeshare@service.example"


def test_the_mail_holds_no_case_content(app, settings, inbox, make_staff, new_case, assign):
    hr = make_staff("hr")
    case_id, _ = new_case()
    assign(case_id, hr.id)
    clock.set_frozen(DUE_DAY)
    _remind(app, settings)
    raw = inbox.messages[0].as_string()
    for fragment in ("sergeant", "shouting", SECRET_DESCRIPTION[:20]):
        assert fragment not in raw


def test_running_remind_twice_sends_each_reminder_once(app, settings, inbox, make_staff, new_case, assign):
    hr, other = make_staff("hr"), make_staff("hr")
    a, _ = new_case()
    b, _ = new_case()
    assign(a, hr.id)
    assign(b, other.id)
    clock.set_frozen(DUE_DAY)
    first = _remind(app, settings)
    second = _remind(app, settings)
    assert (first.mails_sent, second.mails_sent) == (2, 0)
    assert inbox.to() == sorted([hr.email, other.email])


def test_an_overdue_check_in_is_not_reminded_again_the_next_day(app, settings, inbox, make_staff, new_case, assign):
    hr = make_staff("hr")
    case_id, _ = new_case()
    assign(case_id, hr.id)
    clock.set_frozen(DUE_DAY)
    _remind(app, settings)
    clock.set_frozen(datetime(2026, 3, 12, 7, 0, tzinfo=UTC))
    assert _remind(app, settings).mails_sent == 0
    assert len(inbox.messages) == 1


def test_closed_cases_and_cancelled_check_ins_are_not_reminded(app, settings, inbox, make_staff, new_case, assign, close_case):
    hr, old = make_staff("hr"), make_staff("hr")
    closed, _ = new_case()
    assign(closed, hr.id)
    close_case(closed)
    moved, moved_ref = new_case()
    assign(moved, old.id)
    clock.set_frozen(datetime(2026, 3, 4, 9, 0, tzinfo=UTC))
    assign(moved, hr.id)  # the old contact's check-in is cancelled; the new one is due 2026-03-11
    clock.set_frozen(DUE_DAY)
    assert _remind(app, settings).mails_sent == 0
    assert inbox.messages == []


def test_an_hr_contact_excluded_from_a_case_is_not_told_of_it(app, settings, inbox, make_staff, new_case, assign, exclude):
    hr = make_staff("hr")
    case_id, _ = new_case()
    assign(case_id, hr.id)
    exclude(case_id, hr.id)
    clock.set_frozen(DUE_DAY)
    assert _remind(app, settings).mails_sent == 0


def test_a_refused_mail_is_retried_on_the_next_run(app, settings, db, inbox, make_staff, new_case, assign):
    hr = make_staff("hr")
    case_id, _ = new_case()
    assign(case_id, hr.id)
    clock.set_frozen(DUE_DAY)
    inbox.refuse = True
    failed = _remind(app, settings)
    assert (failed.mails_sent, failed.failed_contacts) == (0, 1)
    assert _reminded(db) == []
    inbox.refuse = False
    assert _remind(app, settings).mails_sent == 1
    assert inbox.to() == [hr.email]


def test_an_unreachable_mail_server_leaves_reminders_for_the_next_run(app, settings, db, make_staff, new_case, assign):
    hr = make_staff("hr")
    case_id, _ = new_case()
    assign(case_id, hr.id)
    clock.set_frozen(DUE_DAY)
    dead = settings.model_copy(update={"smtp_port": free_port()})
    result = send_due_reminders(app.state.sessionmaker, dead)
    assert (result.mails_sent, result.failed_contacts) == (0, 1)
    assert _reminded(db) == []


def test_reminders_are_audited_per_case(app, settings, db, inbox, make_staff, new_case, assign):
    hr = make_staff("hr")
    case_id, _ = new_case()
    ci = assign(case_id, hr.id)
    clock.set_frozen(DUE_DAY)
    _remind(app, settings)
    events = db.scalars(select(AuditEvent).where(AuditEvent.action == "check_in.remind")).all()
    assert [(str(e.case_id), e.target, e.actor) for e in events] == [(case_id, ci, "system:remind")]


def test_concurrent_runs_send_every_reminder_exactly_once(app, settings, db, inbox, make_staff, new_case, assign):
    contacts = [make_staff("hr") for _ in range(4)]
    for hr in contacts:
        for _ in range(2):
            case_id, _ = new_case()
            assign(case_id, hr.id)
    clock.set_frozen(DUE_DAY)
    inbox.delay = 0.05  # keep each send open long enough for the runs to overlap
    engines = [make_engine(settings.database_url) for _ in range(3)]
    results: list[Any] = []
    start = threading.Barrier(len(engines))

    def run(engine: Any) -> None:
        start.wait()
        results.append(send_due_reminders(make_sessionmaker(engine, audit_key=chain_key(app.state.keyring), exclusion_key=exclusion_key(app.state.keyring)), settings))

    threads = [threading.Thread(target=run, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    for e in engines:
        e.dispose()
    assert sum(r.mails_sent for r in results) == 4
    assert sum(r.failed_contacts for r in results) == 0
    assert inbox.to() == sorted(hr.email for hr in contacts)
    assert len(_reminded(db)) == 8


def test_a_second_host_skips_what_the_first_has_claimed(app, settings, inbox, make_staff, new_case, assign):
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("row locks with SKIP LOCKED are PostgreSQL's; SQLite runs take turns on its write lock")
    hr = make_staff("hr")
    case_id, _ = new_case()
    assign(case_id, hr.id)
    clock.set_frozen(DUE_DAY)
    claimed, release = threading.Event(), threading.Event()

    def hold() -> None:
        claimed.set()
        release.wait(timeout=30)

    engine = make_engine(settings.database_url)
    first: list[Any] = []
    t = threading.Thread(target=lambda: first.append(send_due_reminders(make_sessionmaker(engine, audit_key=chain_key(app.state.keyring), exclusion_key=exclusion_key(app.state.keyring)), settings, after_claim=hold)))
    t.start()
    assert claimed.wait(timeout=30)
    second = _remind(app, settings)  # runs while the first still holds the row
    release.set()
    t.join(timeout=30)
    engine.dispose()
    assert second.mails_sent == 0
    assert first[0].mails_sent == 1
    assert inbox.to() == [hr.email]


def test_the_remind_command_sends_and_says_how_many(app, settings, inbox, make_staff, new_case, assign, monkeypatch):
    from app.cli import cli

    hr = make_staff("hr")
    case_id, _ = new_case()
    assign(case_id, hr.id)
    clock.set_frozen(DUE_DAY)
    env = {"SAFESHARE_DATABASE_URL": settings.database_url, "SAFESHARE_SMTP_HOST": "127.0.0.1",
           "SAFESHARE_SMTP_PORT": str(inbox.port), "SAFESHARE_KEY_FILE": str(settings.key_file)}
    result = CliRunner().invoke(cli, ["remind"], env=env)
    assert result.exit_code == 0, result.output
    assert "sent 1 reminder e-mail(s) covering 1 check-in(s)" in result.output
    assert inbox.to() == [hr.email]


def test_the_remind_command_exits_non_zero_when_mail_fails(app, settings, inbox, make_staff, new_case, assign):
    from app.cli import cli

    hr = make_staff("hr")
    case_id, _ = new_case()
    assign(case_id, hr.id)
    clock.set_frozen(DUE_DAY)
    inbox.refuse = True
    env = {"SAFESHARE_DATABASE_URL": settings.database_url, "SAFESHARE_SMTP_HOST": "127.0.0.1",
           "SAFESHARE_SMTP_PORT": str(inbox.port), "SAFESHARE_KEY_FILE": str(settings.key_file)}
    result = CliRunner().invoke(cli, ["remind"], env=env)
    assert result.exit_code == 1
    assert "retried on the next run" in result.output
