"""Issue 25, second part: search inside cases, saved views, history paging, identity sharing,
the PDF hand-off and redaction."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.enums import IdentitySharing
from tests.cases.conftest import World


def _bullying_case(client: Any, world: World) -> uuid.UUID:
    """A case about bullying at the station, with a note for the case team, one for the
    safeguarding team only, and a message to the reporter."""
    case_id = world.new_case(description="My manager keeps BULLYING me at the station.")
    base, sg = f"/api/v1/cases/{case_id}", world.headers("safeguarding")
    assert client.post(f"{base}/notes", headers=sg, json={"body": "Spoke about the rota."}).status_code == 201
    assert client.post(f"{base}/notes", headers=sg, json={
        "body": "The police are involved.", "visibility": "safeguarding"}).status_code == 201
    assert client.post(f"{base}/messages", headers=sg, json={"body": "We will call you on Friday."}).status_code == 201
    return case_id


def _found(client: Any, world: World, who: str, q: str) -> list[str]:
    r = client.get("/api/v1/cases", params={"q": q}, headers=world.headers(who))
    assert r.status_code == 200, r.text
    assert int(r.headers["X-Total-Count"]) == r.json()["total"]
    return [c["id"] for c in r.json()["items"]]


def test_search_finds_words_in_any_form_within_the_cases_each_person_may_see(
    app: Any, client: Any, world: World, as_: Any
) -> None:
    bullying = str(_bullying_case(client, world))
    debt = str(world.new_case(description="Debt worries since the divorce."))
    named = client.post("/api/v1/cases", headers=world.headers("safeguarding"), json={
        "channel": "phone", "received_at": "2026-01-05T10:00:00Z", "description": "Called about shifts.",
        "anonymous": False, "reporter": {"name": "Morgan Quayle"}}).json()

    # Stemmed and in any letter case, over description, notes, messages and the reporter's name;
    # every word must be there.
    assert _found(client, world, "safeguarding", "bullied") == [bullying]
    assert _found(client, world, "safeguarding", "Station BULLY") == [bullying]
    assert _found(client, world, "safeguarding", "rota friday") == [bullying]
    assert _found(client, world, "safeguarding", "bullied debt") == []
    assert _found(client, world, "safeguarding", "divorced") == [debt]
    assert _found(client, world, "safeguarding", "quayle") == [named["id"]]
    assert _found(client, world, "safeguarding", named["reference"]) == [named["id"]]
    # The safeguarding-only note is searched for the safeguarding team only.
    assert _found(client, world, "safeguarding", "police") == [bullying]
    assert _found(client, world, "assigned_hr", "police") == []
    assert _found(client, world, "assigned_hr", "bullied") == [bullying]
    # Nobody finds a case they may not see; roles without cases are refused.
    assert _found(client, world, "excluded_safeguarding", "bullied") == []
    assert _found(client, world, "other_hr", "bullied") == []
    assert client.get("/api/v1/cases?q=bullied", headers=world.headers("leadership")).status_code == 403
    # Filters narrow a search as they narrow the list.
    assert _found(client, world, "safeguarding", "station") == [bullying]
    r = client.get("/api/v1/cases", params={"q": "station", "status": "closed"}, headers=world.headers("safeguarding"))
    assert r.json()["total"] == 0

    # A search with no word is refused; a search is audited, never with its words.
    bad = client.get("/api/v1/cases", params={"q": "!!! ..."}, headers=world.headers("safeguarding"))
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")
    with app.state.sessionmaker() as s:
        searches = s.scalars(select(AuditEvent).where(AuditEvent.action == "case.search")).all()
        assert len(searches) >= 10 and all(e.target is None and e.case_id is None for e in searches)
        trail = " ".join(f"{e.action} {e.target}" for e in s.scalars(select(AuditEvent)))
    assert "bull" not in trail.lower() and "quayle" not in trail.lower()

    # The queue's search box, without JavaScript, keeping the filters it was given.
    page = as_("safeguarding").get("/staff/cases?q=bullied&risk=standard").text
    assert bullying in page and debt not in page and 'value="bullied"' in page
    assert 'name="risk" value="standard"' in page
    assert "No case you can see holds all" in as_("safeguarding").get("/staff/cases?q=zebra").text


def test_saved_views_are_each_persons_own_with_the_words_sealed_and_one_default(
    app: Any, client: Any, world: World, as_: Any
) -> None:
    bullying = str(_bullying_case(client, world))
    sg, other = world.headers("safeguarding"), world.headers("excluded_safeguarding")
    made = client.post("/api/v1/me/views", headers=sg, json={
        "name": "Bullying, urgent first", "filters": {"status": ["received", "in_progress"], "owner": "me"},
        "q": "bullied station", "default": True})
    assert made.status_code == 201, made.text
    view = made.json()
    assert view["q"] == "bullied station" and view["default"] is True
    assert view["filters"]["status"] == ["received", "in_progress"] and view["filters"]["owner"] == "me"
    # Stored sealed: the words are nowhere in the row, and not in the audit trail.
    with app.state.sessionmaker() as s:
        from app.saved_views.models import SavedView

        row = s.get(SavedView, uuid.UUID(view["id"]))
        assert row is not None and row.search_ct is not None and b"bullied" not in row.search_ct
        assert "bullied" not in str(row.filters)
        assert "bullied" not in " ".join(str(e.target) for e in s.scalars(select(AuditEvent)))
        # Sealed to the owner's own key (issue 27): the key ring alone does not open the words.
        from app.crypto import envelope
        from app.saved_views import service as saved_views
        assert row.search_to is not None
        with pytest.raises(envelope.DecryptionError):
            envelope.open_(app.state.keyring.subkey(saved_views.PURPOSE), row.search_ct, saved_views._ad(row.id))
        # A view saved before, under the ring's key, moves to its owner's key at `seal-cases`.
        old = SavedView(id=uuid.uuid4(), user_id=row.user_id, name="Older", filters={}, is_default=False)
        old.search_ct = envelope.seal(app.state.keyring.subkey(saved_views.PURPOSE), b"rota", saved_views._ad(old.id))
        s.add(old)
        s.flush()
        assert saved_views.seal_to_owners(s, app.state.keyring) == 1 and old.search_to == row.search_to
        s.commit()
    assert {v["name"]: v["q"] for v in client.get("/api/v1/me/views", headers=sg).json()}["Older"] == "rota"
    assert client.delete(f"/api/v1/me/views/{old.id}", headers=sg).status_code == 204
    # Any staff user has views of their own; nobody sees or removes another's (404).
    assert client.post("/api/v1/me/views", headers=world.headers("admin"), json={"name": "Mine"}).status_code == 201
    assert [v["name"] for v in client.get("/api/v1/me/views", headers=sg).json()] == ["Bullying, urgent first"]
    assert client.get("/api/v1/me/views", headers=other).json() == []
    assert client.delete(f"/api/v1/me/views/{view['id']}", headers=other).status_code == 404
    # Bad input is refused and changes nothing.
    for bad in ({"name": ""}, {"name": "Bullying, urgent first"}, {"name": "x", "filters": {"risk": "high"}},
                {"name": "x", "filters": {"owner": "someone"}}, {"name": "x", "q": "!!!"}, {"name": "x", "extra": 1}):
        r = client.post("/api/v1/me/views", headers=sg, json=bad)
        assert r.status_code in (409, 422), (bad, r.status_code)
        assert r.headers["content-type"].startswith("application/problem+json")
    assert len(client.get("/api/v1/me/views", headers=sg).json()) == 1

    # The queue opens on the default view; another view saved from the page, picked from the list.
    page = as_("safeguarding")
    landing = page.get("/staff/cases")
    assert landing.status_code == 303 and "q=bullied+station" in landing.headers["location"]
    shown = page.get(landing.headers["location"]).text
    assert "Bullying, urgent first (opens first)" in shown
    assert page.get("/staff/cases?all=1").status_code == 200
    token = page.token("/staff/cases?all=1")
    saved = page.post("/staff/cases?form=/staff/views", {"name": "Rota words", "q": "rota", "risk": "standard"},
                      token=token)
    assert saved.status_code == 303 and "done=view_saved" in saved.headers["location"]
    again = page.post("/staff/cases?form=/staff/views", {"name": "Rota words", "q": "rota"}, token=token)
    assert again.status_code == 409 and "already have a saved view" in again.text
    assert page.post("/staff/cases?form=/staff/views", {"name": " "}, token=token).status_code == 422
    views = {v["name"]: v for v in client.get("/api/v1/me/views", headers=sg).json()}
    assert views["Rota words"]["q"] == "rota" and views["Rota words"]["filters"]["risk"] == "standard"
    picked = page.get(f"/staff/cases?view={views['Rota words']['id']}")
    assert picked.status_code == 303
    assert bullying in page.get(picked.headers["location"]).text
    assert page.get(f"/staff/cases?view={uuid.uuid4()}").status_code == 404
    # Removed: the default goes with it, and the queue opens on every case again.
    gone = page.post(f"/staff/cases?form=/staff/views/{view['id']}/delete", token=token)
    assert gone.status_code == 303
    assert client.delete(f"/api/v1/me/views/{views['Rota words']['id']}", headers=sg).status_code == 204
    assert client.get("/api/v1/me/views", headers=sg).json() == []
    assert page.get("/staff/cases").status_code == 200


def test_a_long_history_comes_in_pages_on_the_api_and_the_page(app: Any, client: Any, world: World, as_: Any) -> None:
    from app.audit import service as audit

    case_id = world.new_case()
    with app.state.sessionmaker() as s, s.begin():
        for _ in range(150):
            audit.record(s, audit.Actor.system("test"), "check_in.remind", case_id=case_id)
    url, sg = f"/api/v1/cases/{case_id}/history", world.headers("safeguarding")
    whole = client.get(url, params={"page_size": 500}, headers=sg)
    total = int(whole.headers["X-Total-Count"])
    assert total == len(whole.json()) > 150
    second = client.get(url, params={"page": 2, "page_size": 100}, headers=sg)
    # Reading the history adds an entry at its end; the earlier ones stay where they were.
    assert second.json()[:total - 100] == whole.json()[100:]
    assert 'rel="prev"' in second.headers["Link"] and 'rel="first"' in second.headers["Link"]
    assert client.get(url, params={"page_size": 1000}, headers=sg).status_code == 422

    page = as_("safeguarding")
    first = page.get(f"/staff/cases/{case_id}/history").text
    assert "Entries 1 to 100 of" in first and 'rel="next"' in first
    last = page.get(f"/staff/cases/{case_id}/history?page=2").text
    assert "Entries 101 to" in last and 'rel="prev"' in last and "Read the case" in last
    assert "All " in page.get(f"/staff/cases/{case_id}/history?page=all").text
    assert page.get(f"/staff/cases/{case_id}/history?page=zzz").status_code == 200


def test_identity_sharing_is_the_named_reporters_answer_and_safeguarding_records_changes(
    app: Any, client: Any, world: World, as_: Any
) -> None:
    from app.cases.models import Case
    from tests.web.helpers import csrf, receipt_in, report_form

    sg = world.headers("safeguarding")
    named = {"channel": "phone", "received_at": "2026-01-05T10:00:00Z", "description": "Called about shifts.",
             "anonymous": False, "reporter": {"name": "Robin Hale"}}
    made = client.post("/api/v1/cases", headers=sg, json={**named, "identity_sharing": "ask_me"})
    assert made.status_code == 201 and made.json()["identity_sharing"] == "ask_me"
    unasked = client.post("/api/v1/cases", headers=sg, json=named).json()
    assert unasked["identity_sharing"] is None
    anonymous = client.post("/api/v1/reports", json={"description": "x y z", "identity_sharing": "yes"})
    assert anonymous.status_code == 422
    bad = client.post("/api/v1/reports", json={"description": "x y z", "anonymous": False,
                                               "reporter": {"name": "A"}, "identity_sharing": "maybe"})
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")

    # Safeguarding records a changed answer; nobody else may; an anonymous case has none.
    case_url = f"/api/v1/cases/{made.json()['id']}"
    changed = client.patch(case_url, headers=sg, json={"identity_sharing": "yes"})
    assert changed.status_code == 200 and changed.json()["identity_sharing"] == "yes"
    assert client.patch(case_url, headers=sg, json={"identity_sharing": None}).status_code == 422
    assert client.patch(case_url, headers=world.headers("assigned_hr"), json={"identity_sharing": "no"}).status_code == 403
    anon_case = world.new_case()
    assert client.patch(f"/api/v1/cases/{anon_case}", headers=sg, json={"identity_sharing": "no"}).status_code == 409
    history = client.get(f"{case_url}/history", headers=sg).json()
    assert any(h["action"].startswith("Recorded the reporter's answer") and h["detail"] == "yes, with a formal investigation"
               for h in history)

    # The case page shows the answer and records another without JavaScript.
    page = as_("safeguarding")
    url = f"/staff/cases/{made.json()['id']}"
    assert "their identity may go with the case" in page.get(url).text
    r = page.post(f"{url}?form={url}/identity-sharing", {"identity_sharing": "no"}, token=page.token(url))
    assert r.status_code == 303
    assert client.get(case_url, headers=sg).json()["identity_sharing"] == "no"
    assert page.post(f"{url}?form={url}/identity-sharing", {"identity_sharing": "perhaps"},
                     token=page.token(url)).status_code == 422

    # The report form asks a named reporter; the answer of an anonymous one is never kept.
    web = client
    sent = web.post("/report", data=report_form(csrf(web), identity="named", name="Kit Moss",
                                                identity_sharing="no"))
    assert sent.status_code == 200 and receipt_in(sent.text)
    anon = web.post("/report", data=report_form(csrf(web), identity_sharing="yes"))
    assert anon.status_code == 200 and receipt_in(anon.text)
    with app.state.sessionmaker() as s:
        answers = [c.identity_sharing for c in s.scalars(select(Case).where(Case.channel == "web")
                                                         .order_by(Case.created_at))]
    assert answers[-2:] == [IdentitySharing.NO, None]


def test_the_pdf_hand_off_holds_the_parts_chosen_marks_every_page_and_is_audited(
    app: Any, client: Any, world: World, as_: Any
) -> None:
    import io

    import pikepdf

    sg = world.headers("safeguarding")
    case = client.post("/api/v1/cases", headers=sg, json={
        "channel": "phone", "received_at": "2026-01-05T10:00:00Z", "description": "Długi shift. " * 400,
        "anonymous": False, "reporter": {"name": "Robin Hale"}, "identity_sharing": "ask_me"}).json()
    url = f"/api/v1/cases/{case['id']}/export.pdf"
    for body in ("See you on Friday.", "Call me after six."):
        client.post(f"/api/v1/cases/{case['id']}/messages", headers=sg, json={"body": body})
    client.post(f"/api/v1/cases/{case['id']}/notes", headers=sg, json={"body": "Police informed.",
                                                                       "visibility": "safeguarding"})

    r = client.get(url, headers=sg)
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"] == f'attachment; filename="{case["reference"]}.pdf"'
    assert r.content.startswith(b"%PDF")
    with pikepdf.open(io.BytesIO(r.content)) as pdf:
        pages = len(pdf.pages)
    assert pages >= 2  # the long description runs over
    # What a reader sees (fpdf2 embeds the font subset; its text is recoverable through the same library).
    text = _extract(r.content)
    assert text.count("Exported by Sam Safeguarding") >= 2 * pages  # a header and a footer on every page
    assert "Robin Hale" not in text and "asked to be asked first" in text
    assert "See you on Friday." in text and "Police informed." not in text
    assert "Długi" in text  # the reporter's own script survives

    # Chosen parts only; the identity once they said yes; audited with the parts, not the text.
    client.patch(f"/api/v1/cases/{case['id']}", headers=sg, json={"identity_sharing": "yes"})
    only = _extract(client.get(url, params={"parts": ["safeguarding_notes"]}, headers=sg).content)
    assert "Robin Hale" in only and "Police informed." in only and "See you on Friday." not in only
    assert client.get(url, params={"parts": ["everything"]}, headers=sg).status_code == 422
    assert client.get(url, headers=world.headers("assigned_hr")).status_code in (403, 404)
    history = client.get(f"/api/v1/cases/{case['id']}/history", headers=sg).json()
    exports = [h for h in history if h["action"] == "Exported the case for a formal investigation"]
    assert [h["detail"] for h in exports][-1] == "PDF: safeguarding notes"

    # From the case page, without JavaScript.
    page = as_("safeguarding")
    assert "Download the PDF" in page.get(f"/staff/cases/{case['id']}").text
    got = page.get(f"/staff/cases/{case['id']}/export.pdf?parts=description")
    assert got.status_code == 200 and got.content.startswith(b"%PDF")


def _extract(content: bytes) -> str:
    """The PDF's text as a reader would copy it: the strings of its content streams (pikepdf, already
    a dependency) through each font's ToUnicode map, which fpdf2 writes. Good enough to find words."""
    import io
    import re

    import pikepdf

    words: list[str] = []
    with pikepdf.open(io.BytesIO(content)) as pdf:
        for page in pdf.pages:
            fonts = page.Resources.get("/Font", {})
            maps = {}
            for name, font in fonts.items():
                cmap = font.get("/ToUnicode")
                if cmap is not None:
                    table = {}
                    data = cmap.read_bytes().decode("latin-1")
                    for block in re.findall(r"beginbfchar(.*?)endbfchar", data, re.S):
                        for src, dst in re.findall(r"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
                            table[int(src, 16)] = bytes.fromhex(dst).decode("utf-16-be")
                    for block in re.findall(r"beginbfrange(.*?)endbfrange", data, re.S):
                        for a, b, dst in re.findall(r"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
                            start = int(dst, 16)
                            for i, code in enumerate(range(int(a, 16), int(b, 16) + 1)):
                                table[code] = chr(start + i)
                    maps[str(name)] = table
            current: dict[int, str] | None = None
            for operands, op in pikepdf.parse_content_stream(page):
                if str(op) == "Tf":
                    current = maps.get(str(operands[0]))
                elif str(op) in ("Tj", "TJ"):
                    items = operands[0] if str(op) == "TJ" else [operands[0]]
                    for item in items:
                        if isinstance(item, pikepdf.String):
                            raw = bytes(item)
                            if current:
                                words.append("".join(current.get(int.from_bytes(raw[i:i + 2], "big"), "?")
                                                     for i in range(0, len(raw), 2)))
                            else:
                                words.append(raw.decode("latin-1"))
                words.append(" ") if str(op) in ("Td", "TD", "T*", "Tm", "ET") else None
    return re.sub(r"\s+", " ", "".join(words))


def test_safeguarding_redacts_a_passage_and_the_history_says_so_never_what(
    app: Any, client: Any, world: World, as_: Any
) -> None:
    case_id = world.new_case()
    base, sg = f"/api/v1/cases/{case_id}", world.headers("safeguarding")
    note = client.post(f"{base}/notes", headers=sg, json={"body": "Spoke to Jo. Her sister Amy Price is the manager."}).json()
    msg = client.post(f"{base}/messages", headers=sg, json={"body": "Thanks. We have spoken to Amy Price today."}).json()

    r = client.post(f"{base}/notes/{note['id']}/redactions", headers=sg, json={"passage": "Her sister Amy Price"})
    assert r.status_code == 200 and r.json()["body"] == "Spoke to Jo. [redacted] is the manager."
    assert [n["body"] for n in client.get(f"{base}/notes", headers=sg).json()][-1] == r.json()["body"]
    # The stored text is sealed again without it: a search no longer finds it.
    assert _found(client, world, "safeguarding", "sister") == []
    # Messages too, and the reporter then reads the redacted text.
    m = client.post(f"{base}/messages/{msg['id']}/redactions", headers=sg, json={"passage": "Amy Price"})
    assert m.json()["body"] == "Thanks. We have spoken to [redacted] today."
    reporter = client.get("/api/v1/reporter/case", headers=world.headers("reporter", case_id)).json()
    assert "Amy" not in str(reporter)

    # Bad input and the wrong people change nothing.
    for url, body, status in ((f"{base}/notes/{note['id']}/redactions", {"passage": "not in it"}, 422),
                              (f"{base}/notes/{note['id']}/redactions", {"passage": ""}, 422),
                              (f"{base}/notes/{msg['id']}/redactions", {"passage": "Thanks"}, 404),
                              (f"{base}/messages/{uuid.uuid4()}/redactions", {"passage": "Thanks"}, 404)):
        bad = client.post(url, headers=sg, json=body)
        assert bad.status_code == status, (url, body, bad.text)
        assert bad.headers["content-type"].startswith("application/problem+json")
    assert client.post(f"{base}/notes/{note['id']}/redactions", headers=world.headers("assigned_hr"),
                       json={"passage": "Jo"}).status_code == 403
    assert client.post(f"{base}/notes/{note['id']}/redactions", headers=world.headers("excluded_safeguarding"),
                       json={"passage": "Jo"}).status_code == 404
    assert client.get(f"{base}/notes", headers=sg).json()[-1]["body"] == "Spoke to Jo. [redacted] is the manager."

    history = client.get(f"{base}/history", headers=sg).json()
    redactions = [(h["actor"], h["detail"]) for h in history if h["action"] == "Redacted a passage"]
    assert redactions == [("Sam Safeguarding", "of an internal note"), ("Sam Safeguarding", "of a message")]
    assert "Amy" not in str(history) and "sister" not in str(history)

    # On the case page, without JavaScript; a passage not in the text comes back with a message.
    page, url = as_("safeguarding"), f"/staff/cases/{case_id}"
    assert "Redact a passage" in page.get(url).text
    missing = page.post(f"{url}?form={url}/notes/{note['id']}/redact", {"passage": "zzz"}, token=page.token(url))
    assert missing.status_code == 422 and "Copy the passage exactly" in missing.text
    done = page.post(f"{url}?form={url}/notes/{note['id']}/redact", {"passage": "Spoke to Jo."}, token=page.token(url))
    assert done.status_code == 303
    assert client.get(f"{base}/notes", headers=sg).json()[-1]["body"] == "[redacted] [redacted] is the manager."
    assert "Redact a passage" not in as_("assigned_hr").get(url).text
