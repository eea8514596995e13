"""Every form of every page, posted with NUL and another control character in each field in
turn (issue 21): the form's own page answers (a 4xx or a redirect), never a 500, on both
databases. The API's fuzzing is tests/availability/test_fuzz.py; this is its twin for forms."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from typing import Any

from tests.cases.conftest import World

BAD = "a\x00\x1b"
# Forms that end the browser's session or sign it out would stop the walk; they take no text.
SKIPPED = ("/logout", "/staff/account/sessions")
AS_A_BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


class Forms(HTMLParser):
    """The forms of a page: (method, action, [(field, default value)])."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, str, list[tuple[str, str]]]] = []
        self._current: list[tuple[str, str]] | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._current = []
            self.forms.append((a.get("method", "get").lower(), html.unescape(a.get("action", "")), self._current))
        elif self._current is not None and "name" in a:
            if tag == "input" and a.get("type") not in ("submit", "button", "file"):
                # Every other field filled in as a person would, so the bad one reaches the work behind the form.
                typed = {"email": "someone@example.org", "password": "a long enough passphrase"}.get(a.get("type", ""),
                                                                                                  "Some words")
                self._current.append((a["name"], a.get("value") or typed))
            elif tag == "textarea":
                self._current.append((a["name"], "Some words."))
            elif tag == "select":
                self._select = a["name"]
                self._current.append((a["name"], ""))
        if tag == "option" and self._select is not None and self._current is not None and a.get("value"):
            name, value = self._current[-1]
            if not value:
                self._current[-1] = (name, a["value"])

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None
        elif tag == "select":
            self._select = None


def _forms(page: str) -> list[tuple[str, str, list[tuple[str, str]]]]:
    parser = Forms()
    parser.feed(page)
    return [f for f in parser.forms if f[1] and not _target(f[1]).startswith(SKIPPED)]


def _target(action: str) -> str:
    """The route a form posts to (a console form posts at its page's address, `?form=<route>`)."""
    return action.partition("?form=")[2] or action


def test_no_form_answers_500_to_control_characters(app: Any, world: World, as_: Any) -> None:
    case_id = world.new_case()
    walks = {
        "none": ["/login", "/report", "/follow-up"],
        "safeguarding": ["/staff/cases", f"/staff/cases/{case_id}", "/staff/record", "/staff/check-ins",
                         "/staff/approvals", "/dashboard", "/staff/account"],
        "admin": ["/staff/users", "/staff/themes", "/staff/locations"],
    }
    posted, failures, seen = 0, [], set()
    for who, pages in walks.items():
        me = as_(who)
        for page in pages:
            for method, action, fields in _forms(me.client.get(page).text):
                shape = (who, method, re.sub(r"[0-9a-f-]{36}", "{id}", action), tuple(n for n, _ in fields))
                if shape in seen:
                    continue  # the same form for another check-in, referral or account
                seen.add(shape)
                for name, _value in fields:
                    if name == "csrf_token":
                        continue
                    data = {n: v for n, v in fields} | {name: BAD}
                    if method == "post":
                        r = me.client.post(action, data=data, headers=AS_A_BROWSER, follow_redirects=False)
                    else:
                        r = me.client.get(action, params=data, headers=AS_A_BROWSER, follow_redirects=False)
                    posted += 1
                    if r.status_code >= 500 or "text/html" not in r.headers.get("content-type", "text/html"):
                        failures.append(f"{who} {method.upper()} {action} [{name}] -> {r.status_code}")
    assert posted > 60
    assert failures == [], "\n".join(failures)
