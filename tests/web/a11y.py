"""Accessibility checks the browser tests share: axe-core (the script axe-playwright-python ships,
run in the page as it is) and "focus is never hidden under the sticky quick-exit bar"."""

from __future__ import annotations

import json
from typing import Any

from axe_playwright_python.base import AXE_SCRIPT
from playwright.sync_api import Page

# GOV.UK's conditional reveal puts aria-expanded on a radio: screen readers announce it, though
# ARIA 1.2 lists it only for other roles (w3c/aria#1404, govuk-frontend#979). reveal.js does the
# same, so with JavaScript on, axe is told that one attribute is allowed on a radio; nothing else
# is relaxed (docs/reporters.md).
ALLOW_EXPANDED_RADIO = """
axe.configure({standards: {ariaRoles: {radio: {allowedAttrs:
  ['aria-posinset', 'aria-setsize', 'aria-required', 'aria-expanded']}}}});
"""


def axe_violations(page: Page, scratch: Page) -> list[str]:
    """axe-core's violations on `page` as it is now, one line each (rule, impact, first targets).

    axe runs asynchronously, which a page with JavaScript switched off cannot do: the page's DOM
    is copied into `scratch` (a JavaScript-enabled page of the same site, so the stylesheet and
    the site's own scripts load as a reporter with JavaScript would have them) and checked there.
    """
    origin = "/".join(page.url.split("/")[:3])
    if not scratch.url.startswith(origin):
        scratch.goto(origin + "/")
    scratch.set_viewport_size(page.viewport_size or {"width": 1280, "height": 900})
    scratch.set_content(page.content())
    scratch.evaluate(AXE_SCRIPT)
    scratch.evaluate(ALLOW_EXPANDED_RADIO)
    result: dict[str, Any] = scratch.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {json.dumps([n['target'] for n in v['nodes'][:3]])}"
        for v in result["violations"]
    ]


# The focused element's box against every fixed or sticky element that is not its own ancestor:
# where they overlap, whichever is drawn on top.
_HIDDEN_BY = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const r = el.getBoundingClientRect();
  if (r.width === 0 && r.height === 0) return null;
  for (const other of document.querySelectorAll('body *')) {
    const pos = getComputedStyle(other).position;
    if ((pos !== 'fixed' && pos !== 'sticky') || other.contains(el)) continue;
    const o = other.getBoundingClientRect();
    const left = Math.max(r.left, o.left), right = Math.min(r.right, o.right);
    const top = Math.max(r.top, o.top), bottom = Math.min(r.bottom, o.bottom);
    if (left >= right || top >= bottom) continue;
    // Overlapping boxes: hidden if what is drawn there belongs to the fixed or sticky element.
    const drawn = document.elementFromPoint((left + right) / 2, (top + bottom) / 2);
    if (drawn && other.contains(drawn) && !el.contains(drawn)) {
      return (el.id || el.tagName) + ' under ' + (other.className || other.tagName) +
             ' at y=' + Math.round(r.top) + '..' + Math.round(r.bottom) +
             ' (bar ' + Math.round(o.top) + '..' + Math.round(o.bottom) + ')';
    }
  }
  return null;
}"""


def focus_hidden_while_tabbing(page: Page, *, limit: int = 80) -> list[str]:
    """Tab forward through the page, then back, noting each stop the keyboard user cannot see
    because a fixed or sticky element covers it."""
    hidden: list[str] = []
    page.evaluate("window.scrollTo(0, 0)")
    for key in ("Tab", "Shift+Tab"):
        seen = 0
        while seen < limit:
            page.keyboard.press(key)
            seen += 1
            if page.evaluate("document.activeElement === document.body || document.activeElement === null"):
                break
            problem = page.evaluate(_HIDDEN_BY)
            if problem:
                hidden.append(f"{key}: {problem}")
    return hidden
