"""`safeshare report --year YYYY --format text|csv|html`: the annual report, every figure published."""

from __future__ import annotations

import csv
import io
import re
from html.parser import HTMLParser
from typing import Any

import pytest
from typer.testing import CliRunner

from app.cli import cli
from app.stats import annual
from app.stats import service as stats
from app.stats.schemas import Bucket
from tests.equality.factory import add_respondents, many
from tests.stats.factory import add_feedback


def run(db_url: str, *args: str, min_cell: str = "3") -> Any:
    env = {"SAFESHARE_DATABASE_URL": db_url, "SAFESHARE_MIN_CELL": min_cell, "SAFESHARE_LOG_LEVEL": "WARNING"}
    return CliRunner().invoke(cli, ["report", *args], env=env)


@pytest.fixture
def year(db: Any, hand_made: None) -> None:
    """The hand-made cases of 2024-01..03, ten closing surveys in March, and equality answers: in January one man
    among five women (withheld, and the women with him), in February four and four."""
    from datetime import UTC, datetime

    from sqlalchemy import select

    from app import clock
    from app.cases.models import Case

    # Ten closing surveys in March 2024: a whole quarter's pool of ten, so the means are published.
    clock.set_frozen(datetime(2024, 3, 20, 12, tzinfo=UTC))
    try:
        for case in db.scalars(select(Case).where(Case.received_month >= "2024-02").limit(10)).all():
            add_feedback(db, case, (4, 3, 5, 4))
        db.commit()
    finally:
        clock.set_frozen(None)
    add_respondents(db, "2024-01", [*many(5, sex="female"), *many(1, sex="male")])
    add_respondents(db, "2024-02", [*many(4, sex="female", disability="no"), *many(4, sex="male", disability="no")])
    from app.equality.models import EqualityBaseline

    db.add(EqualityBaseline(characteristic="disability", value="no", share=0.8))
    db.commit()


