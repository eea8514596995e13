"""Focus is never hidden on the staff pages (WCAG 2.2 SC 2.4.11): at 390 px, Tab through every
console page, and fail when the focused control lies under a fixed or sticky element."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery staple"
MOST_STOPS = 200

# Where the focused element is, and the boxes of every fixed or sticky element but its own ancestors.
COVERED = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const r = el.getBoundingClientRect();
  if (r.width === 0 && r.height === 0) return null;
  const hits = [];
  for (const other of document.querySelectorAll('body *')) {
    const pos = getComputedStyle(other).position;
    if (pos !== 'fixed' && pos !== 'sticky') continue;
    if (other.contains(el)) continue;
    const o = other.getBoundingClientRect();
    const w = Math.min(r.right, o.right) - Math.max(r.left, o.left);
    const h = Math.min(r.bottom, o.bottom) - Math.max(r.top, o.top);
    if (w > 0 && h > 0) hits.push(other.className || other.tagName);
  }
  const again = el.dataset.focusSeen === '1';
  el.dataset.focusSeen = '1';
  return {what: el.outerHTML.slice(0, 80), hits: hits, again: again};
}"""


def test_tabbing_through_every_staff_page_at_390px_never_hides_the_focus(
    chromium: Browser, live_server: str, make_staff: Any, client: Any, backend: Any
) -> None:
    if backend.name != "sqlite":
        pytest.skip("the pages and their layout are the same on both databases")
    boss = make_staff("safeguarding", "admin", name="Sam Everything")
    r = client.post("/api/v1/reports", json={"description": "I am scared to go home tonight: he has a knife."})
    assert r.status_code == 201, r.text
    case_id = client.get("/api/v1/cases", headers=boss.headers).json()["items"][0]["id"]
    ctx = chromium.new_context(base_url=live_server, viewport={"width": 390, "height": 800})
    ctx.set_default_timeout(10_000)
    page = ctx.new_page()
    try:
        page.goto("/login")
        page.get_by_label("E-mail address").fill(boss.email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/staff/cases")
        hidden, stops = [], 0
        for path in ("/staff/cases", f"/staff/cases/{case_id}", "/staff/check-ins", "/staff/record", "/staff/users",
                     "/staff/themes", "/staff/locations", "/staff/account", "/dashboard"):
            page.goto(path)
            for _ in range(MOST_STOPS):
                page.keyboard.press("Tab")
                found = page.evaluate(COVERED)
                if found is None:
                    continue
                if found["again"]:  # round again to the first stop: the page is done
                    break
                stops += 1
                if found["hits"]:
                    hidden.append((path, found["what"], found["hits"]))
        assert stops > 100
        assert not hidden, hidden
    finally:
        ctx.close()
