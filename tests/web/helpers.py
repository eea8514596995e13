"""Small helpers shared by the page tests."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import clock, flows
from app.audit.service import Actor
from app.auth import service as auth
from app.cases import intake, thread
from app.cases.models import Case
from app.enums import Outcome, Role, Sender, Status
from app.http.idempotency import new_form_id

DESCRIPTION = "My shift lead keeps making comments about my accent in front of the crew."
RECEIPT_RE = re.compile(r'<p class="receipt"[^>]*>(.+?)</p>')


def csrf(client: TestClient, path: str = "/report") -> str:
    """Visit a page so the browser-like client holds a CSRF cookie, and return the form's token."""
    r = client.get(path)
    m = re.search(r'name="csrf_token" value="([^"]+)"', r.text)
    assert m, "the page has no CSRF field"
    return m.group(1)


def report_form(token: str, **fields: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"csrf_token": token, "description": DESCRIPTION, "identity": "anonymous", "about": "self",
                            "form_id": new_form_id()}  # a fresh form each time, as a page shown anew
    data.update(fields)
    return data


def receipt_in(html: str) -> str | None:
    """The receipt a confirmation page shows (its groups of four, apart by spaces), or None."""
    m = RECEIPT_RE.search(html)
    return re.sub(r"<[^>]+>", "", m.group(1)).strip() if m else None


def submit(client: TestClient, **fields: Any) -> str:
    """Send a valid report through the form and return the receipt from the confirmation page."""
    r = client.post("/report", data=report_form(csrf(client), **fields))
    assert r.status_code == 200, r.text
    receipt = receipt_in(r.text)
    assert receipt
    return receipt


def sign_in(client: TestClient, receipt: str) -> None:
    r = client.post("/follow-up", data={"csrf_token": csrf(client, "/follow-up"), "receipt": receipt}, follow_redirects=False)
    assert r.status_code == 303, r.text


def case_count(db: Session) -> int:
    db.rollback()  # see what other connections committed
    n = int(db.scalar(select(func.count()).select_from(Case)) or 0)
    db.rollback()
    return n


# Arrange through short transactions of their own: on SQLite an open transaction holds the write
# lock (BEGIN IMMEDIATE) and would block the server under test.


def case_id_for(app: Any, receipt: str) -> Any:
    with app.state.sessionmaker() as s:
        case = intake.find_by_receipt(s, app.state.keyring, receipt)
        assert case is not None
        return case.id


def staff_message(app: Any, receipt: str, body: str, *, by_hr_contact: bool = False) -> None:
    """A message from the safeguarding team, or (`by_hr_contact`) from an HR contact assigned first."""
    with app.state.sessionmaker() as s, s.begin():
        case = intake.find_by_receipt(s, app.state.keyring, receipt)
        assert case is not None
        author = None
        if by_hr_contact:
            author = auth.create_user(s, app.state.passwords, email=f"hr-{case.reference.lower()}@example.org",
                                      name="Hana", password="a long passphrase 1", roles=[Role.HR],
                                      by=Actor.system("test"))
            case.hr_contact_id = author.id
        thread.add_message(s, app.state.keyring, case=case, sender=Sender.STAFF, body=body, author=author)
        flows.finish(s)  # the notices of the new accounts join the outbox


def close_case(app: Any, receipt: str, outcome: Outcome = Outcome.SIGNPOSTED) -> None:
    with app.state.sessionmaker() as s, s.begin():
        case = intake.find_by_receipt(s, app.state.keyring, receipt)
        assert case is not None
        case.status, case.closed_at, case.outcome = Status.CLOSED, clock.now(), outcome
