"""`safeshare report --year`: the annual report as text, CSV or HTML with SVG charts.

Every figure is a published statistic. A new section is a function of `Inputs` appended to SECTIONS.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

from jinja2 import Environment, PackageLoader
from markupsafe import Markup
from sqlalchemy.orm import Session

from app.equality.schemas import NAMES, PREFER_NOT_TO_SAY, VALUE_LABELS, EqualityTable
from app.labels import (
    CHANNEL_LABELS,
    CHANNEL_SHARE_LABELS,
    FEEDBACK_LABELS,
    LOCATION_KIND_LABELS,
    REFERRAL_LABELS,
    REFERRAL_STATUS_LABELS,
)
from app.stats import csvfile, service
from app.stats.charts import bar_chart, totals_chart
from app.stats.disclosure import share_or_none
from app.stats.equality import equality_table
from app.stats.referrals import referral_table
from app.stats.schemas import Bucket, LocationTable, ReferralTable, Summary, ThemeTable

WITHHELD = "withheld*"
Kind = Literal["count", "share", "ratio", "mean", "days", "text"]


@dataclass(frozen=True)
class Figure:
    """One published number (None: withheld) and how to show it."""

    value: int | float | str | None
    kind: Kind = "count"

    def text(self) -> str:
        v = self.value
        if v is None:
            return WITHHELD
        if self.kind == "count":
            return f"{int(v):,}"
        if self.kind == "share":
            return f"{float(v):.1%}"
        if self.kind in ("ratio", "mean"):
            return f"{float(v):.2f}"
        if self.kind == "days":
            return f"{float(v):.1f}"
        return str(v)

    def raw(self) -> str:
        """For CSV: the number as published (a share as a fraction), empty when withheld."""
        return "" if self.value is None else str(self.value)


@dataclass
class Table:
    caption: str
    columns: list[str]
    rows: list[tuple[str, list[Figure]]]


@dataclass
class Section:
    key: str
    title: str
    intro: str
    tables: list[Table] = field(default_factory=list)
    charts: list[Markup] = field(default_factory=list)


def year_span(year: str) -> tuple[str, str] | None:
    """`2024` -> 2024-01..2024-12; `2024/25` (UK financial year) -> 2024-04..2025-03; else None."""
    if re.fullmatch(r"(19|2\d)\d\d", year):
        return f"{year}-01", f"{year}-12"
    match = re.fullmatch(r"((?:19|2\d)\d\d)/(\d\d)", year)
    if match and int(match.group(2)) == (int(match.group(1)) + 1) % 100:
        start = int(match.group(1))
        return f"{start:04d}-04", f"{start + 1:04d}-03"
    return None


def previous_span(from_: str, to: str) -> tuple[str, str]:
    return f"{int(from_[:4]) - 1:04d}{from_[4:]}", f"{int(to[:4]) - 1:04d}{to[4:]}"


@dataclass
class Report:
    from_: str
    to: str
    min_cell: int
    sections: list[Section]
    as_at: str = ""

    @property
    def title(self) -> str:
        if self.from_.endswith("-01") and self.to == f"{self.from_[:4]}-12":
            return f"Safe Share annual report {self.from_[:4]}"
        if self.from_.endswith("-04") and self.to == f"{int(self.from_[:4]) + 1:04d}-03":
            start = int(self.from_[:4])
            return f"Safe Share annual report {start}/{(start + 1) % 100:02d}"
        return f"Safe Share report {self.from_} to {self.to}"

    @property
    def any_withheld(self) -> bool:
        return any(f.value is None for s in self.sections for t in s.tables for _, row in t.rows for f in row)


class Inputs:
    """The published tables a report is built from, each fetched once."""

    def __init__(self, session: Session, *, min_cell: int, from_month: str | None, to_month: str | None) -> None:
        self.session = session
        self.min_cell = min_cell
        rng = service.resolve_range(session, from_month, to_month)
        self.start, self.end = rng.start, rng.end

    @cached_property
    def themes(self) -> ThemeTable:
        return service.theme_table(self.session, min_cell=self.min_cell, from_month=self.start, to_month=self.end,
                                   bucket=Bucket.ALL)

    @cached_property
    def themes_by_month(self) -> ThemeTable:
        return service.theme_table(self.session, min_cell=self.min_cell, from_month=self.start, to_month=self.end,
                                   bucket=Bucket.MONTH)

    @cached_property
    def summary(self) -> Summary:
        return service.summary(self.session, min_cell=self.min_cell, from_month=self.start, to_month=self.end)

    @cached_property
    def previous_summary(self) -> Summary:
        start, end = previous_span(self.start, self.end)
        return service.summary(self.session, min_cell=self.min_cell, from_month=start, to_month=end)

    @cached_property
    def locations(self) -> LocationTable:
        return service.location_table(self.session, min_cell=self.min_cell, from_month=self.start, to_month=self.end,
                                      bucket=Bucket.ALL)

    @cached_property
    def referrals(self) -> ReferralTable:
        return referral_table(self.session, min_cell=self.min_cell, from_month=self.start, to_month=self.end,
                              bucket=Bucket.ALL)

    @cached_property
    def equality(self) -> EqualityTable:
        return equality_table(self.session, min_cell=self.min_cell, from_month=self.start, to_month=self.end)


def headline(i: Inputs) -> Section:
    """Contacts, anonymity, out of hours and channels, beside the same months a year earlier."""
    now, before = i.summary, i.previous_summary
    compare = now.contacts is not None and before.contacts is not None and before.contacts > 0
    columns = ["", f"{i.start} to {i.end}"] + ([f"{before.from_} to {before.to}"] if compare else [])

    def row(label: str, a: int | float | None, b: int | float | None, kind: Kind) -> tuple[str, list[Figure]]:
        return label, [Figure(a, kind)] + ([Figure(b, kind)] if compare else [])

    rows = [
        row("Contacts", now.contacts, before.contacts, "count"),
        row("Made anonymously", now.anonymous_share, before.anonymous_share, "share"),
        row("Out of hours", now.out_of_hours_share, before.out_of_hours_share, "share"),
    ]
    rows += [row(CHANNEL_SHARE_LABELS.get(c, c), v, before.channel_shares.get(c), "share")
             for c, v in now.channel_shares.items()]
    intro = f"As at {now.as_at}." + (" Beside the same months a year earlier." if compare else "")
    return Section("headline", "At a glance", intro, [Table("At a glance", columns, rows)])


def contacts(i: Inputs) -> Section:
    s = i.summary
    return Section(
        "contacts", "Contacts", "Concerns raised online and contacts recorded by the team, by the month received.",
        [Table("Contacts", ["", "Number or share"], [
            ("Contacts received", [Figure(s.contacts)]),
            ("Made anonymously", [Figure(s.anonymous_share, "share")]),
            ("Not yet triaged", [Figure(i.themes.totals.untriaged)]),
        ])],
        [totals_chart(i.themes_by_month)],
    )


def themes(i: Inputs) -> Section:
    t = i.themes
    contacts_n = t.totals.total
    rows = [(r.name, [Figure(r.total), Figure(share_or_none(r.total, contacts_n, i.min_cell), "share")])
            for r in t.rows]
    chart = bar_chart([r.name for r in t.rows], [r.total for r in t.rows], "Contacts by theme", "chart-annual-themes",
                      i.min_cell)
    return Section("themes", "Themes", "Contacts by their primary theme.",
                   [Table("Contacts by theme", ["Theme", "Number", "Share of contacts"], rows)], [chart])


def _percent(share: float | None) -> int | None:
    return None if share is None else round(share * 100)


def channels(i: Inputs) -> Section:
    shares = i.summary.channel_shares
    labels = [CHANNEL_LABELS.get(c, c) for c in shares]
    chart = bar_chart(labels, [_percent(v) for v in shares.values()], "Share of contacts by channel (%)",
                      "chart-annual-channels", i.min_cell)
    return Section("channels", "Channels", "How contacts reached the service.",
                   [Table("Contacts by channel", ["Channel", "Share of contacts"],
                          [(label, [Figure(v, "share")]) for label, v in zip(labels, shares.values(), strict=True)])],
                   [chart])


def out_of_hours(i: Inputs) -> Section:
    s = i.summary
    return Section("out_of_hours", "Out of hours", "Contacts outside office hours, and the phone time they took.",
                   [Table("Out of hours", ["", "Number or share"], [
                       ("Share of contacts received out of hours", [Figure(s.out_of_hours_share, "share")]),
                       ("Minutes on the phone out of hours", [Figure(s.out_of_hours_call_minutes)]),
                   ])])


def responsiveness(i: Inputs) -> Section:
    s = i.summary
    return Section("responsiveness", "Time to acknowledge", "How quickly the team replied, and kept its check-ins.",
                   [Table("Time to acknowledge", ["", "Value"], [
                       ("Median days from receipt to acknowledgement", [Figure(s.median_days_to_acknowledgement, "days")]),
                       ("Check-ins completed on time", [Figure(s.check_ins_on_time_share, "share")]),
                   ])])


def satisfaction(i: Inputs) -> Section:
    f = i.summary.feedback.model_dump()
    return Section("satisfaction", "Satisfaction", "Mean closing-survey ratings, 1 (not at all) to 5 (very much).",
                   [Table("Satisfaction", ["Question", "Mean rating"],
                          [(label, [Figure(f[key], "mean")]) for key, label in FEEDBACK_LABELS.items()])])


def equality(i: Inputs) -> Section:
    tables, charts = [], []
    for c in i.equality.characteristics:
        rows = []
        for r in c.rows:
            interval = None if r.ratio_low is None or r.ratio_high is None else f"{r.ratio_low:.2f} to {r.ratio_high:.2f}"
            # No answer at all: there is no share to withhold (the count, 0, is published).
            share = Figure("-", "text") if r.count == 0 and r.share is None else Figure(r.share, "share")
            rows.append((VALUE_LABELS.get(r.value, r.value), [
                Figure(r.count), share,
                Figure(r.baseline_share, "share") if r.baseline_share is not None else Figure("none", "text"),
                Figure(r.ratio, "ratio") if r.baseline_share is not None else Figure("-", "text"),
                Figure(interval, "text") if r.baseline_share is not None else Figure("-", "text"),
            ]))
        caption = NAMES[c.key]
        tables.append(Table(caption, ["Answer", "Number", "Share", "Workforce", "Ratio", "95% interval"], rows))
        values = [r for r in c.rows if r.value != PREFER_NOT_TO_SAY]
        charts.append(bar_chart([VALUE_LABELS.get(r.value, r.value) for r in values], [r.count for r in values],
                                caption, f"chart-equality-{c.key}", i.min_cell, height=160))
    return Section(
        "equality", "Equality monitoring",
        "Optional answers, stored apart from the concerns, against the workforce. Shares are of those who gave an "
        "answer; a ratio above 1 means over-represented among the service's users, and an interval that spans 1 "
        "is within chance.",
        tables, charts,
    )


def locations(i: Inputs) -> Section:
    t = i.locations
    contacts_n = t.totals.total
    rows = [(f"{r.name} ({LOCATION_KIND_LABELS.get(r.kind, r.kind).lower()})", [Figure(r.total), Figure(share_or_none(r.total, contacts_n, i.min_cell), "share")])
            for r in t.rows]
    rows += [
        ("Places with too few staff to show alone, together", [Figure(t.totals.small_locations), Figure("-", "text")]),
        ("No place given", [Figure(t.totals.unknown), Figure("-", "text")]),
    ]
    chart = bar_chart([r.name for r in t.rows], [r.total for r in t.rows], "Contacts by location",
                      "chart-annual-locations", i.min_cell)
    return Section("locations", "Locations", "Contacts by the station, department, team or watch they are about. "
                   "A place whose headcount is small is never shown on its own.",
                   [Table("Contacts by location", ["Location", "Number", "Share of contacts"], rows)], [chart])


def referrals(i: Inputs) -> Section:
    r = i.referrals
    status = r.status.model_dump()
    return Section(
        "referrals", "Referrals", "Hand-offs out of the service made in the period, and how they stand today "
        "(formal investigations are due within 4 weeks).",
        [Table("Referrals by kind", ["Kind", "Number"],
               [(REFERRAL_LABELS.get(row.kind, row.kind), [Figure(row.total)]) for row in r.rows]
               + [("All referrals", [Figure(r.total)])]),
         Table("Where they stand", ["", "Number"],
               [(label, [Figure(status[key])]) for key, label in REFERRAL_STATUS_LABELS.items()])],
        [bar_chart([REFERRAL_LABELS.get(row.kind, row.kind) for row in r.rows], [row.total for row in r.rows],
                   "Referrals by kind", "chart-annual-referrals", i.min_cell)],
    )


# Each section, in order: a new one is one function appended here.
SECTIONS: list[Callable[[Inputs], Section]] = [
    headline, contacts, themes, locations, channels, out_of_hours, responsiveness, satisfaction, referrals, equality,
]


def annual_report(
    session: Session, *, min_cell: int, from_month: str | None, to_month: str | None,
    sections: Sequence[Callable[[Inputs], Section]] = SECTIONS,
) -> Report:
    inputs = Inputs(session, min_cell=min_cell, from_month=from_month, to_month=to_month)
    return Report(inputs.start, inputs.end, min_cell, [build(inputs) for build in sections], service.as_at())


def footnote(report: Report) -> str:
    return (f"* Withheld: fewer than {report.min_cell} contacts, all of a small group in one category, or "
            "hidden so that such a number cannot be worked out from the others.")


# --- text ----------------------------------------------------------------------------------------


def render_text(report: Report) -> str:
    out = [report.title, "=" * len(report.title), f"{report.from_} to {report.to}, as at {report.as_at}", ""]
    for s in report.sections:
        out += [s.title, "-" * len(s.title), s.intro, ""]
        for t in s.tables:
            if t.caption != s.title:
                out.append(t.caption)
            cells = [list(t.columns)]
            cells += [[label, *(f.text() for f in figures)] for label, figures in t.rows]
            widths = [max(len(row[k]) for row in cells) for k in range(len(cells[0]))]
            for n, row in enumerate(cells):
                line = "  ".join(
                    cell.ljust(widths[k]) if k == 0 else cell.rjust(widths[k]) for k, cell in enumerate(row)
                )
                out.append(line.rstrip())
                if n == 0:
                    out.append("  ".join("-" * w for w in widths))
            out.append("")
    if report.any_withheld:
        out.append(footnote(report))
    return "\n".join(out).rstrip() + "\n"


# --- CSV -----------------------------------------------------------------------------------------


CSV_KINDS: tuple[Kind, ...] = ("count", "share", "ratio", "mean", "days", "text")


def render_csv(report: Report) -> str:
    """One line per figure, one column per kind of value (a spreadsheet types each column once);
    `withheld` is `yes` with the value columns empty.
    """
    rows: list[list[Any]] = [["section", "table", "row", "column", *CSV_KINDS, "withheld"]]
    for s in report.sections:
        for t in s.tables:
            for label, figures in t.rows:
                for column, f in zip(t.columns[1:], figures, strict=True):
                    cells = [f.raw() if kind == f.kind else "" for kind in CSV_KINDS]
                    rows.append([s.key, t.caption, label, column, *cells, "yes" if f.value is None else ""])
    # Theme and location names are typed by administrators: the one writer keeps them from running as formulas.
    return csvfile.write(rows, lineterminator="\n")


# --- HTML ----------------------------------------------------------------------------------------

# The page lives in app/stats/templates (stats renders its own page: it never imports app.web).
_HTML = Environment(loader=PackageLoader("app.stats"), autoescape=True, trim_blocks=True,
                    lstrip_blocks=True).get_template("annual.html")


def render_html(report: Report) -> str:
    """A standalone page: tables, and server-rendered SVG charts (no script, no external asset)."""
    return _HTML.render(r=report, footnote=footnote(report))


RENDERERS: dict[str, Callable[[Report], str]] = {"text": render_text, "csv": render_csv, "html": render_html}
