"""One form, one case: the report form's hidden id is an Idempotency-Key (the API's own machinery),
so a form sent again, at once or later, shows the first answer instead of opening a second case."""

from __future__ import annotations

import re
import threading
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app import clock
from app.cases.intake import find_by_receipt
from app.reports import idempotency
from app.web.pages import FormErrors
from app.web.reporter.forms import ReportForm

from .helpers import DESCRIPTION, RECEIPT_RE, case_count, receipt_in, report_form


def _form(client: TestClient) -> dict[str, Any]:
    """A freshly shown report form, filled in: its token and its id."""
    html = client.get("/report").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', html)
    form_id = re.search(r'name="form_id" value="([^"]+)"', html)
    assert token and form_id
    return {**report_form(token.group(1)), "form_id": form_id.group(1)}


def _receipt(html: str) -> str:
    receipt = receipt_in(html)
    assert receipt, html
    return receipt


def test_the_same_form_sent_twice_opens_one_case_and_shows_the_same_receipt(client: TestClient, db: Session) -> None:
    data = _form(client)
    first = client.post("/report", data=data)
    again = client.post("/report", data=data)
    assert first.status_code == again.status_code == 200
    assert _receipt(again.text) == _receipt(first.text)
    assert "This form had already been sent, so it was not sent a second time" in again.text
    assert case_count(db) == 1


def test_a_form_without_its_id_is_shown_back_unsent(client: TestClient, db: Session) -> None:
    """A page from before the id existed, or a mangled id: nothing is sent (it could not be told
    apart from a second send), and the words come back with a fresh id to send them with."""
    for bad in ("", "too-short"):
        data = {**_form(client), "form_id": bad}
        shown = client.post("/report", data=data)
        assert shown.status_code == 403 and "nothing was sent" in shown.text and DESCRIPTION in shown.text
        fresh = re.search(r'name="form_id" value="([^"]+)"', shown.text)
        assert fresh and len(fresh.group(1)) == 43
    assert case_count(db) == 0
    assert _receipt(client.post("/report", data={**data, "form_id": fresh.group(1)}).text)
    assert case_count(db) == 1


def test_two_forms_make_two_cases(client: TestClient, db: Session) -> None:
    assert _receipt(client.post("/report", data=_form(client)).text) != _receipt(client.post("/report", data=_form(client)).text)
    assert case_count(db) == 2


def test_the_same_form_sent_twice_at_once_opens_one_case(client: TestClient, db: Session) -> None:
    data = _form(client)
    start = threading.Barrier(2)
    answers: list[str] = []

    def send() -> None:
        start.wait()
        answers.append(client.post("/report", data=data).text)

    threads = [threading.Thread(target=send) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(answers) == 2 and _receipt(answers[0]) == _receipt(answers[1])
    assert case_count(db) == 1


def test_a_second_send_while_the_first_is_still_running_waits_for_its_receipt(client: TestClient, app: Any, db: Session) -> None:
    data = _form(client)
    ring, makers = app.state.keyring, app.state.sessionmaker
    key = idempotency.IdempotencyKey.derive(ring, "report-form:" + data["form_id"])
    report = ReportForm(DESCRIPTION, "anonymous", "", "", "", "self", [], []).validate(FormErrors())
    assert report is not None
    # The first request holds the key...
    assert idempotency.claim(makers, key, fingerprint=key.fingerprint(report)) is None
    answers: list[str] = []
    second = threading.Thread(target=lambda: answers.append(client.post("/report", data=data).text))
    second.start()
    second.join(timeout=0.5)
    assert second.is_alive()  # ...so the second one waits, rather than answering "already sent"
    first_answer = {"reference": "SS-AAAA-BBBB", "receipt": "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF",
                    "status": "received", "created_at": clock.rfc3339(clock.now())}
    with makers() as s, s.begin():
        from app.cases.intake import create_case
        from app.enums import Channel

        case = create_case(s, ring, app.state.settings, data=report, channel=Channel.WEB)
        idempotency.complete(s, key, case_id=case.id, response=first_answer)
    second.join(timeout=30)
    assert answers and _receipt(answers[0]) == "AAAA BBBB CCCC DDDD EEEE FFFF"
    assert case_count(db) == 1


def test_a_form_changed_and_sent_again_keeps_the_first_and_hands_back_the_change(client: TestClient, db: Session) -> None:
    data = _form(client)
    first = _receipt(client.post("/report", data=data).text)
    r = client.post("/report", data={**data, "description": DESCRIPTION + " He did it again today."})
    assert r.status_code == 200
    assert _receipt(r.text) == first
    assert "What you changed was not sent" in r.text
    assert 'readonly rows="6">' + DESCRIPTION + " He did it again today.</textarea>" in r.text
    assert case_count(db) == 1


def test_after_fifteen_minutes_a_re_sent_form_shows_no_receipt(client: TestClient, db: Session) -> None:
    data = _form(client)
    first = client.post("/report", data=data)
    reference = re.search(r"<strong>(SS-[0-9A-Z-]+)</strong>", first.text)
    assert reference
    clock.set_frozen(clock.now() + timedelta(minutes=15, seconds=1))
    later = client.post("/report", data=data)
    assert later.status_code == 200
    assert "This concern was sent earlier" in later.text and reference.group(1) in later.text
    assert _receipt(first.text) not in later.text and RECEIPT_RE.search(later.text) is None
    assert case_count(db) == 1


def test_a_form_sent_with_mistakes_can_be_corrected_and_sent_with_the_same_id(client: TestClient, app: Any, db: Session) -> None:
    data = _form(client)
    assert client.post("/report", data={**data, "description": ""}).status_code == 422
    receipt = _receipt(client.post("/report", data=data).text)
    with app.state.sessionmaker() as s:
        assert find_by_receipt(s, app.state.keyring, receipt) is not None
    assert case_count(db) == 1
