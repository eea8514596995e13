"""Who may do what on every case endpoint. One row per endpoint; each cell is tried on a case of
its own (assigned to `assigned_hr`; `excluded_hr` was its contact before being excluded, and
`excluded_safeguarding` is excluded too).

"listed" / "hidden": 200, with the case in the list or not in it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app import clock
from tests.cases.conftest import World

ACTORS = ("safeguarding", "assigned_hr", "other_hr", "excluded_safeguarding", "excluded_hr",
          "leadership", "admin", "reporter", "none")

MATRIX: dict[str, tuple[Any, ...]] = {
    #                                 sg        hr        other_hr  excl_sg   excl_hr   leader admin reporter none
    "GET /cases":                  ("listed", "listed", "hidden", "hidden", "hidden", 403,   403,  401,     401),
    "POST /cases":                 (201,      403,      403,      201,      403,      403,   403,  401,     401),
    "GET /cases/{id}":             (200,      200,      404,      404,      404,      403,   403,  401,     401),
    "PATCH /cases/{id}":           (200,      403,      403,      404,      403,      403,   403,  401,     401),
    "PUT /cases/{id}/hr-contact":  (200,      403,      403,      404,      403,      403,   403,  401,     401),
    "POST /cases/{id}/signposts":  (201,      201,      404,      404,      404,      403,   403,  401,     401),
    "GET /cases/{id}/history":     (200,      403,      403,      404,      403,      403,   403,  401,     401),
    "GET /cases/{id}/export.pdf":  (200,      403,      403,      404,      403,      403,   403,  401,     401),
    "GET /cases/{id}/exclusions":  (200,      403,      403,      404,      403,      403,   403,  401,     401),
    "POST /cases/{id}/exclusions": (201,      403,      403,      404,      403,      403,   403,  401,     401),
    "GET /cases/{id}/notes":       (200,      200,      404,      404,      404,      403,   403,  401,     401),
    "POST /cases/{id}/notes":      (201,      201,      404,      404,      404,      403,   403,  401,     401),
    "GET /cases/{id}/messages":    (200,      200,      404,      404,      404,      403,   403,  401,     401),
    "POST /cases/{id}/messages":   (201,      201,      404,      404,      404,      403,   403,  401,     401),
    "POST /cases/{id}/close":      (200,      200,      404,      404,      404,      403,   403,  401,     401),
    "GET /cases/{id}/referrals":   (200,      200,      404,      404,      404,      403,   403,  401,     401),
    "POST /cases/{id}/referrals":  (201,      201,      404,      404,      404,      403,   403,  401,     401),
    "PATCH /cases/{id}/referrals/{rid}": (200, 200,     404,      404,      404,      403,   403,  401,     401),
}


def _body(endpoint: str, world: World) -> dict[str, Any] | None:
    bodies: dict[str, Callable[[], dict[str, Any]]] = {
        "POST /cases": lambda: {
            "channel": "phone", "received_at": "2026-01-05T10:00:00Z", "duration_minutes": 20,
            "description": "Caller says a colleague is gambling at work.",
        },
        "PATCH /cases/{id}": lambda: {"primary_theme": "line_manager", "risk": "urgent"},
        "PUT /cases/{id}/hr-contact": lambda: {"user_id": world.id("other_hr")},
        "POST /cases/{id}/exclusions": lambda: {"user_id": world.id("other_hr"), "reason": "Named in the concern."},
        "POST /cases/{id}/notes": lambda: {"body": "Called back, no answer."},
        "POST /cases/{id}/messages": lambda: {"body": "Thank you for telling us."},
        "POST /cases/{id}/close": lambda: {"outcome": "signposted", "summary": "Signposted to the EAP."},
        "POST /cases/{id}/referrals": lambda: {"kind": "police", "note": "Reported to the police."},
        "PATCH /cases/{id}/referrals/{rid}": lambda: {"completed_on": clock.today().isoformat()},
    }
    return bodies[endpoint]() if endpoint in bodies else None


def _outcome(client: Any, world: World, endpoint: str, who: str) -> Any:
    method, path = endpoint.split(" ")
    case_id = world.new_case()
    url = "/api/v1" + path.replace("{id}", str(case_id))
    if "{rid}" in path:  # a referral made by safeguarding beforehand
        made = client.post(f"/api/v1/cases/{case_id}/referrals", json={"kind": "police"},
                           headers=world.headers("safeguarding"))
        url = url.replace("{rid}", made.json()["id"])
    body = _body(endpoint, world)
    if endpoint == "POST /cases/{id}/signposts":  # an organisation the admin put in the directory beforehand
        entry = client.post("/api/v1/support-directory", headers=world.headers("admin"), json={
            "name": f"Helpline {uuid.uuid4().hex[:6]}", "helps_with": "Debt advice", "contact": "0800 000 000"})
        body = {"entry_ids": [entry.json()["id"]]}
    r = client.request(method, url, json=body, headers=world.headers(who, case_id))
    if r.status_code >= 400:
        assert r.headers["content-type"].startswith("application/problem+json"), r.text
    if endpoint == "GET /cases" and r.status_code == 200:
        return "listed" if str(case_id) in {i["id"] for i in r.json()["items"]} else "hidden"
    return r.status_code


@pytest.mark.parametrize("endpoint", list(MATRIX), ids=list(MATRIX))
def test_role_matrix(endpoint: str, client: Any, world: World) -> None:
    expected = dict(zip(ACTORS, MATRIX[endpoint], strict=True))
    got = {who: _outcome(client, world, endpoint, who) for who in ACTORS}
    assert got == expected


def test_unknown_case_and_invisible_case_get_the_same_404(client: Any, world: World) -> None:
    case_id = world.new_case()
    hidden = client.get(f"/api/v1/cases/{case_id}", headers=world.headers("other_hr"))
    missing = client.get(f"/api/v1/cases/{uuid.uuid4()}", headers=world.headers("other_hr"))
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json()


def test_excluded_user_never_sees_the_case_in_any_filtered_list(client: Any, world: World) -> None:
    case_id = world.new_case()
    for query in ("", "?status=in_progress", f"?hr_contact={world.id('assigned_hr')}", "?page_size=100"):
        r = client.get("/api/v1/cases" + query, headers=world.headers("excluded_safeguarding"))
        assert r.status_code == 200
        assert str(case_id) not in {i["id"] for i in r.json()["items"]}
        assert r.json()["total"] == 0


def test_a_note_for_the_safeguarding_team_never_reaches_the_hr_contact(app: Any, client: Any, world: World) -> None:
    """Not through the notes, the case page, a file on the note, the list of files or an e-mail;
    and an HR contact cannot write one (403). Safeguarding sees it, marked as theirs alone."""
    from sqlalchemy import select

    from app.notify.models import Notification
    from tests.attachments.files import screenshot_png

    case_id = world.new_case()
    base = f"/api/v1/cases/{case_id}"
    sg, hr = world.headers("safeguarding"), world.headers("assigned_hr")
    secret = "The HR contact's partner is the person named in this concern."
    upload = client.post(f"{base}/attachments", headers=sg,
                         files={"file": ("partner-rota.png", screenshot_png(), "image/png")})
    assert upload.status_code == 201, upload.text
    file_id = upload.json()["id"]
    made = client.post(f"{base}/notes", headers=sg,
                       json={"body": secret, "visibility": "safeguarding", "attachment_ids": [file_id]})
    assert made.status_code == 201 and made.json()["visibility"] == "safeguarding"
    shared = client.post(f"{base}/notes", headers=sg, json={"body": "Spoke to the reporter on Monday."})
    assert shared.json()["visibility"] == "case_team"

    assert [n["body"] for n in client.get(f"{base}/notes", headers=hr).json()] == ["Spoke to the reporter on Monday."]
    assert file_id not in {f["id"] for f in client.get(f"{base}/attachments", headers=hr).json()}
    assert client.get(f"{base}/attachments/{file_id}", headers=hr).status_code == 404
    hr_page = TestClient(app)
    hr_page.cookies.set("ss_staff", world.staff["assigned_hr"].token)
    page = hr_page.get(f"/staff/cases/{case_id}").text
    assert "Spoke to the reporter on Monday." in page
    assert secret not in page and "partner-rota" not in page and "safeguarding team only" not in page
    assert hr_page.get(f"/staff/cases/{case_id}/attachments/{file_id}").status_code == 404
    refused = client.post(f"{base}/notes", headers=hr, json={"body": "Mine", "visibility": "safeguarding"})
    assert refused.status_code == 403
    with app.state.sessionmaker() as s:
        bodies = [n.body or "" for n in s.scalars(select(Notification))]
    assert not any(secret in b for b in bodies)

    sg_notes = client.get(f"{base}/notes", headers=sg).json()
    assert [(n["body"], n["visibility"]) for n in sg_notes][0] == (secret, "safeguarding")
    assert client.get(f"{base}/attachments/{file_id}", headers=sg).status_code == 200
    sg_page = TestClient(app)
    sg_page.cookies.set("ss_staff", world.staff["safeguarding"].token)
    assert "safeguarding team only" in sg_page.get(f"/staff/cases/{case_id}").text
    hr_page.close()
    sg_page.close()
