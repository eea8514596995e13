"""The whole life of a case, through the API and the `safeshare purge` command, on both databases."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from app import clock
from app.cases.models import Feedback
from app.checkins.models import CheckIn
from app.crypto import fields
from app.crypto import keys as crypto
from tests.cases.conftest import World, run_purge

SATURDAY_NIGHT = datetime(2026, 1, 31, 22, 40, tzinfo=UTC)  # outside Mon-Fri 08:00-17:00 Europe/London
DESCRIPTION = "My manager keeps making comments about my sexuality in team meetings."



def _login(client: Any, staff: Any) -> dict[str, str]:
    r = client.post("/api/v1/auth/login", json={"email": staff.email, "password": staff.password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def _actions(db: Any, case_id: str) -> list[str]:
    return [
        r[0] for r in db.execute(
            sa.text("select action from audit_events where case_id = :c order by id"), {"c": uuid.UUID(case_id).hex}
            if db.get_bind().dialect.name == "sqlite" else {"c": uuid.UUID(case_id)},
        )
    ]


def test_life_of_a_phone_case_from_recording_to_purge(client: Any, app: Any, db: Any, world: World) -> None:
    sg, first_hr, second_hr = world.staff["safeguarding"], world.staff["assigned_hr"], world.staff["other_hr"]
    clock.set_frozen(SATURDAY_NIGHT)

    # 1. A call on Saturday night, recorded the moment it ends.
    r = client.post("/api/v1/cases", headers=sg.headers, json={
        "channel": "phone", "received_at": "2026-01-31T22:15:00Z", "duration_minutes": 25,
        "description": DESCRIPTION, "anonymous": False, "reporter": {"name": "Jo Bloggs", "phone": "07700 900123"},
        "about": "self", "wishes": ["talk"],
    })
    assert r.status_code == 201, r.text
    created = r.json()
    case_id, receipt = created["id"], created["receipt"]
    assert created["status"] == "received" and created["channel"] == "phone"
    assert created["out_of_hours"] is True
    assert created["received_at"] == "2026-01-31T22:15:00Z" and created["duration_minutes"] == 25
    assert receipt and created["reference"].startswith("SS-")
    assert created["reporter"]["name"] == "Jo Bloggs"

    # 2. Triage: primary theme, a second theme, urgent. Not an acknowledgement: nobody wrote to the reporter.
    clock.set_frozen(SATURDAY_NIGHT + timedelta(days=2))
    r = client.patch(f"/api/v1/cases/{case_id}", headers=sg.headers,
                     json={"primary_theme": "homophobia", "themes": ["line_manager"], "risk": "urgent"})
    assert r.status_code == 200, r.text
    case = r.json()
    assert case["status"] == "triaged" and case["primary_theme"] == "homophobia"
    assert case["themes"] == ["homophobia", "line_manager"] and case["risk"] == "urgent"
    assert case["acknowledged_at"] is None

    # 3. An HR contact, with the first check-in booked a week later.
    r = client.put(f"/api/v1/cases/{case_id}/hr-contact", headers=sg.headers, json={"user_id": first_hr.id})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "in_progress"
    assert r.json()["hr_contact"] == {"id": first_hr.id, "name": "Alex Assigned"}
    assert r.json()["next_check_in"] == "2026-02-09"

    # 4. It turns out the first contact is close to the manager: excluded, unassigned, check-ins cancelled.
    r = client.post(f"/api/v1/cases/{case_id}/exclusions", headers=sg.headers,
                    json={"user_id": first_hr.id, "reason": "Line-manages the person named."})
    assert r.status_code == 201, r.text
    assert r.json()["reason"] == "Line-manages the person named."
    case = client.get(f"/api/v1/cases/{case_id}", headers=sg.headers).json()
    assert case["status"] == "triaged" and case["hr_contact"] is None and case["next_check_in"] is None
    assert client.get(f"/api/v1/cases/{case_id}", headers=first_hr.headers).status_code == 404
    r = client.put(f"/api/v1/cases/{case_id}/hr-contact", headers=sg.headers, json={"user_id": second_hr.id})
    assert r.status_code == 200 and r.json()["status"] == "in_progress"

    # 5. Notes and the thread with the reporter, from the new contact.
    assert client.post(f"/api/v1/cases/{case_id}/notes", headers=second_hr.headers,
                       json={"body": "Spoke to Jo; wants to talk first."}).status_code == 201
    assert client.post(f"/api/v1/cases/{case_id}/messages", headers=second_hr.headers,
                       json={"body": "Hello Jo, I am your contact."}).status_code == 201
    notes = client.get(f"/api/v1/cases/{case_id}/notes", headers=sg.headers).json()
    assert [n["body"] for n in notes] == ["Spoke to Jo; wants to talk first."]
    assert notes[0]["author"]["name"] == "Olly Other"
    thread = client.get(f"/api/v1/cases/{case_id}/messages", headers=second_hr.headers).json()
    assert [(m["from"], m["body"]) for m in thread] == [("staff", "Hello Jo, I am your contact.")]

    # A completed check-in and the reporter's feedback, so the purge has their text to erase too.
    with app.state.sessionmaker() as s, s.begin():
        cipher = crypto.case_cipher(s, app.state.keyring, uuid.UUID(case_id))
        check_in = s.scalars(sa.select(CheckIn).where(CheckIn.case_id == uuid.UUID(case_id),
                                                      CheckIn.cancelled_at.is_(None))).one()
        check_in.completed_at = clock.now()
        check_in.support_suitable = True
        check_in.summary_ct = cipher.encrypt(fields.CHECK_IN_SUMMARY, check_in.id, "Doing better.")
        s.add(Feedback(case_id=uuid.UUID(case_id), listened_to=5, kept_informed=4, support_suitable=4,
                       would_recommend=5, comment_ct=cipher.encrypt(fields.FEEDBACK_COMMENT, case_id, "Thanks")))

    # 6. Closed by the HR contact; closing twice is refused.
    clock.set_frozen(datetime(2026, 3, 10, 9, 0, tzinfo=UTC))
    r = client.post(f"/api/v1/cases/{case_id}/close", headers=second_hr.headers,
                    json={"outcome": "resolved_informally", "summary": "Facilitated conversation went well."})
    assert r.status_code == 200, r.text
    closed = r.json()
    assert closed["status"] == "closed" and closed["outcome"] == "resolved_informally"
    assert closed["closed_at"] == "2026-03-10T09:00:00Z" and closed["retain_until"] == "2032-03-10"
    assert closed["summary"] == "Facilitated conversation went well."
    assert closed["next_check_in"] is None
    assert client.post(f"/api/v1/cases/{case_id}/close", headers=sg.headers,
                       json={"outcome": "withdrawn", "summary": "again"}).status_code == 409

    # 7. Nothing is erased on the retention date itself ...
    clock.set_frozen(datetime(2032, 3, 10, 12, 0, tzinfo=UTC))
    assert "purged 0 case(s)" in run_purge(app.state.settings)
    # ... and everything but the statistics is erased the day after; a second run finds nothing.
    clock.set_frozen(datetime(2032, 3, 11, 3, 0, tzinfo=UTC))
    assert "purged 1 case(s)" in run_purge(app.state.settings)
    assert "purged 0 case(s)" in run_purge(app.state.settings)

    # 8. What a reader sees now: the case's shell, with no text.
    headers = _login(client, sg)
    after = client.get(f"/api/v1/cases/{case_id}", headers=headers).json()
    assert after["description"] is None and after["reporter"] is None and after["summary"] is None
    assert after["status"] == "closed" and after["outcome"] == "resolved_informally"
    assert after["primary_theme"] == "homophobia" and after["themes"] == ["homophobia"]
    assert after["channel"] == "phone" and after["out_of_hours"] is True and after["risk"] == "urgent"
    assert after["received_at"] == "2026-01-31T00:00:00Z"  # the day survives, not the time
    assert after["purged_at"] == "2032-03-11T00:00:00Z"  # cut to the day, like every time that survives
    assert client.get(f"/api/v1/cases/{case_id}/notes", headers=headers).json() == []
    assert client.get(f"/api/v1/cases/{case_id}/messages", headers=headers).json() == []
    assert client.post(f"/api/v1/cases/{case_id}/notes", headers=headers, json={"body": "x"}).status_code == 409

    # The receipt no longer opens anything (404 until the reporter API is merged alongside).
    assert client.post("/api/v1/reporter/session", json={"receipt": receipt}).status_code in (401, 404)

    # 9. What the database holds: no ciphertext anywhere, the case key destroyed, no way in by receipt.
    cid = uuid.UUID(case_id)
    key = "c"
    param = {key: cid.hex if db.get_bind().dialect.name == "sqlite" else cid}
    raw = db.execute(sa.text(
        "select description_ct, reporter_ct, closing_summary_ct, receipt_lookup, received_month, "
        "primary_theme, channel, out_of_hours, wishes, reporter_themes, duration_minutes "
        "from cases where id = :c"), param).one()
    assert raw[:4] == (None, None, None, None)
    assert raw[4:8] == ("2026-01", "homophobia", "phone", True)
    assert raw[10] is None
    for table, column in (("messages", "body_ct"), ("notes", "body_ct"),
                          ("check_ins", "summary_ct"), ("feedback", "comment_ct")):
        values = db.execute(sa.text(f"select {column} from {table} where case_id = :c"), param).scalars().all()
        assert values and all(v is None for v in values), table
    # Who was excluded (the person the concern was about, or close to them) is not kept at all.
    assert db.execute(sa.text("select count(*) from exclusions where case_id = :c"), param).scalar() == 0
    wrapped, destroyed = db.execute(sa.text("select wrapped_key, destroyed_at from case_keys where case_id = :c"),
                                    param).one()
    assert wrapped is None and destroyed is not None
    ratings = db.execute(sa.text("select listened_to, would_recommend from feedback where case_id = :c"), param).one()
    assert tuple(ratings) == (5, 5)
    completed = db.execute(sa.text("select due_on, completed_at from check_ins where case_id = :c "
                                   "and completed_at is not null"), param).one()
    assert completed[0] is not None
    assert db.execute(sa.text("select count(*) from reporter_sessions where case_id = :c"), param).scalar() == 0

    actions = _actions(db, case_id)
    db.rollback()  # SQLite: this session's BEGIN IMMEDIATE holds the write lock until it ends
    for expected in ("case.create", "case.triage", "case.assign", "case.exclude", "case.unassign",
                     "note.create", "message.create", "case.read", "case.close", "case.purge"):
        assert expected in actions, expected
    assert actions[-1] == "case.read" and actions.count("case.purge") == 1
    assert date.fromisoformat(closed["retain_until"]) < clock.today()
