"""The console beyond the open-source tools (issue 25): an owner for every case and a clean
handover, the case's history in plain words, and reply templates the message box starts from."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from app import clock
from app.cases.history import describe
from app.notify.models import Notification
from tests.cases.conftest import World


def _notified(app: Any, user_id: str, kind: str) -> list[uuid.UUID | None]:
    with app.state.sessionmaker() as s:
        return list(s.scalars(select(Notification.case_id).where(
            Notification.user_id == uuid.UUID(user_id), Notification.kind == kind)))


def test_a_case_is_taken_handed_over_with_a_note_and_flagged_when_its_owner_leaves(
    app: Any, client: Any, world: World, make_staff: Any, as_: Any
) -> None:
    case_id = world.new_case()
    base = f"/api/v1/cases/{case_id}"
    sam, sg = world.staff["safeguarding"], world.headers("safeguarding")
    priya = make_staff("safeguarding", name="Priya Patel")
    assert client.get(base, headers=sg).json()["owner"] is None

    # Sam takes it on the case page (no e-mail to himself); the queue then shows it as his.
    page = as_("safeguarding")
    assert "Take this case" in page.get(f"/staff/cases/{case_id}").text
    taken = page.post(f"/staff/cases/{case_id}/owner", {"owner_id": sam.id}, token=page.token(f"/staff/cases/{case_id}"))
    assert taken.status_code == 303
    assert client.get(base, headers=sg).json()["owner"] == {"id": sam.id, "name": "Sam Safeguarding"}
    assert _notified(app, sam.id, "owner") == []
    mine = client.get("/api/v1/cases?owner=me", headers=sg).json()
    assert [c["id"] for c in mine["items"]] == [str(case_id)]
    assert client.get("/api/v1/cases?owner=me", headers=priya.headers).json()["total"] == 0
    queue = page.get("/staff/cases?owner=me").text
    assert str(case_id) in queue and "Sam Safeguarding" in queue

    # Only an active safeguarding user who is not excluded can own it; nobody else can change it.
    for who, status in (("assigned_hr", 409), ("excluded_safeguarding", 409)):
        r = client.patch(base, headers=sg, json={"owner_id": world.id(who)})
        assert r.status_code == status, (who, r.text)
    assert client.patch(base, headers=sg, json={"owner_id": str(uuid.uuid4())}).status_code == 422
    assert client.patch(base, headers=sg, json={"handover_note": "no owner"}).status_code == 422
    assert client.patch(base, headers=world.headers("assigned_hr"), json={"owner_id": world.id("assigned_hr")}).status_code == 403
    assert client.get("/api/v1/cases?owner=someone", headers=sg).status_code == 422

    # Handed over to Priya with a note: she is told; the note is for the safeguarding team only.
    handed = client.patch(base, headers=sg, json={"owner_id": priya.id, "handover_note": "Call her back on Tuesday."})
    assert handed.status_code == 200 and handed.json()["owner"]["name"] == "Priya Patel"
    assert _notified(app, priya.id, "owner") == [case_id]
    notes = client.get(f"{base}/notes", headers=sg).json()
    handovers = [n["body"] for n in notes if n["visibility"] == "safeguarding"]
    assert handovers == ["Sam Safeguarding took this case.",
                         "Sam Safeguarding handed this case over to Priya Patel.\n\nCall her back on Tuesday."]
    assert all("handed" not in n["body"] for n in client.get(f"{base}/notes", headers=world.headers("assigned_hr")).json())
    # The HR contact sees who owns the case, and cannot change it.
    hr_page = as_("assigned_hr").get(f"/staff/cases/{case_id}").text
    assert "Priya Patel" in hr_page and "Take this case" not in hr_page

    # Priya's account is deactivated: the case is flagged until someone takes it.
    admin = world.headers("admin")
    assert client.patch(f"/api/v1/users/{priya.id}", headers=admin, json={"active": False}).status_code == 200
    assert client.get(base, headers=sg).json()["needs_new_owner"] is True
    assert [c["id"] for c in client.get("/api/v1/cases?owner=inactive", headers=sg).json()["items"]] == [str(case_id)]
    assert "Needs a new owner" in page.get("/staff/cases").text
    again = client.patch(base, headers=sg, json={"owner_id": sam.id})
    assert again.json()["owner"]["id"] == sam.id and again.json()["needs_new_owner"] is False
    assert client.get("/api/v1/cases?owner=none", headers=sg).json()["total"] == 0


def test_the_history_says_who_did_what_in_plain_words_and_never_what_was_written(
    app: Any, client: Any, world: World, as_: Any
) -> None:
    case_id = world.new_case()
    base = f"/api/v1/cases/{case_id}"
    sg, hr = world.headers("safeguarding"), world.headers("assigned_hr")
    words = "Her manager keeps her late every night, unpaid."
    assert client.post(f"{base}/notes", headers=sg, json={"body": words, "visibility": "safeguarding"}).status_code == 201
    assert client.post(f"{base}/messages", headers=hr, json={"body": words}).status_code == 201
    assert client.post(f"{base}/referrals", headers=sg, json={"kind": "police", "note": words}).status_code == 201
    for kind in ("counselling", "third_sector"):  # signposting kinds, due in 14 days by default
        made = client.post(f"{base}/referrals", headers=hr, json={"kind": kind})
        assert made.status_code == 201 and made.json()["due_on"] == (clock.today() + timedelta(days=14)).isoformat()
    assert client.get(base, headers=hr).status_code == 200
    assert client.patch(base, headers=sg, json={"owner_id": world.id("safeguarding")}).status_code == 200

    history = client.get(f"{base}/history", headers=sg)
    assert history.status_code == 200
    rows = [(e["actor"], e["action"], e["detail"]) for e in history.json()]
    assert rows[0] == ("The reporter", "Sent the concern", "online form")
    for row in [("Sam Safeguarding", "Assigned an HR contact", None),
                ("Sam Safeguarding", "Excluded a person from the case", None),
                ("Sam Safeguarding", "Wrote an internal note", "for the safeguarding team only"),
                ("Alex Assigned", "Wrote to the reporter", None),
                ("Sam Safeguarding", "Made a referral", "Police"),
                ("Alex Assigned", "Made a referral", "Third-sector signposting"),
                ("Alex Assigned", "Opened the case", None),
                ("Sam Safeguarding", "Took the case", None)]:
        assert row in rows, row
    assert words not in history.text and "Alex Assigned" in history.text
    assert client.get(f"{base}/history", headers=sg).json()[-1]["action"] == "Read the case's history"
    # HR contacts see no history; whoever is excluded does not learn the case exists; admin keep their audit view.
    assert client.get(f"{base}/history", headers=hr).status_code == 403
    assert client.get(f"{base}/history", headers=world.headers("excluded_safeguarding")).status_code == 404
    assert client.get(f"{base}/history", headers=world.headers("admin")).status_code == 403
    assert client.get("/api/v1/audit", headers=world.headers("admin")).status_code == 200

    # The printable page, linked from the case page.
    page = as_("safeguarding")
    assert f'href="/staff/cases/{case_id}/history"' in page.get(f"/staff/cases/{case_id}").text
    printable = page.get(f"/staff/cases/{case_id}/history")
    assert printable.status_code == 200 and "Made a referral" in printable.text and words not in printable.text
    # One look at the case page is one entry, not one for each part it read.
    assert ("Sam Safeguarding", "Opened the case",
            "read the internal notes, the messages, the check-ins, who is excluded and the referrals") in [
        (e["actor"], e["action"], e["detail"]) for e in client.get(f"{base}/history", headers=sg).json()]
    assert as_("assigned_hr").get(f"/staff/cases/{case_id}/history").status_code == 403

    # Entries this page does not know yet (refused attempts, later actions) still read as words.
    assert describe("case.refused", "open:excluded", by_reporter=False) == (
        "Was refused access", "opening it by its address; excluded from the case")
    assert describe("case.archive", "x", by_reporter=False) == ("Case (archive)", None)  # not known yet: still words
    assert describe("case.export", "pdf:description,notes", by_reporter=False) == (
        "Exported the case for a formal investigation", "PDF: description, notes")


def test_the_message_box_starts_from_a_reply_template_or_the_support_directory_without_javascript(
    app: Any, client: Any, world: World, as_: Any
) -> None:
    sg, hr = world.headers("safeguarding"), world.headers("assigned_hr")
    body = "Thank you for contacting us about {reference}. Your HR contact will check in on {first_check_in}."
    made = client.post("/api/v1/reply-templates", headers=sg, json={"name": "First reply", "body": body})
    assert made.status_code == 201, made.text
    template_id = made.json()["id"]
    bad = client.post("/api/v1/reply-templates", headers=sg, json={"name": "Typo", "body": "About {referance}."})
    assert bad.status_code == 422 and "{referance}" in bad.text
    assert client.post("/api/v1/reply-templates", headers=sg, json={"name": "First reply", "body": "x"}).status_code == 409
    assert [t["name"] for t in client.get("/api/v1/reply-templates", headers=hr).json()] == ["First reply"]
    other = client.post("/api/v1/reply-templates", headers=sg, json={"name": "Closing", "body": "We are closing {reference}."})
    assert client.patch(f"/api/v1/reply-templates/{other.json()['id']}", headers=sg,
                        json={"name": "First reply"}).status_code == 409
    assert client.patch(f"/api/v1/reply-templates/{other.json()['id']}", headers=sg,
                        json={"name": "Closing the case"}).json()["name"] == "Closing the case"
    assert client.delete(f"/api/v1/reply-templates/{other.json()['id']}", headers=sg).status_code == 204
    assert client.delete(f"/api/v1/reply-templates/{other.json()['id']}", headers=sg).status_code == 404

    # The HR contact picks it on the case page: the page comes back with the box filled for this case.
    case_id = world.new_case()
    case = client.get(f"/api/v1/cases/{case_id}", headers=hr).json()
    first = client.get(f"/api/v1/cases/{case_id}/check-ins", headers=hr).json()[0]["due_on"]
    y, m, d = (int(p) for p in first.split("-"))
    from datetime import date

    when = f"{date(y, m, d).day} {date(y, m, d):%B %Y}"
    page = as_("assigned_hr").get(f"/staff/cases/{case_id}", params={"template": template_id})
    assert page.status_code == 200
    box = re.search(r'<textarea id="message-body"[^>]*>([^<]*)</textarea>', page.text)
    assert box is not None
    assert box.group(1) == (f"Thank you for contacting us about {case['reference']}. "
                            f"Your HR contact will check in on {when}.")
    gone = as_("assigned_hr").get(f"/staff/cases/{case_id}", params={"template": str(uuid.uuid4())})
    assert gone.status_code == 422 and "That reply template has been removed" in gone.text

    # The management page (safeguarding) says a wrong placeholder in words, and keeps what was typed.
    sg_page = as_("safeguarding")
    token = sg_page.token("/staff/reply-templates")
    wrong = sg_page.post("/staff/reply-templates", {"name": "Check-in", "body": "On {date} we call."}, token=token)
    assert wrong.status_code == 422 and "{date} is not a placeholder we can fill" in wrong.text
    assert "On {date} we call." in wrong.text
    added = sg_page.post("/staff/reply-templates", {"name": "Check-in", "body": "We call on {first_check_in}."},
                         token=token)
    assert added.status_code == 303
    listing = sg_page.get("/staff/reply-templates").text
    assert "Check-in" in listing and "First reply" in listing
    assert as_("assigned_hr").get("/staff/reply-templates").status_code == 403

    # The support directory: the admin keeps it; the case team sends entries in one action.
    admin = world.headers("admin")
    entries = [
        {"name": "StepChange", "helps_with": "Free debt advice", "contact": "0800 138 1111, stepchange.org",
         "themes": ["financial_concern", "gambling"]},
        {"name": "Refuge helpline", "helps_with": "Domestic abuse support, day and night",
         "contact": "0808 2000 247", "themes": ["domestic_abuse"]},
        {"name": "Cruse", "helps_with": "Bereavement support", "contact": "0808 808 1677", "themes": []},
    ]
    ids = {}
    for entry in entries:
        made = client.post("/api/v1/support-directory", headers=admin, json=entry)
        assert made.status_code == 201, made.text
        ids[entry["name"]] = made.json()["id"]
    assert client.post("/api/v1/support-directory", headers=admin, json=entries[2]).status_code == 409
    assert client.post("/api/v1/support-directory", headers=admin,
                       json={**entries[2], "name": "Other", "themes": ["no_such_theme"]}).status_code == 422
    assert client.patch(f"/api/v1/support-directory/{ids['Cruse']}", headers=admin,
                        json={"contact": "0808 808 1677 (Mon to Fri)"}).json()["contact"] == "0808 808 1677 (Mon to Fri)"
    assert [e["name"] for e in client.get("/api/v1/support-directory", headers=hr).json()] == [
        "Cruse", "Refuge helpline", "StepChange"]

    # On a domestic abuse case the fitting organisation comes first; nothing chosen is said in words.
    assert client.patch(f"/api/v1/cases/{case_id}", headers=sg, json={"themes": ["domestic_abuse"]}).status_code == 200
    page = as_("assigned_hr")
    text = page.get(f"/staff/cases/{case_id}").text
    assert text.index("Refuge helpline") < text.index("Cruse") and "fits this case" in text
    token = page.token(f"/staff/cases/{case_id}")
    empty = page.post(f"/staff/cases/{case_id}/signposts", {"message": "These may help."}, token=token)
    assert empty.status_code == 422 and "Choose at least one organisation to send." in empty.text
    sent = page.post(f"/staff/cases/{case_id}/signposts",
                     {"entry_id": [ids["Refuge helpline"], ids["Cruse"]], "message": "These may help."}, token=token)
    assert sent.status_code == 303

    # The reporter reads one message with both; the case records it.
    reporter = {"Authorization": f"Bearer {world.reporter_token(case_id)}"}
    thread = client.get("/api/v1/reporter/case", headers=reporter).json()["messages"]
    assert thread[-1]["body"] == ("These may help.\n\nHere are organisations that may be able to help you:\n\n"
                                  "Cruse\nBereavement support\n0808 808 1677 (Mon to Fri)\n\n"
                                  "Refuge helpline\nDomestic abuse support, day and night\n0808 2000 247")
    history = client.get(f"/api/v1/cases/{case_id}/history", headers=sg).json()
    assert ("Alex Assigned", "Sent the reporter organisations that may help", "2 organisations") in [
        (e["actor"], e["action"], e["detail"]) for e in history]
    api = client.post(f"/api/v1/cases/{case_id}/signposts", headers=sg, json={"entry_ids": [ids["StepChange"]]})
    assert api.status_code == 201 and api.json()["body"].endswith("StepChange\nFree debt advice\n0800 138 1111, stepchange.org")
    gone = client.post(f"/api/v1/cases/{case_id}/signposts", headers=sg, json={"entry_ids": [str(uuid.uuid4())]})
    assert gone.status_code == 422

    # The admin's page: a form left empty says so; an organisation removed is gone from the cases.
    admin_page = as_("admin")
    form_token = admin_page.token("/staff/support-directory")
    refused = admin_page.post("/staff/support-directory", {"name": "", "helps_with": "", "contact": ""}, token=form_token)
    assert refused.status_code == 422 and "There is a problem" in refused.text
    assert "Write something here." in refused.text or "Fill this in." in refused.text
    removed = admin_page.post(f"/staff/support-directory/{ids['Cruse']}/delete", {}, token=form_token)
    assert removed.status_code == 303
    assert "Cruse" not in page.get(f"/staff/cases/{case_id}").text.split("Send organisations that may help")[1]
