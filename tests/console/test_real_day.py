"""The console on a real day (issue 22): the queue filtered as the browser's own form sends it,
urgent cases first, risk words flagged and never deciding, suggestions that never decide,
safeguarding told what matters, closures that do not lose a referral, and a recorded contact that
never drops what was typed."""

from __future__ import annotations

import re
import uuid
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlencode

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from app import clock
from app.audit import service as audit
from app.cases.models import Case
from app.cases.service import read_content
from app.checkins.models import CheckIn
from app.enums import Risk, Status
from app.notify.models import Notification
from tests.cases.conftest import World
from tests.web.helpers import RECEIPT_RE, csrf, report_form

REF = re.compile(r'<a href="/staff/cases/([0-9a-f-]{36})">SS-')
URGENT_TEXT = ("My partner said last night that if I leave he will kill me. I am scared to go home tonight "
               "and I have nowhere else to go.")
QUIET_TEXT = "The rota for the spring training days has not been published yet and people are asking."


class _Form(HTMLParser):
    """The fields of one form on a page, as a browser would send them untouched: checked boxes,
    each select's selected (or first) option, text inputs' values."""

    def __init__(self, action: str) -> None:
        super().__init__()
        self.action, self.inside, self.select = action, False, None
        self.fields: list[tuple[str, str]] = []
        self.first: dict[str, str] = {}
        self.chosen: dict[str, str] = {}
        self.options: dict[str, list[str]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.inside = a.get("action") == self.action and a.get("method", "get") == "get"
        elif self.inside and tag == "input" and a.get("name"):
            if a.get("type") in ("checkbox", "radio"):
                if "checked" in a:
                    self.fields.append((a["name"], a.get("value", "on")))
            else:
                self.fields.append((a["name"], a.get("value", "")))
        elif self.inside and tag == "select":
            self.select = a["name"]
            self.options[a["name"]] = []
        elif self.inside and tag == "option" and self.select:
            self.options[self.select].append(a.get("value", ""))
            self.first.setdefault(self.select, a.get("value", ""))
            if "selected" in a:
                self.chosen[self.select] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self.inside:
            self.inside = False
            for name in self.options:
                self.fields.append((name, self.chosen.get(name, self.first.get(name, ""))))
        elif tag == "select":
            self.select = None


def _filter_form(page: str) -> _Form:
    """The queue's filter form (the second GET form to /staff/cases; the first is the reference search)."""
    html = page[page.index('<details class="filters"'):]
    form = _Form("/staff/cases")
    form.feed(html)
    assert form.fields and "risk" in form.options and "theme" in form.options
    return form


def _send(sg: Any, form: _Form, **changes: Any) -> Any:
    """The form as the browser sends it after ticking or choosing `changes` (a list adds checkboxes)."""
    fields = [(k, v) for k, v in form.fields if k not in changes or isinstance(changes[k], list)]
    for k, v in changes.items():
        fields += [(k, x) for x in v] if isinstance(v, list) else [(k, v)]
    return sg.get("/staff/cases?" + urlencode(fields))


def _listed(html: str) -> list[str]:
    return REF.findall(html)


def _reported(app: Any, text: str) -> tuple[uuid.UUID, str]:
    """A concern sent through the reporters' own form: (the case, the confirmation page)."""
    with TestClient(app) as reporter:
        r = reporter.post("/report", data=report_form(csrf(reporter), description=text))
    assert r.status_code == 200 and RECEIPT_RE.search(r.text)
    with app.state.sessionmaker() as s:
        case_id = s.scalars(select(Case.id).order_by(Case.created_at.desc()).limit(1)).one()
    return case_id, r.text


def _told(app: Any, case_id: uuid.UUID) -> set[tuple[str, str]]:
    with app.state.sessionmaker() as s:
        return {(n.kind, str(n.user_id)) for n in s.scalars(select(Notification).where(Notification.case_id == case_id))}


def _clear_outbox(app: Any) -> None:
    with app.state.sessionmaker() as s, s.begin():
        s.execute(update(Notification).values(sent_at=clock.now()))


def test_urgent_first_risk_words_flag_but_never_decide(app: Any, world: World, as_: Any, client: Any) -> None:
    quiet = world.new_case(assign=False, exclude=False, description=QUIET_TEXT)
    urgent, confirmation = _reported(app, URGENT_TEXT)
    # The reporter is signposted at once: 999, Samaritans, the local out-of-hours routes.
    assert "999" in confirmation and "116 123" in confirmation and "NHS 111" in confirmation
    assert "116 123" not in _reported(app, QUIET_TEXT)[1]

    sg = as_("safeguarding")
    page = sg.get("/staff/cases").text
    listed = _listed(page)
    assert listed[0] == str(urgent) and listed.index(str(quiet)) < len(listed) - 1  # then the oldest waiting
    assert "Possible risk: read first" in page and page.count("New: not yet triaged") == 3
    assert "Needs attention" in page and ">Nothing<" not in page

    # The words are on the case, highlighted, and the risk is still a person's to set.
    api = client.get(f"/api/v1/cases/{urgent}", headers=world.headers("safeguarding")).json()
    assert api["risk"] == "standard" and api["possible_risk"] is True
    assert {"if i leave he will kill me", "scared to go home tonight", "nowhere else to go"} <= set(api["risk_signals"])
    case_page = sg.get(f"/staff/cases/{urgent}").text
    assert "<mark>scared to go home tonight</mark>" in case_page and 'href="#closure"' in case_page
    # Stored under the case's key like the text it comes from, never in clear.
    with app.state.sessionmaker() as s:
        row = s.get(Case, urgent)
        assert row is not None and row.risk_signals_ct is not None and b"scared" not in row.risk_signals_ct

    # Setting the risk at triage is a person looking: the flag goes, the words stay.
    token = sg.token(f"/staff/cases/{urgent}")
    r = sg.post(f"/staff/cases/{urgent}/triage", {"primary_theme": "domestic_abuse", "risk": "urgent",
                                                  "location_asked": "yes"}, token=token)
    assert r.status_code == 303, r.text
    api = client.get(f"/api/v1/cases/{urgent}", headers=world.headers("safeguarding")).json()
    assert api["risk"] == "urgent" and api["possible_risk"] is False and api["risk_signals"]
    assert api["acknowledged_at"] is None  # triage is not a word to the reporter

    # The reporter writes again on the urgent case: the safeguarding team hears it, not only the contact.
    _clear_outbox(app)
    headers = {"Authorization": f"Bearer {world.reporter_token(urgent)}"}
    r = client.post("/api/v1/reporter/messages", json={"body": "He didn't come in today. Please hurry."},
                    headers=headers)
    assert r.status_code == 201
    told = _told(app, urgent)
    assert ("possible_risk", world.id("safeguarding")) in told

    # Explicit acknowledgement: the standard message goes to the reporter.
    r = sg.post(f"/staff/cases/{urgent}/acknowledge", token=sg.token(f"/staff/cases/{urgent}"))
    assert r.status_code == 303 and "done=acknowledged" in r.headers["location"]
    thread = client.get("/api/v1/reporter/case", headers=headers).json()
    assert any("Thank you for raising this concern" in m["body"] for m in thread["messages"])
    assert client.get(f"/api/v1/cases/{urgent}", headers=world.headers("safeguarding")).json()["acknowledged_at"]
    # The case page's reads went into the trail together (one round trip on PostgreSQL): it still verifies.
    with app.state.sessionmaker() as s:
        intact, checked, broken = audit.verify(s)
    assert intact and checked > 20 and broken is None


def test_the_filter_form_works_as_the_browser_sends_it(app: Any, world: World, as_: Any) -> None:
    new = world.new_case(assign=False, exclude=False)
    assigned = world.new_case(exclude=False)
    sg = as_("safeguarding")
    page = sg.get("/staff/cases").text
    form = _filter_form(page)
    untouched = _send(sg, form)
    assert untouched.status_code == 200 and set(_listed(untouched.text)) == {str(new), str(assigned)}
    for changes, expected in [
        ({"status": ["received"]}, [str(new)]),
        ({"status": ["in_progress"]}, [str(assigned)]),
        ({"theme": "bullying"}, []),
        ({"hr_contact": world.id("assigned_hr")}, [str(assigned)]),
        ({"hr_contact": "none"}, [str(new)]),
        ({"overdue": "true"}, []),
        ({"risk": "standard", "status": ["received", "in_progress"]}, None),
        ({"open_referral": "true"}, []),
    ]:
        r = _send(sg, form, **changes)
        assert r.status_code == 200, (changes, r.text[:300])
        if expected is not None:
            assert sorted(_listed(r.text)) == sorted(expected), changes
    # A hand-edited address gets the queue with a plain message, not a bare error page.
    odd = sg.get("/staff/cases?risk=extreme")
    assert odd.status_code == 422 and "Choose one of the options" in odd.text and "Sign out" in odd.text


def test_no_dead_ends(app: Any, world: World, as_: Any) -> None:
    case_id = world.new_case()
    sg, hr = as_("safeguarding"), as_("assigned_hr")
    page = f"/staff/cases/{case_id}"
    # The case page's forms post at the page's own address: after an error, that is what a reload opens.
    assert f'action="{page}?form={page}/close"' in sg.get(page).text
    r = sg.post(f"{page}?form={page}/close", {"outcome": "", "summary": ""}, token=sg.token(page))
    assert r.status_code == 422 and "Choose one of the options." in r.text and "Write something here." in r.text
    assert sg.get(f"{page}?form={page}/close").status_code == 200  # the reload: the case page
    # An address that only takes a form goes to its page; errors stay in the console with a way back.
    for action in ("close", "triage", f"check-ins/{uuid.uuid4()}/complete"):
        r = sg.get(f"{page}/{action}")
        assert r.status_code == 303 and r.headers["location"] == page, action
    missing = sg.get(f"/staff/cases/{uuid.uuid4()}/notes/nothing", headers={"Accept": "text/html"})
    assert missing.status_code == 404 and "Go back to the page" in missing.text and 'href="/staff"' in missing.text
    refused = hr.get("/staff/users")
    assert refused.status_code == 403 and "Not available to you" in refused.text
    assert 'href="/staff/cases"' in refused.text and 'href="/staff/check-ins"' in refused.text

    # Refused attempts on a case (excluded, or not their case) are "not found" and on the record.
    with app.state.sessionmaker() as s:
        reference = s.get(Case, case_id).reference  # type: ignore[union-attr]
    assert as_("excluded_safeguarding").get(page).status_code == 404
    assert "No case with the reference" in as_("excluded_safeguarding").get("/staff/cases", params={
        "reference": reference}).text
    assert as_("other_hr").get(page).status_code == 404
    queue = sg.get("/staff/cases").text
    assert "Refused attempts to open cases" in queue
    assert "Eve Excluded searched for" in queue and "Eve Excluded tried to open" in queue
    assert "Olly Other tried to open" in queue and "(not their case)" in queue
    assert "Refused attempts" not in as_("excluded_safeguarding").get("/staff/cases").text  # never about their case

    # The reporter is told, neutrally, that their HR contact changed (the case went from one to another).
    with TestClient(app) as reporter:
        seen = reporter.get("/api/v1/reporter/case", headers={"Authorization": f"Bearer {world.reporter_token(case_id)}"})
    assert seen.json()["hr_contact_changed_on"] == clock.today().isoformat()
    assert "Alex" not in seen.text and "Fred" not in seen.text


def test_not_suitable_closure_by_hr_and_open_referrals(app: Any, world: World, as_: Any, client: Any) -> None:
    case_id = world.new_case(exclude=False)
    hr, sg = as_("assigned_hr"), as_("safeguarding")
    # Urgent case; the check-in says the support is not suitable: Needs attention, and safeguarding is told.
    assert client.patch(f"/api/v1/cases/{case_id}", json={"risk": "urgent"},
                        headers=world.headers("safeguarding")).status_code == 200
    _clear_outbox(app)
    with app.state.sessionmaker() as s:
        check_in = s.scalars(select(CheckIn.id).where(CheckIn.case_id == case_id, CheckIn.cancelled_at.is_(None))).one()
    r = hr.post(f"/staff/cases/{case_id}/check-ins/{check_in}/complete",
                {"summary": "We spoke. The counselling offered is months away.", "support_suitable": "no"},
                token=hr.token(f"/staff/cases/{case_id}"))
    assert r.status_code == 303, r.text
    assert ("support_unsuitable", world.id("safeguarding")) in _told(app, case_id)
    assert "Support not suitable" in sg.get("/staff/cases").text

    # A referral left open: closing names it and asks first.
    assert client.post(f"/api/v1/cases/{case_id}/referrals", json={"kind": "occupational_health"},
                       headers=world.headers("assigned_hr")).status_code == 201
    closing = {"outcome": "resolved_informally", "summary": "Support arranged with the station manager."}
    r = hr.post(f"/staff/cases/{case_id}/close", closing, token=hr.token(f"/staff/cases/{case_id}"))
    assert r.status_code == 422 and "Occupational health" in r.text and "still open" in r.text
    assert 'name="summary"' in r.text and "Support arranged with the station manager." in r.text  # kept as typed
    r = hr.post(f"/staff/cases/{case_id}/close", {**closing, "confirm_open_referrals": "yes"},
                token=hr.token(f"/staff/cases/{case_id}"))
    assert r.status_code == 303, r.text
    assert ("closed_by_hr", world.id("safeguarding")) in _told(app, case_id)
    # Closed cases with a referral still open can be listed (page and API).
    listed = sg.get("/staff/cases", params={"status": "closed", "open_referral": "true"}).text
    assert _listed(listed) == [str(case_id)]
    api = client.get("/api/v1/cases", params={"status": "closed", "open_referral": "true"},
                     headers=world.headers("safeguarding")).json()
    assert [c["id"] for c in api["items"]] == [str(case_id)]
    with app.state.sessionmaker() as s:
        assert s.get(Case, case_id).status is Status.CLOSED  # type: ignore[union-attr]


def test_a_recorded_contact_never_drops_a_typed_name_and_theme_words_feed_the_suggester(
    app: Any, world: World, as_: Any, client: Any
) -> None:
    sg = as_("safeguarding")
    form = {"channel": "phone", "received_at": "2026-03-02T10:00", "description": "A caller about the rota.",
            "about": "self", "identity": "anonymous", "name": "Jo Caller", "phone": "07700 900123", "risk": "standard"}
    r = sg.post("/staff/record", form, token=sg.token("/staff/record"))
    assert r.status_code == 422 and "chose to keep the person anonymous" in r.text
    assert 'value="Jo Caller"' in r.text and 'value="07700 900123"' in r.text
    r = sg.post("/staff/record", {**form, "identity": "named"}, token=sg.token("/staff/record"))
    assert r.status_code == 200 and "Contact recorded" in r.text

    # An administrator's new theme, with its words, is suggested for new concerns.
    admin = as_("admin")
    r = admin.post("/staff/themes", {"slug": "racism", "name": "Racism", "words": "racist\nracial slur"},
                   token=admin.token("/staff/themes"))
    assert r.status_code == 303, r.text
    assert client.get("/api/v1/themes").json()[-1]["words"] == ["racist", "racial slur"]
    case_id = world.new_case(assign=False, exclude=False,
                             description="A crew manager keeps making racist jokes about me at the station.")
    suicidal = world.new_case(assign=False, exclude=False,
                              description="He doesn't see the point anymore and I think he might hurt himself.")
    with app.state.sessionmaker() as s:
        def suggested(cid: Any) -> tuple[str, ...]:
            return read_content(s, app.state.keyring, user=None, case=s.get(Case, cid), audited=False).suggested_themes  # type: ignore[arg-type]

        assert "racism" in suggested(case_id)
        assert suggested(suicidal)[:1] == ("mental_health",)
        assert s.get(Case, suicidal).risk is Risk.STANDARD  # type: ignore[union-attr]
