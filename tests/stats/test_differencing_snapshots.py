"""Pairs of snapshots around each kind of change, and the answer figures over every pair of ranges.

A snapshot is everything every query publishes (themes and locations tables for every from..to
and bucket, and the summary for every from..to). Around one change (a new case, a triage, a
closure with its feedback and cancelled check-ins, a contact recorded late) the two snapshots may
differ only in numbers that carry no attribute of anyone: totals that contain a month still open
(a new contact arrived) and the count of contacts recorded late. So nothing withheld before or
after can be worked out by comparing them.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from app import clock
from app.enums import LocationKind
from app.locations.models import Location
from app.stats import service
from app.stats.answers import answer_min
from app.stats.periods import months_between
from app.stats.schemas import Bucket
from tests.stats.factory import add_case, add_check_in, add_feedback, campaign_seeds

MONTHS = months_between("2024-01", "2024-06")
MIN_CELL = 3
THEMES = ["bullying", "misconduct", "line_manager", "gambling"]
PLACES = ["north", "south", "east"]


def snapshot(db) -> dict:
    out: dict = {}
    for i, a in enumerate(MONTHS):
        for b in MONTHS[i:]:
            for bucket in Bucket:
                for name, fn in (("themes", service.theme_table), ("locations", service.location_table)):
                    t = fn(db, min_cell=MIN_CELL, from_month=a, to_month=b, bucket=bucket)
                    for row in t.rows:
                        key = getattr(row, "theme", None) or getattr(row, "location", None)
                        for label, v in zip(t.periods + ["total"], row.counts + [row.total], strict=True):
                            out[(name, a, b, bucket.value, key, label)] = v
                    for label, v in zip(t.periods + ["total"], t.totals.counts + [t.totals.total], strict=True):
                        out[(name, a, b, bucket.value, "__total__", label)] = v
                    for k, v in t.totals.model_dump().items():
                        if k not in ("counts", "total"):
                            out[(name, a, b, bucket.value, "__totals__", k)] = v
            s = service.summary(db, min_cell=MIN_CELL, from_month=a, to_month=b).model_dump()
            for k, v in s.items():
                if k == "by_period":
                    for piece in v:
                        for kk, vv in piece.items():
                            if isinstance(vv, dict):
                                for kkk, vvv in vv.items():
                                    out[("summary", a, b, k, piece["period"], kk, kkk)] = vvv
                            else:
                                out[("summary", a, b, k, piece["period"], kk)] = vv
                elif isinstance(v, dict):
                    for kk, vv in v.items():
                        out[("summary", a, b, k, kk)] = vv
                else:
                    out[("summary", a, b, k)] = v
    return out


def changed(before: dict, after: dict) -> dict:
    return {k: (before.get(k), after.get(k)) for k in before.keys() | after.keys() if before.get(k) != after.get(k)}


def attribute_free(key: tuple, open_months: set[str]) -> bool:
    """A number that tells only that a contact arrived: a total (or contacts) over a range holding an
    open month, or the count of contacts recorded late."""
    if key[0] == "summary":
        _, a, b, name = key[:4]
        if name == "by_period":  # a published period's own contacts
            label, field = key[4], key[5]
            return field == "contacts" and any(m == label or label.endswith(".." + m) for m in open_months)
        return name == "contacts" and any(a <= m <= b for m in open_months)
    name, a, b, _bucket, row, label = key
    if row == "__totals__":
        return label == "late"
    if row == "__total__":
        return any(a <= m <= b for m in open_months)
    return False


@pytest.fixture
def live(db, make_staff):
    """Six months of a live service, every contact recorded when it came and most triaged in days;
    asked in mid-June 2024 (January to April settled, May and June open)."""
    rng = random.Random(7)
    hr = uuid.UUID(make_staff("hr").id)  # first: on SQLite it takes the write lock of its own
    db.add_all([Location(slug=s, name=s.title(), kind=LocationKind.STATION, headcount=100, position=i)
                for i, s in enumerate(PLACES)])
    db.flush()
    cases = []
    for m in MONTHS:
        for _ in range(rng.randint(3, 9)):
            day = rng.randint(1, 25)
            clock.set_frozen(datetime(int(m[:4]), int(m[5:7]), day, 10, tzinfo=UTC))
            c = add_case(db, month=m, day=day, theme=rng.choice(THEMES + [None]),
                         acknowledged_after=timedelta(days=rng.randint(1, 5)))
            c.location = rng.choice(PLACES + [None])
            cases.append(c)
            if rng.random() < 0.5:
                add_check_in(db, c, hr, due=date(int(m[:4]), int(m[5:7]), day) + timedelta(days=7),
                             completed=date(int(m[:4]), int(m[5:7]), day) + timedelta(days=rng.randint(5, 9)))
    db.commit()
    clock.set_frozen(datetime(2024, 6, 15, 12, tzinfo=UTC))
    return cases


def test_a_new_case_this_month_changes_only_open_totals(db, live):
    before = snapshot(db)
    c = add_case(db, month="2024-06", day=15, theme="gambling")
    c.location = "east"
    db.commit()
    diff = changed(before, snapshot(db))
    assert diff, "the new contact shows in the totals"
    assert {k for k in diff if not attribute_free(k, {"2024-06"})} == set()


def test_triage_changes_nothing_published(db, live):
    untriaged = [c for c in live if c.primary_theme is None]
    for case in untriaged[:3]:  # in a settled month and in an open one
        before = snapshot(db)
        case.primary_theme = "misconduct"
        case.location = "north"
        case.triaged_at = clock.now()
        db.commit()
        assert changed(before, snapshot(db)) == {}
        clock.set_frozen(clock.now() + timedelta(minutes=5))


def test_closure_feedback_and_cancelled_check_ins_change_nothing_published(db, live, make_staff):
    before = snapshot(db)
    case = live[5]
    case.closed_at = clock.now()
    add_feedback(db, case, (1, 1, 1, 1))
    from sqlalchemy import update

    from app.checkins.models import CheckIn
    db.execute(update(CheckIn).where(CheckIn.completed_at.is_(None)).values(cancelled_at=clock.now()))
    db.commit()
    assert changed(before, snapshot(db)) == {}


def test_a_contact_recorded_late_changes_only_the_late_count_and_open_totals(db, live):
    before = snapshot(db)
    add_case(db, month="2024-02", day=3, theme="gambling").location = "south"  # recorded in June
    db.commit()
    diff = changed(before, snapshot(db))
    assert diff
    assert {k for k in diff if not attribute_free(k, set()) and k[-1] != "total" and k[-2] != "__total__"
            and not (k[0] == "summary" and (k[3] == "contacts" or k[3] == "by_period" and k[-1] == "contacts"))} == set()
    # The settled month's rows are untouched; the contact is counted as late.
    t = service.theme_table(db, min_cell=MIN_CELL, from_month="2024-02", to_month="2024-02", bucket=Bucket.MONTH)
    assert t.totals.late == 1


# One seed in the suite; bench/stats/campaign.py runs many (SAFESHARE_STATS_SEEDS=N).
@pytest.mark.parametrize("seed", campaign_seeds([0]))
def test_no_two_published_answer_figures_differ_by_fewer_than_ten_answers(db, seed):
    """Feedback spread over eight quarters, few per quarter: any two ranges' published means rest on
    sets of answers that are equal or differ by at least answer_min, so no one answer is isolated."""
    rng = random.Random(seed)
    quarters = months_between("2022-01", "2023-12")[::3]
    given: dict[str, int] = {}
    for q in quarters:
        n = rng.randint(0, 7)
        given[q] = n
        for i in range(n):
            clock.set_frozen(datetime(int(q[:4]), int(q[5:7]), 5 + i, 12, tzinfo=UTC))
            add_feedback(db, add_case(db, month=q, day=5 + i), (rng.randint(1, 5),) * 4)
    db.commit()
    clock.set_frozen(datetime(2024, 2, 1, tzinfo=UTC))
    months = months_between("2022-01", "2023-12")
    published = {}
    for i, a in enumerate(months):
        for b in months[i:]:
            s = service.summary(db, min_cell=MIN_CELL, from_month=a, to_month=b)
            if s.feedback.listened_to is not None:
                published[(a, b)] = s.answers_periods["feedback"]
    assert published, "some feedback is published"

    def answers_in(span: str) -> set[str]:
        first, last = span.split("..")
        return {q for q in quarters if first <= f"{q[:4]}-Q{(int(q[5:7]) - 1) // 3 + 1}" <= last}

    sets = {span: answers_in(span) for span in set(published.values())}
    for s1 in sets.values():
        for s2 in sets.values():
            differ = sum(given[q] for q in s1 ^ s2)
            assert differ == 0 or differ >= answer_min(MIN_CELL)
