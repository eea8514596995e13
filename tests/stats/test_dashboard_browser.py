"""The dashboard in headless Debian Chromium against a real uvicorn server on the test's database."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tests.stats.png import pixels

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
TEAL = (0x0B, 0x5C, 0x55)


@pytest.mark.browser
def test_leadership_signs_in_and_sees_the_charts(live_server, chromium, make_staff, hand_made, backend):
    staff = make_staff("leadership")
    page = chromium.new_page(viewport={"width": 1200, "height": 900})
    errors: list[str] = []
    # CSP violations are console errors; failed loads are checked by URL (the favicon is allowed to 404).
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" and not m.text.startswith("Failed to load") else None)
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)
    page.goto(live_server + "/dashboard")
    assert page.url.endswith("/login")
    page.fill("#email", staff.email)
    page.fill("#password", staff.password)
    page.click("button[type=submit]")
    page.wait_for_url(live_server + "/dashboard")
    page.select_option("#bucket", "month")
    page.get_by_role("button", name="Show", exact=True).click()
    page.wait_for_load_state()

    for chart in ("#chart-totals", "#chart-themes"):
        box = page.locator(chart).bounding_box()
        assert box is not None and box["width"] > 300 and box["height"] > 100, chart
    assert page.locator("#chart-totals rect.bar").count() == 3
    assert page.locator("#chart-themes rect.withheld").count() > 0
    assert errors == [], errors

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"dashboard-{backend.name}.png"), full_page=True)
    shot = page.locator("#chart-totals").screenshot(path=str(ARTIFACTS / f"dashboard-totals-{backend.name}.png"))
    width, height, grid = pixels(shot)
    colours = Counter(px for row in grid for px in row)
    background, _ = colours.most_common(1)[0]
    assert background == (255, 255, 255)
    teal = sum(n for px, n in colours.items() if all(abs(a - b) <= 12 for a, b in zip(px, TEAL, strict=False)))
    assert teal > 0.05 * width * height, "the bars are not drawn"

    page.locator("text=Download the table (CSV)").wait_for()
    with page.expect_download() as info:
        page.click("text=Download the table (CSV)")
    assert info.value.suggested_filename.endswith(".csv")


@pytest.mark.browser
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # about the page's layout, not the database
def test_chart_labels_stay_legible_on_a_phone(live_server, chromium, make_staff, hand_made, backend):
    staff = make_staff("leadership")
    page = chromium.new_page(viewport={"width": 390, "height": 844}, java_script_enabled=False)
    page.goto(live_server + "/login")
    page.fill("#email", staff.email)
    page.fill("#password", staff.password)
    page.click("button[type=submit]")
    page.wait_for_url(live_server + "/dashboard")
    for chart in ("#chart-totals", "#chart-themes"):
        label = page.locator(f"{chart} text[font-size='11']").first
        box = label.bounding_box()
        # An 11-unit label drawn at least 10.5 px tall: the chart keeps its drawn width and the
        # box around it scrolls sideways, instead of shrinking the text to ~5 px.
        assert box is not None and box["height"] >= 10.5, (chart, box)
    # Nothing but the charts' own scrolling boxes is wider than the screen.
    wide = page.evaluate("""[...document.querySelectorAll("main *")]
        .filter(e => e.getBoundingClientRect().right > 392 && !e.parentElement.closest(".scroll-x"))
        .map(e => e.tagName + (e.id ? "#" + e.id : ""))""")
    assert wide == [], wide
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"dashboard-390-{backend.name}.png"), full_page=True)
    page.close()


@pytest.mark.browser
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # about the page's layout, not the database
def test_locations_referrals_and_equality_read_on_a_desk_and_a_phone(live_server, chromium, make_staff, hand_made,
                                                                      backend, db):
    from datetime import UTC, date, datetime

    from sqlalchemy import select

    from app.cases.models import Case, Referral
    from app.enums import LocationKind, ReferralKind
    from app.equality.models import EqualityBaseline
    from app.locations.models import Location
    from tests.equality.factory import add_respondents, many

    db.add_all([Location(slug="north", name="North station", kind=LocationKind.STATION, headcount=120, position=1),
                Location(slug="control", name="Control room", kind=LocationKind.TEAM, headcount=40, position=2)])
    db.flush()
    cases = db.scalars(select(Case).where(Case.received_month == "2024-02")).all()
    for i, case in enumerate(cases):
        case.location = ("north", "control", None)[i % 3]
    for case in cases[:4]:
        db.add(Referral(case_id=case.id, kind=ReferralKind.FORMAL_INVESTIGATION, due_on=date(2024, 3, 19),
                        created_at=datetime(2024, 2, 20, tzinfo=UTC)))
    db.add(EqualityBaseline(characteristic="sex", value="female", share=0.2))
    db.commit()
    add_respondents(db, "2024-02", [*many(6, sex="female", age_band="25-34"), *many(5, sex="male", age_band="35-44")])

    staff = make_staff("leadership")
    page = chromium.new_page(viewport={"width": 1280, "height": 900}, java_script_enabled=False)
    page.goto(live_server + "/login")
    page.fill("#email", staff.email)
    page.fill("#password", staff.password)
    page.click("button[type=submit]")
    page.wait_for_url(live_server + "/dashboard")
    for heading in ("By location", "Referrals", "Equality monitoring"):
        assert page.get_by_role("heading", name=heading).is_visible()
    assert page.get_by_role("rowheader", name="North station station").is_visible()
    assert page.locator("#equality caption, caption", has_text="Sex").first.is_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        wide = page.evaluate(f"""[...document.querySelectorAll("main *")]
            .filter(e => e.getBoundingClientRect().right > {width + 2} && !e.parentElement.closest(".scroll-x"))
            .map(e => e.tagName + (e.id ? "#" + e.id : ""))""")
        assert wide == [], (width, wide)
        page.screenshot(path=str(ARTIFACTS / f"dashboard-insight-{width}.png"), full_page=True)
        top = page.locator("#locations").bounding_box()
        assert top is not None
        y = top["y"] + page.evaluate("window.scrollY")
        page.screenshot(path=str(ARTIFACTS / f"dashboard-insight-{width}-new-sections.png"), full_page=True,
                        clip={"x": 0, "y": y - 10, "width": width, "height": 1800})
    page.close()
