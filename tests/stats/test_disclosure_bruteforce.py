"""No withheld month cell can be worked out from everything every query publishes.

For each fixture, every query is made: every (from, to) pair of months and every bucket. Every
number published (cells, row totals, period totals, grand totals, untriaged) becomes an equation
over the true month cells; tests/stats/attack.py then tries to pin down each withheld cell by
exact linear algebra and by an integer search that knows a withheld cell is never 0.
"""

from __future__ import annotations

import random
from collections import Counter

import pytest

from app.stats.disclosure import Grid, share_grids_totals
from app.stats.schemas import Bucket
from app.stats.service import Range, months_between, periods
from tests.stats.attack import Attacker, equation
from tests.stats.factory import add_case

MONTHS = months_between("2024-11", "2025-04")  # six months across a year end: quarters and years clip
THEMES = ["t1", "t2", "t3", "t4"]


def all_queries(months: list[str]):
    for i, a in enumerate(months):
        for b in months[i:]:
            for bucket in Bucket:
                yield Range(a, b), bucket


def published_equations(grids: dict[str, Grid], months: list[str]) -> list:
    """Every number every query publishes, from the grids, as equations over (table, row, month)."""
    eqs = []
    for rng, bucket in all_queries(months):
        buckets = periods(rng, bucket)
        for name, g in grids.items():
            for row in g.rows:
                for _, ms in buckets + [("total", rng.months)]:
                    v = g.cell(row, ms)
                    if v is not None:
                        eqs.append(equation({(name, row, m): 1 for m in ms}, v))
            for _, ms in buckets + [("total", rng.months)]:
                v = g.total(ms)
                if v is not None:
                    eqs.append(equation({(name, r, m): 1 for r in g.rows for m in ms}, v))
    return eqs


def ties(grids: dict[str, Grid], months: list[str]) -> list:
    """What the attacker knows without any query: every table counts the same cases each month."""
    names = list(grids)
    out = []
    for other in names[1:]:
        for m in months:
            coefs = {(names[0], r, m): 1 for r in grids[names[0]].rows}
            coefs.update({(other, r, m): -1 for r in grids[other].rows})
            out.append(equation(coefs, 0))
    return out


def check(grids: dict[str, Grid], months: list[str]) -> None:
    truth = {(n, r, m): g.count(r, m) for n, g in grids.items() for r in g.rows for m in months}
    hidden = [(n, r, m) for n, g in grids.items() for r in g.rows for m in months if g.hidden(r, m)]
    attacker = Attacker(truth, published_equations(grids, months) + ties(grids, months))
    assert attacker.disclosed(hidden) == []
    # Nothing else is withheld from view: every other month cell is published.
    shown = {v for v in truth if v not in hidden}
    assert shown <= set(attacker.known)


def random_cases(rng: random.Random, n_rows: int, n_channels: int) -> list[tuple[str, str, str]]:
    cases = []
    for m in MONTHS:
        for t in THEMES[:n_rows]:
            for _ in range(rng.choice([0, 0, 0, 1, 1, 2, 3, 4, 6])):
                cases.append((t, f"c{rng.randrange(n_channels)}", m))
    return cases


@pytest.mark.parametrize("seed", range(30))
@pytest.mark.parametrize("min_cell", [2, 3, 5])
def test_no_withheld_cell_of_one_table_can_be_worked_out(seed: int, min_cell: int):
    rng = random.Random(seed * 10 + min_cell)
    counts = Counter((t, m) for t, _c, m in random_cases(rng, 4, 1))
    check({"themes": Grid(counts, THEMES, min_cell)}, MONTHS)


@pytest.mark.parametrize("seed", range(30))
def test_no_withheld_cell_can_be_worked_out_across_two_tables_of_the_same_cases(seed: int):
    rng = random.Random(1000 + seed)
    cases = random_cases(rng, 3, 3)
    themes = Grid(Counter((t, m) for t, _c, m in cases), THEMES[:3], 3)
    channels = Grid(Counter((c, m) for _t, c, m in cases), ["c0", "c1", "c2"], 3)
    share_grids_totals([themes, channels])
    check({"themes": themes, "channels": channels}, MONTHS)


# The same check end to end: the fixture goes into the database and every number comes from
# the HTTP API (themes table and the summary's contacts and channel shares).
FIXTURE = {
    # theme: counts for 2024-11 .. 2025-04; None is "not yet triaged"
    "bullying": [5, 1, 0, 4, 3, 7],
    "misconduct": [1, 0, 2, 6, 1, 4],
    "gambling": [0, 2, 0, 0, 1, 0],
    "mental_health": [4, 4, 1, 3, 0, 9],
    None: [0, 0, 1, 0, 2, 1],
}
CHANNELS = ["web", "phone", "email"]