class Page(HTMLParser):
    """The report's tables (caption -> rows of cell texts), cell classes, SVG charts and their bar titles."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.withheld_cells: list[str] = []
        self.svgs = 0
        self.titles: list[str] = []
        self.scripts = 0
        self._text: list[str] | None = None
        self._caption: str | None = None
        self._row: list[str] | None = None
        self._in_svg_title = False
        self._in_svg = False
        self._cell_class: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "script":
            self.scripts += 1
        if tag == "svg":
            self.svgs += 1
            self._in_svg = True
        if tag == "title" and self._in_svg:
            self._in_svg_title, self._text = True, []
        if tag in ("caption", "th", "td"):
            self._text = []
            self._cell_class = a.get("class")
        if tag == "tr":
            self._row = []

    def handle_data(self, data: str) -> None:
        if self._text is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        text = "".join(self._text or []).strip()
        if tag == "svg":
            self._in_svg = False
        if tag == "title" and self._in_svg_title:
            self.titles.append(text)
            self._in_svg_title, self._text = False, None
        if tag == "caption":
            self._caption = text
            self.tables[text] = []
            self._text = None
        if tag in ("th", "td") and self._row is not None:
            self._row.append(text)
            if self._cell_class == "withheld":
                self.withheld_cells.append(text)
            self._text = None
        if tag == "tr" and self._row is not None and self._caption is not None:
            self.tables[self._caption].append(self._row)
            self._row = None


def test_the_text_report_has_every_section_and_withholds_what_the_statistics_withhold(db_url, year) -> None:
    result = run(db_url, "--year", "2024")
    assert result.exit_code == 0, result.output
    out = result.output
    assert out.startswith("Safe Share annual report 2024\n")
    for title in ("Contacts", "Themes", "Channels", "Out of hours", "Time to acknowledge", "Satisfaction",
                  "Equality monitoring"):
        assert f"\n{title}\n{'-' * len(title)}\n" in out
    lines = out.splitlines()

    def line(label: str) -> str:
        (found,) = [x for x in lines if x.startswith(label + " ")]
        return found

    assert line("Contacts received").endswith(" 50")
    assert [x for x in lines if x.startswith("Contacts ")][0].endswith(" 50")  # "At a glance" leads
    assert out.index("At a glance") < out.index("Contacts received")
    assert line("Domestic abuse").split()[-2:] == ["7", "14.0%"]  # since launch is a published grid period
    assert line("Gambling").split()[-2:] == ["withheld*", "withheld*"]  # 3, hidden beside the 1 untriaged
    assert line("Concerns about a line manager").split()[-2:] == ["15", "30.0%"]
    assert line("Felt listened to").endswith(" 4.00")
    # January was published on its own (since launch, when it was the last settled month) with its
    # one man and the unanswered hidden; held fixed, they stay hidden in January to February, so
    # the women's 9 shows but not their share, nor the men's 5 (5 - 1 would give February away).
    assert line("Female").split()[1:3] == ["9", "withheld*"]
    assert line("Male").split()[1] == "withheld*"
    assert out.index("\nSex\n") < out.index("\nFemale ") < out.index("\nSexual orientation\n")
    assert line("Christian").split()[1:3] == ["0", "-"]  # nobody answered: no share, nothing withheld
    assert "* Withheld: fewer than 3 contacts" in out


def test_the_csv_report_gives_the_published_figures_and_leaves_withheld_ones_empty(db_url, year, db) -> None:
    result = run(db_url, "--year", "2024", "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    kinds = ("count", "share", "ratio", "mean", "days", "text")
    assert list(rows[0]) == ["section", "table", "row", "column", *kinds, "withheld"]
    by = {(r["section"], r["row"], r["column"]): "".join(r[k] for k in kinds) for r in rows}
    published = stats.theme_table(db, min_cell=3, from_month="2024-01", to_month="2024-12", bucket=Bucket.ALL)
    for theme_row in published.rows:
        expected = "" if theme_row.total is None else str(theme_row.total)
        assert by[("themes", theme_row.name, "Number")] == expected
    assert by[("themes", "Domestic abuse", "Number")] == "7"
    assert by[("themes", "Gambling", "Number")] == ""
    assert by[("contacts", "Contacts received", "Number or share")] == "50"
    assert by[("equality", "Female", "Number")] == "9" and by[("equality", "Male", "Number")] == ""
    # One kind of value per column: counts are whole numbers, shares fractions, text is text.
    for r in rows:
        filled = [k for k in kinds if r[k] != ""]
        assert len(filled) == (0 if r["withheld"] == "yes" else 1), r
        assert re.fullmatch(r"[0-9]*", r["count"]), r
        assert r["share"] == "" or 0 <= float(r["share"]) <= 1, r
        assert re.fullmatch(r"|-|none|[0-9.]+ to [0-9.]+", r["text"]), r
    anonymous = next(r for r in rows if r["row"] == "Made anonymously")
    assert anonymous["count"] == "" and anonymous["share"] != ""


def test_the_csv_report_never_lets_a_name_run_as_a_formula(db_url, year, db) -> None:
    """Issue 21: the one CSV writer neutralises cells starting with = + - @ tab or CR."""
    from sqlalchemy import update

    from app.themes.models import Theme

    db.execute(update(Theme).where(Theme.slug == "line_manager").values(name="=HYPERLINK(\"http://x\")"))
    db.commit()
    result = run(db_url, "--year", "2024", "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert any(r["row"] == "'=HYPERLINK(\"http://x\")" for r in rows)
    assert not any(v.startswith(("=", "+", "@", "\t", "\r")) for r in rows for v in r.values())


def test_the_html_report_has_tables_and_svg_charts_and_no_withheld_figure(db_url, year, db) -> None:
    result = run(db_url, "--year", "2024", "--format", "html")
    assert result.exit_code == 0, result.output
    html = result.output
    assert html.startswith("<!doctype html>")
    page = Page()
    page.feed(html)
    assert page.scripts == 0 and "http" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert page.svgs >= 3
    themes = {row[0]: row[1:] for row in page.tables["Contacts by theme"][1:]}
    assert themes["Domestic abuse"] == ["7", "14.0%"]
    assert themes["Gambling"] == ["withheld*", "withheld*"]
    assert themes["Concerns about a line manager"] == ["15", "30.0%"]
    assert "withheld*" in page.withheld_cells
    # The charts draw a marker, not a bar, for a withheld count; the true counts never appear.
    assert "Gambling: withheld" in page.titles and "Concerns about a line manager: 15" in page.titles
    assert not [t for t in page.titles if t.startswith(("Gambling: 3", "Female: 5", "Male: 1"))]
    sex = {row[0]: row[1:] for row in page.tables["Sex"][1:]}
    assert sex["Female"][:2] == ["9", "withheld*"] and sex["Male"][:2] == ["withheld*", "withheld*"]
    disability = {row[0]: row[1:] for row in page.tables["Disability"][1:]}
    assert disability["No"][:4] == ["8", "100.0%", "80.0%", "1.25"]
    assert re.fullmatch(r"0\.8[45] to 1\.25", disability["No"][4])  # Wilson interval of 8/8, over 0.8
    assert disability["Yes"] == ["0", "0.0%", "none", "-", "-"]


def test_year_and_a_range_together_are_refused(db_url) -> None:
    result = run(db_url, "--year", "2024", "--from", "2024-01")
    assert result.exit_code == 2
    assert "--year cannot be combined" in result.output


def test_a_section_is_one_function(db, hand_made) -> None:
    def training(i: annual.Inputs) -> annual.Section:
        return annual.Section("training", "Training", "Sessions run.", [annual.Table("Training", ["", "Number"], [
            ("Sessions", [annual.Figure(None)])])])

    report = annual.annual_report(db, min_cell=3, from_month="2024-01", to_month="2024-12",
                                  sections=[*annual.SECTIONS, training])
    text = annual.render_text(report)
    assert "Training\n--------" in text and "Sessions  withheld*" in text
    assert '<section id="training">' in annual.render_html(report)


def test_the_referrals_section_counts_hand_offs_and_withholds_a_lone_one(db, hand_made) -> None:
    from datetime import UTC, date, datetime

    from sqlalchemy import select

    from app.cases.models import Case, Referral
    from app.enums import ReferralKind

    cases = db.scalars(select(Case).where(Case.received_month == "2024-02").limit(5)).all()
    made = datetime(2024, 2, 20, 10, tzinfo=UTC)
    for case in cases[:4]:
        db.add(Referral(case_id=case.id, kind=ReferralKind.FORMAL_INVESTIGATION, due_on=date(2024, 3, 19),
                        completed_on=date(2024, 3, 1), created_at=made))
    db.add(Referral(case_id=cases[4].id, kind=ReferralKind.POLICE, due_on=date(2024, 2, 21), created_at=made))
    db.commit()
    report = annual.annual_report(db, min_cell=3, from_month="2024-01", to_month="2024-12")
    text = annual.render_text(report)
    assert "Referrals\n---------" in text
    assert re.search(r"Police\s+withheld\*", text)  # one referral: never shown on its own
    formal_shown = re.search(r"Formal investigation\s+4\n", text) is not None
    total_shown = re.search(r"All referrals\s+5\n", text) is not None
    assert not (formal_shown and total_shown)  # nor given away by the figures beside it
    assert formal_shown or total_shown  # and the rest is still published


def test_the_locations_section_shows_places_and_never_a_small_one_alone(db) -> None:
    from app.enums import LocationKind
    from app.locations.models import Location
    from tests.stats.factory import add_case

    db.add_all([Location(slug="north", name="North station", kind=LocationKind.STATION, headcount=120, position=1),
                Location(slug="lab", name="Fire investigation", kind=LocationKind.TEAM, headcount=6, position=2)])
    db.flush()
    for slug, n in (("north", 6), ("lab", 3), (None, 4)):
        for _ in range(n):
            add_case(db, month="2024-01").location = slug
    db.commit()
    text = annual.render_text(annual.annual_report(db, min_cell=3, from_month="2024-01", to_month="2024-12"))
    section = text[text.index("Locations\n---------"):text.index("Channels\n--------")]
    assert re.search(r"North station \(station\)\s+6\s", section)
    assert re.search(r"Fire investigation \(team\)\s+withheld\*", section)  # six staff: never on its own
    assert re.search(r"too few staff to show alone, together\s+3\s", section)
    assert re.search(r"No place given\s+4\s", section)


def test_every_bar_of_a_chart_is_labelled_and_an_empty_chart_says_so() -> None:
    from app.stats.charts import Box, _bars, bar_chart

    names = ["Domestic abuse", "Concerns about a line manager", "Bullying in the workplace"]
    chart = str(bar_chart(names, [12, None, 0], "Contacts by theme", "c", 3))
    labels = re.findall(r'<text class="label"[^>]*>([^<]+)</text>', chart)
    assert labels == names  # every category named, the withheld one and the zero too
    assert re.findall(r'<text class="value"[^>]*>([^<]+)</text>', chart) == ["12", "withheld", "0"]
    months = [f"2024-{m:02d}" for m in range(1, 13)]
    narrow = "".join(_bars(Box(0, 0, 340, 140), months, list(range(12)), "Bullying", 3))
    assert re.findall(r'<text class="label"[^>]*>([^<]+)</text>', narrow) == months  # turned to fit
    assert "rotate(-45" in narrow
    for empty in (str(bar_chart(names, [0, 0, 0], "Contacts by theme", "c", 3)),
                  "".join(_bars(Box(0, 0, 720, 220), months, [0] * 12, "All contacts", 3))):
        assert re.search(r'<text class="empty"[^>]*>no contacts</text>', empty) and "<rect" not in empty
