"""Leaving in one press, an idle follow-up session, and receipts typed wrong (issue 23), at the
HTTP level. The browser walk is in test_reporter_browser.py."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import clock
from app.cases import intake
from app.cases.models import Case
from app.crypto import receipts
from app.reports import sessions

from .helpers import csrf, sign_in, submit


def _signed_in(client: TestClient) -> str:
    receipt = submit(client)
    sign_in(client, receipt)
    return receipt



@pytest.mark.parametrize("method", ["GET", "POST"])
def test_leave_ends_the_session_clears_the_site_and_goes_to_the_neutral_site(
    client: TestClient, db: Session, method: str
) -> None:
    _signed_in(client)
    token = (client.cookies.get("ss_reporter") or "").rpartition(".")[0]
    r = client.request(method, "/follow-up/leave", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "https://www.bbc.co.uk/weather"
    assert r.headers["clear-site-data"] == '"cache", "storage"'  # not "cookies": other sites on the domain
    dropped = r.headers.get_list("set-cookie")
    assert any(c.startswith('ss_reporter=""') and "Path=/follow-up" in c for c in dropped)
    assert any(c.startswith('ss_csrf=""') for c in dropped)
    assert r.headers["cache-control"] == "no-store"
    assert sessions.case_for_token(db, token) is None  # ended on the server, not just forgotten
    db.rollback()
    page = client.get("/follow-up").text
    assert "Your receipt" in page and "Send a message" not in page and "signed out" not in page


def test_an_idle_follow_up_session_ends_and_keeps_the_half_typed_reply(client: TestClient) -> None:
    start = clock.now()
    with clock.frozen(start):
        _signed_in(client)
    with clock.frozen(start + timedelta(minutes=9)):
        assert "Send a message" in client.get("/follow-up").text  # in use: still signed in
        token = csrf(client, "/follow-up")
    with clock.frozen(start + timedelta(minutes=19, seconds=30)):  # 10 minutes since last used
        r = client.post("/follow-up/messages", data={"csrf_token": token, "body": "He checks my phone at night"})
    assert r.status_code == 401
    assert "your message was not sent" in r.text and "He checks my phone at night</textarea>" in r.text
    with clock.frozen(start + timedelta(minutes=19, seconds=30)):
        r = client.post("/follow-up/feedback", data={"csrf_token": token, "listened_to": "4", "comment": "Kind people"})
    assert r.status_code == 401 and "your feedback was not sent" in r.text and "Kind people</textarea>" in r.text


def test_the_follow_up_page_tells_a_typo_and_a_pasted_reference_apart(client: TestClient, db: Session) -> None:
    receipt = submit(client).replace(" ", "")
    reference = db.scalar(select(Case.reference))
    db.rollback()
    assert receipt[-1] in receipts.ALPHABET and receipts.explain(receipt) is None
    typo = receipt[:5] + ("X" if receipt[5] != "X" else "Y") + receipt[6:]
    swapped = next(receipt[:i] + receipt[i + 1] + receipt[i] + receipt[i + 2:]
                   for i in range(23) if receipt[i] != receipt[i + 1])
    token = csrf(client, "/follow-up")
    said = {}
    for name, typed in [("typo", typo), ("swapped", swapped), ("reference", str(reference)),
                        ("short", receipt[:-1]), ("unknown", receipts.new_receipt())]:
        r = client.post("/follow-up", data={"csrf_token": token, "receipt": typed})
        assert r.status_code == 401 and r.text.count('class="error-message"') == 1, name
        said[name] = r.text
    assert "One character looks wrong: check it against what you wrote down" in said["typo"]
    assert "One character looks wrong" in said["swapped"]
    assert "That is your reference, not your receipt" in said["reference"]
    assert "A receipt has 24 letters and numbers; you typed 23" in said["short"]
    assert "We could not find a concern with that receipt" in said["unknown"]
    # The API says none of this: one 401, the same body whatever was wrong.
    bodies = {client.post("/api/v1/reporter/session", json={"receipt": t}).text
              for t in (typo, str(reference), receipt[:-1], receipts.new_receipt())}
    assert len(bodies) == 1


def test_a_receipt_issued_before_check_characters_still_signs_in(client: TestClient) -> None:
    old = "7K3M-QW2P-9XTR-4HBD-ZC6N-JV8E"  # 24 random characters, from before check characters
    assert not receipts.checks_out(receipts.normalise(old) or "")
    receipt = submit(client)
    app = client.app
    with app.state.sessionmaker() as s, s.begin():  # the case as it was stored before the change
        case = intake.find_by_receipt(s, app.state.keyring, receipt)
        assert case is not None
        case.receipt_lookup = intake.receipt_lookup(app.state.keyring, receipts.normalise(old) or "")
    sign_in(client, old.lower())
    assert "Send a message" in client.get("/follow-up").text


def test_the_check_character_catches_every_single_typo_and_every_swap() -> None:
    normalised = receipts.normalise(receipts.new_receipt()) or ""
    assert len(normalised) == 24 and receipts.checks_out(normalised)
    for i, right in enumerate(normalised):
        for wrong in receipts.ALPHABET.replace(right, ""):
            assert not receipts.checks_out(normalised[:i] + wrong + normalised[i + 1:])
        for j in range(i + 1, 24):
            if normalised[j] != right:
                swapped = list(normalised)
                swapped[i], swapped[j] = swapped[j], swapped[i]
                assert not receipts.checks_out("".join(swapped))