def test_no_withheld_cell_can_be_worked_out_through_the_api(client, db, make_staff):
    from app.enums import Channel

    i = 0
    for theme, counts in FIXTURE.items():
        for month, n in zip(MONTHS, counts, strict=True):
            for _ in range(n):
                add_case(db, theme=theme, month=month, channel=Channel(CHANNELS[i % 3]))
                i += 1
    db.commit()
    staff = make_staff("leadership")
    rows = [t for t in FIXTURE if t is not None]
    truth: dict = {}
    for theme, counts in FIXTURE.items():
        for m, n in zip(MONTHS, counts, strict=True):
            truth[("themes", theme, m)] = n
    k = 0
    channel_truth = Counter()
    for _theme, counts in FIXTURE.items():
        for m, n in zip(MONTHS, counts, strict=True):
            for _ in range(n):
                channel_truth[(CHANNELS[k % 3], m)] += 1
                k += 1
    for c in CHANNELS:
        for m in MONTHS:
            truth[("channels", c, m)] = channel_truth[(c, m)]

    eqs = []
    for rng, bucket in all_queries(MONTHS):
        body = client.get("/api/v1/stats/themes", headers=staff.headers,
                          params={"from": rng.start, "to": rng.end, "bucket": bucket.value}).json()
        spans = [ms for _, ms in periods(rng, bucket)]
        for row in body["rows"]:
            if row["theme"] not in FIXTURE:
                assert row["total"] == 0
                continue
            for ms, v in zip(spans + [rng.months], row["counts"] + [row["total"]], strict=True):
                if v is not None:
                    eqs.append(equation({("themes", row["theme"], m): 1 for m in ms}, v))
        every = rows + [None]
        for ms, v in zip(spans + [rng.months], body["totals"]["counts"] + [body["totals"]["total"]], strict=True):
            if v is not None:
                eqs.append(equation({("themes", t, m): 1 for t in every for m in ms}, v))
        if body["totals"]["untriaged"] is not None:
            eqs.append(equation({("themes", None, m): 1 for m in rng.months}, body["totals"]["untriaged"]))
        if bucket == Bucket.ALL:
            s = client.get("/api/v1/stats/summary", headers=staff.headers,
                           params={"from": rng.start, "to": rng.end}).json()
            if s["contacts"] is not None:
                eqs.append(equation({("themes", t, m): 1 for t in every for m in rng.months}, s["contacts"]))
                for c in CHANNELS:
                    share = s["channel_shares"][c]
                    if share is not None:
                        eqs.append(equation({("channels", c, m): 1 for m in rng.months}, round(share * s["contacts"])))
    for m in MONTHS:
        coefs = {("themes", t, m): 1 for t in rows + [None]}
        coefs.update({("channels", c, m): -1 for c in CHANNELS})
        eqs.append(equation(coefs, 0))

    attacker = Attacker(truth, eqs)
    withheld = [v for v in truth if v not in attacker.known and truth[v] > 0]
    assert withheld, "the fixture is meant to exercise suppression"
    assert attacker.disclosed(withheld) == []
    # Zeros are always published as zeros.
    assert all(v in attacker.known for v in truth if truth[v] == 0)


class _PrimaryOnly(Grid):
    """A naive table: hides small cells but publishes every row and period total in full."""

    def cell(self, row, months):
        months = list(months)
        if len(months) == 1 and self.hidden(row, months[0]):
            return None
        return sum(self.count(row, m) for m in months)


def test_the_attacker_catches_a_naive_table_that_only_hides_small_cells():
    counts = {("t1", "2024-11"): 1, ("t1", "2024-12"): 5, ("t2", "2024-11"): 6}
    g = _PrimaryOnly(counts, THEMES, 3)
    truth = {("themes", r, m): g.count(r, m) for r in g.rows for m in MONTHS}
    attacker = Attacker(truth, published_equations({"themes": g}, MONTHS))
    assert ("themes", "t1", "2024-11") in attacker.disclosed([("themes", "t1", "2024-11")])


def test_the_attacker_knows_a_withheld_cell_is_never_zero():
    # Two hidden cells summing to 2 are both 1, although no equation isolates either.
    truth = {"a": 1, "b": 1, "c": 5}
    attacker = Attacker(truth, [equation({"c": 1}, 5), equation({"a": 1, "b": 1, "c": 1}, 7)])
    assert not attacker.linearly_determined("a")
    assert attacker.disclosed(["a", "b"]) == ["a", "b"]


# --- the themes and locations tables together (issue 15) ----------------------------------------

PLACES = ["p1", "p2", "p3"]


@pytest.mark.parametrize("seed", range(30))
def test_no_withheld_cell_can_be_worked_out_across_the_themes_and_locations_tables(seed: int):
    rng = random.Random(2000 + seed)
    cases = [(t, rng.choice(PLACES + [None]), m) for t, _c, m in random_cases(rng, 4, 1)]
    themes = Grid(Counter((t, m) for t, _p, m in cases), THEMES, 3)
    places = Grid(Counter((p, m) for _t, p, m in cases), [*PLACES, None], 3)
    share_grids_totals([themes, places])
    check({"themes": themes, "locations": places}, MONTHS)


