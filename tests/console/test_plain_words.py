"""Every form, staff and reporter, posted empty and with nonsense: what comes back is plain words.

The forms are found from the app's own routes (each POST page that takes form fields), so a form
added later is tried too. A message fails the test when it reads like a validator ("Input should",
"List should", "Value error", "field required") or names a field the way the code does (`due_on`).
"""

from __future__ import annotations

import html
import re
import uuid
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.checkins.models import CheckIn
from tests.cases.conftest import World
from tests.web.helpers import csrf, sign_in, submit

VALIDATOR = re.compile(r"Input should|List should|Value error|[Ff]ield required|validation error|Extra inputs")
SNAKE = re.compile(r"\b[a-z]+_[a-z_]+\b")
MESSAGES = re.compile(r'class="error-message">(.*?)</p>|<li><a href="#[^"]*">(.*?)</a></li>|<p class="lede">(.*?)</p>',
                      re.S)
SKIP = {"/logout", "/follow-up/sign-out", "/staff/account/totp/remove"}  # they end a session or need a code
NONSENSE = "¿nope? 31/02/2026 -5"
PAST = "2001-01-01"  # a date in the past, where a date is asked


def _form_routes(app: Any) -> list[tuple[str, APIRoute]]:
    """(path, route) of every page that takes a form, including those of included routers."""
    out: list[tuple[str, APIRoute]] = []

    def walk(routes: list[Any], prefix: str = "") -> None:
        for r in routes:
            original = getattr(r, "original_router", None)
            if original is not None:
                walk(original.routes, prefix + r.include_context.prefix)
            elif isinstance(r, APIRoute) and "POST" in r.methods and r.dependant.body_params:
                out.append((prefix + r.path, r))

    walk(app.routes)
    return [(p, r) for p, r in out if not p.startswith("/api") and p not in SKIP]


def _messages(text: str) -> list[str]:
    out = []
    for groups in MESSAGES.findall(text):
        for g in groups:
            if g:
                out.append(html.unescape(re.sub(r"<[^>]+>", "", g)).replace("Error:", "").strip())
    return out


def test_every_form_answers_bad_input_in_plain_words(app: Any, world: World, as_: Any, client: Any,
                                                     make_staff: Any, backend: Any) -> None:
    if backend.name != "sqlite":
        pytest.skip("the words are the same on both databases (the services behind the forms are tested on both)")
    case_id = world.new_case()
    api = world.headers("safeguarding")
    referral = client.post(f"/api/v1/cases/{case_id}/referrals", json={"kind": "police"}, headers=api).json()["id"]
    with app.state.sessionmaker() as s:
        check_in = s.scalars(select(CheckIn.id).where(CheckIn.case_id == case_id, CheckIn.cancelled_at.is_(None))).one()
    everyone = make_staff("safeguarding", "hr", "admin", name="Pat Everything")
    staff = TestClient(app, raise_server_exceptions=False)
    staff.cookies.set("ss_staff", everyone.token)
    reporter = TestClient(app, raise_server_exceptions=False)
    sign_in(reporter, submit(reporter))
    values = {"case_id": str(case_id), "check_in_id": str(check_in), "referral_id": referral,
              "user_id": world.id("other_hr"), "slug": "bullying", "attachment_id": str(uuid.uuid4()),
              "session_id": str(uuid.uuid4())}
    tried, problems, tokens = 0, [], {}
    for path, route in _form_routes(app):
        for name in re.findall(r"{(\w+)}", path):
            path = path.replace("{" + name + "}", values.get(name, str(uuid.uuid4())))
        # Signing in with a wrong receipt ends the reporter's session: that form gets a browser of its own.
        browser = (TestClient(app, raise_server_exceptions=False) if path == "/follow-up" else
                   reporter if path.startswith("/follow-up") or path == "/report" else staff)
        page = "/follow-up" if path.startswith("/follow-up") else "/report" if path == "/report" else "/staff/cases"
        fields = [p.alias for p in route.dependant.body_params if p.alias not in ("csrf_token", "form_id", "attachments")]
        token = tokens.get(id(browser)) or tokens.setdefault(id(browser), csrf(browser, page))
        dated = any(f.endswith(("_on", "_at")) for f in fields)
        for filling in ("", NONSENSE, PAST) if dated else ("", NONSENSE):
            form = {"csrf_token": token, **{f: filling for f in fields}}
            r = browser.post(path, data=form, follow_redirects=False)
            tried += 1
            if r.status_code >= 500:
                problems.append((path, filling, r.status_code))
                continue
            for message in _messages(r.text):
                if VALIDATOR.search(message) or SNAKE.search(message):
                    problems.append((path, filling, message))
    assert tried >= 40
    if problems:
        pytest.fail("\n".join(f"{re.sub(r'[0-9a-f-]{36}', 'ID', p)} [{f[:6]!r}]: {m}" for p, f, m in problems))
