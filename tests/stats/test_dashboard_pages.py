"""Staff sign-in, sign-out and the dashboard, over HTTP (the browser test drives the same pages)."""

from __future__ import annotations

import csv
import io

from tests.stats.pages import csrf_from, sign_in


def test_dashboard_without_signing_in_redirects_to_login(client):
    r = client.get("/dashboard", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"


def test_sign_in_sets_an_httponly_strict_cookie_and_opens_the_dashboard(client, make_staff, hand_made):
    staff = make_staff("leadership")
    r = sign_in(client, staff.email, staff.password)
    assert r.status_code == 303 and r.headers["location"] == "/dashboard"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("ss_staff=sst_") and "HttpOnly" in cookie and "SameSite=strict" in cookie
    page = client.get("/dashboard")
    assert page.status_code == 200
    assert 'id="chart-totals"' in page.text and 'id="chart-themes"' in page.text
    # it opens on since launch, then this financial year by quarter, with one line saying why
    assert 'id="fy-table"' in page.text and 'id="withheld-why"' in page.text
    assert client.get("/dashboard", params={"bucket": "month"}).text.count('class="bar"') >= 5


def test_dashboard_has_no_inline_style_or_script(client, make_staff, hand_made):
    staff = make_staff("leadership")
    sign_in(client, staff.email, staff.password)
    html = client.get("/dashboard").text
    assert "style=" not in html and "<style" not in html and "<script" not in html


def test_dashboard_shows_withheld_numbers_as_withheld(client, make_staff, hand_made):
    staff = make_staff("safeguarding")
    sign_in(client, staff.email, staff.password)
    html = client.get("/dashboard", params={"bucket": "all"}).text
    assert "withheld" in html
    assert 'id="summary-contacts">50<' in html


def test_wrong_password_shows_the_form_again_without_a_cookie(client, make_staff):
    staff = make_staff("leadership")
    r = sign_in(client, staff.email, "not the password")
    assert r.status_code == 401
    assert "The e-mail address or password is not right." in r.text
    assert "ss_staff" not in r.headers.get("set-cookie", "")


def test_sign_in_without_the_csrf_token_is_refused(client, make_staff):
    staff = make_staff("leadership")
    client.get("/login")
    r = client.post("/login", data={"email": staff.email, "password": staff.password}, follow_redirects=False)
    assert r.status_code == 400
    assert "ss_staff" not in r.headers.get("set-cookie", "")


def test_hr_gets_a_403_page(client, make_staff):
    staff = make_staff("hr")
    sign_in(client, staff.email, staff.password)
    r = client.get("/dashboard")
    assert r.status_code == 403
    assert "Not available to you" in r.text
    assert client.get("/dashboard/themes.csv").status_code == 403


def test_bad_period_shows_a_message_and_the_whole_period(client, make_staff, hand_made):
    staff = make_staff("leadership")
    sign_in(client, staff.email, staff.password)
    r = client.get("/dashboard", params={"from": "2024-13", "to": "2024-02"})
    assert r.status_code == 422
    assert "from must be a month written YYYY-MM" in r.text
    assert 'id="summary-contacts">50<' in r.text


def test_csv_download_uses_the_signed_in_session(client, make_staff, hand_made):
    staff = make_staff("leadership")
    sign_in(client, staff.email, staff.password)
    page = client.get("/dashboard", params={"from": "2024-01", "to": "2024-03", "bucket": "quarter"}).text
    assert 'href="/dashboard/themes.csv?from=2024-01&amp;to=2024-03&amp;bucket=quarter"' in page
    r = client.get("/dashboard/themes.csv", params={"from": "2024-01", "to": "2024-03", "bucket": "quarter"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert list(csv.reader(io.StringIO(r.text)))[0] == ["theme", "name", "2024-Q1", "total"]


def test_the_cookie_is_not_accepted_by_the_json_api(client, make_staff):
    staff = make_staff("leadership")
    sign_in(client, staff.email, staff.password)
    assert client.get("/api/v1/stats/themes").status_code == 401


def test_sign_out_ends_the_session(client, make_staff):
    staff = make_staff("leadership")
    sign_in(client, staff.email, staff.password)
    token = client.cookies.get("ss_staff")
    page = client.get("/dashboard")
    r = client.post("/logout", data={"csrf_token": csrf_from(page.text)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert client.get("/dashboard", follow_redirects=False).status_code == 303
    assert client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_dashboard_groups_long_ranges_by_quarter_unless_asked(client, make_staff, db):
    from tests.stats.factory import add_cases

    add_cases(db, {("bullying", "2023-01"): 3, ("bullying", "2024-06"): 4})
    staff = make_staff("leadership")
    sign_in(client, staff.email, staff.password)
    assert '<option value="all" selected>' in client.get("/dashboard").text  # opens on since launch
    assert '<option value="quarter" selected>' in client.get("/dashboard", params={"from": "2023-01", "to": "2024-06"}).text
    assert '<option value="month" selected>' in client.get("/dashboard", params={"bucket": "month"}).text
    assert '<option value="month" selected>' in client.get("/dashboard", params={"from": "2024-01", "to": "2024-06"}).text


def _section(html: str, anchor: str) -> str:
    start = html.index(f'id="{anchor}"')
    end = html.find("<h2", start)
    return html[start:end if end != -1 else len(html)]


def test_dashboard_shows_referrals_and_equality_under_the_same_suppression(client, make_staff, hand_made, db):
    from datetime import UTC, date, datetime

    from sqlalchemy import select

    from app.cases.models import Case, Referral
    from app.enums import ReferralKind
    from app.equality.models import EqualityBaseline
    from tests.equality.factory import add_respondents, many

    cases = db.scalars(select(Case).where(Case.received_month == "2024-02").limit(4)).all()
    for case in cases[:3]:
        db.add(Referral(case_id=case.id, kind=ReferralKind.FORMAL_INVESTIGATION, due_on=date(2024, 3, 19),
                        completed_on=date(2024, 3, 1), created_at=datetime(2024, 2, 20, tzinfo=UTC)))
    db.add(Referral(case_id=cases[3].id, kind=ReferralKind.POLICE, due_on=date(2024, 2, 21),
                    created_at=datetime(2024, 2, 20, tzinfo=UTC)))
    db.add(EqualityBaseline(characteristic="disability", value="no", share=0.8))
    db.commit()
    add_respondents(db, "2024-02", [*many(4, sex="female", disability="no"), *many(4, sex="male", disability="no")])

    sign_in(client, (lead := make_staff("leadership")).email, lead.password)
    html = client.get("/dashboard", params={"bucket": "all"}).text
    referrals = _section(html, "referrals")
    assert "Formal investigation" in referrals and "Police" in referrals
    assert "withheld" in referrals  # one police referral is never shown as 1
    assert ">1<" not in referrals
    equality = _section(html, "equality")
    assert "Disability" in equality and "Female" in equality
    # all eight answered "no" to disability: a small group in one category is never shown (rule 3)
    assert '<td class="num">8</td>' not in equality and "1.25" not in equality
    assert "80%" in equality  # the workforce's share is still shown
    assert '<td class="num">4</td>' in equality  # four women and four men
    assert "No answers in this period: Age," in equality  # a question nobody answered takes one line


def test_dashboard_shows_contacts_by_location(client, make_staff, db):
    from app.enums import LocationKind
    from app.locations.models import Location
    from tests.stats.factory import add_case

    db.add(Location(slug="north", name="North station", kind=LocationKind.STATION, headcount=120, position=1))
    db.flush()
    for slug in ["north"] * 5 + [None] * 3:
        add_case(db, month="2024-01").location = slug
    db.commit()
    sign_in(client, (lead := make_staff("leadership")).email, lead.password)
    locations = _section(client.get("/dashboard", params={"bucket": "all"}).text, "locations")
    assert "North station" in locations and '<td class="num">5</td>' in locations
    assert "No place given" in locations and '<td class="num">3</td>' in locations