def test_no_withheld_cell_can_be_worked_out_from_both_tables_through_the_api(client, db, make_staff):
    from app.enums import LocationKind
    from app.locations.models import Location

    headers = make_staff("leadership").headers
    places = ["north", "south", "east"]
    db.add_all([Location(slug=s, name=s, kind=LocationKind.STATION, headcount=200, position=i) for i, s in enumerate(places)])
    rng = random.Random(99)
    truth: Counter = Counter()
    themes = [t for t in FIXTURE if t is not None]
    for theme, counts in FIXTURE.items():
        for month, n in zip(MONTHS, counts, strict=True):
            for _ in range(n):
                place = rng.choice([*places, None])
                add_case(db, theme=theme, month=month).location = place
                truth[("themes", theme, month)] += 1
                truth[("locations", place, month)] += 1
    db.commit()
    rows = {"themes": [*themes, None], "locations": [*places, None]}
    for name, rs in rows.items():
        for r in rs:
            for m in MONTHS:
                truth.setdefault((name, r, m), 0)
    eqs = []
    for rng_, bucket in all_queries(MONTHS):
        spans = [ms for _, ms in periods(rng_, bucket)] + [rng_.months]
        for name, key, extra in (("themes", "theme", "untriaged"), ("locations", "location", "unknown")):
            body = client.get(f"/api/v1/stats/{name}", headers=headers,
                              params={"from": rng_.start, "to": rng_.end, "bucket": bucket.value}).json()
            for row in body["rows"]:
                if row[key] not in rows[name]:
                    assert row["total"] == 0
                    continue
                for ms, v in zip(spans, row["counts"] + [row["total"]], strict=True):
                    if v is not None:
                        eqs.append(equation({(name, row[key], m): 1 for m in ms}, v))
            for ms, v in zip(spans, body["totals"]["counts"] + [body["totals"]["total"]], strict=True):
                if v is not None:
                    eqs.append(equation({(name, r, m): 1 for r in rows[name] for m in ms}, v))
            if body["totals"][extra] is not None:
                eqs.append(equation({(name, None, m): 1 for m in rng_.months}, body["totals"][extra]))
    for m in MONTHS:
        coefs = {("themes", t, m): 1 for t in rows["themes"]}
        coefs.update({("locations", p, m): -1 for p in rows["locations"]})
        eqs.append(equation(coefs, 0))
    attacker = Attacker(dict(truth), eqs)
    withheld = [v for v in truth if v not in attacker.known and truth[v] > 0]
    assert withheld, "the fixture is meant to exercise suppression"
    assert attacker.disclosed(withheld) == []



def test_no_withheld_cell_can_be_worked_out_from_every_share_of_the_summary(client, db, make_staff):
    """The summary's contacts and every share (channel, anonymous, about, out of hours) over every
    range, with the themes table's totals, attacked together (each share times the contacts in
    rows is a published count)."""
    from app.enums import About, Channel

    headers = make_staff("leadership").headers
    rng = random.Random(5)
    tables = {
        "channel_shares": [c.value for c in Channel],
        "about_shares": [a.value for a in About],
        "anonymous_share": [True, False],
        "out_of_hours_share": [True, False],
    }
    truth: Counter = Counter()
    for month in MONTHS:
        for _ in range(rng.choice([2, 4, 5, 7])):
            values = {"channel_shares": rng.choice(["web", "web", "phone"]), "about_shares": rng.choice(["self", "colleague"]),
                      "anonymous_share": rng.random() < 0.7, "out_of_hours_share": rng.random() < 0.3}
            add_case(db, month=month, channel=Channel(values["channel_shares"]), about=About(values["about_shares"]),
                     anonymous=values["anonymous_share"], out_of_hours=values["out_of_hours_share"])
            for name, v in values.items():
                truth[(name, v, month)] += 1
    db.commit()
    for name, rows in tables.items():
        for r in rows:
            for m in MONTHS:
                truth.setdefault((name, r, m), 0)
    eqs = []
    for i, a in enumerate(MONTHS):
        for b in MONTHS[i:]:
            ms = months_between(a, b)
            s = client.get("/api/v1/stats/summary", headers=headers, params={"from": a, "to": b}).json()
            if s["contacts"] is None:
                continue
            for name, rows in tables.items():
                eqs.append(equation({(name, r, m): 1 for r in rows for m in ms}, s["contacts"]))
                for r in rows:
                    if isinstance(s[name], dict):
                        share = s[name].get(r)
                    else:  # a yes/no share: its "no" part is the rest of the contacts
                        share = s[name] if (r is True or s[name] is None) else 1 - s[name]
                    if share is not None:
                        eqs.append(equation({(name, r, m): 1 for m in ms}, round(share * s["contacts"])))
    names = list(tables)
    for other in names[1:]:
        for m in MONTHS:
            coefs = {(names[0], r, m): 1 for r in tables[names[0]]}
            coefs.update({(other, r, m): -1 for r in tables[other]})
            eqs.append(equation(coefs, 0))
    attacker = Attacker(dict(truth), eqs)
    withheld = [v for v in truth if v not in attacker.known and truth[v] > 0]
    assert withheld, "the fixture is meant to exercise suppression"
    assert attacker.disclosed(withheld) == []
