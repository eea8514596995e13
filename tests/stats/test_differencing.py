"""Issue 13 point 2: the differencing attacks of the issue, reproduced through the API.

Each test is an attack: two published answers (two ranges, or the same query before and after
one change) must not give away a withheld cell or one reporter's answer.
"""

from __future__ import annotations

from datetime import UTC, datetime

from app import clock
from app.stats.disclosure import suppress_column
from tests.stats.factory import add_case, add_feedback

THEMES = "/api/v1/stats/themes"
SUMMARY = "/api/v1/stats/summary"


def test_the_untriaged_row_is_a_complementary_cell_like_any_other():
    # {bullying: 1, untriaged: 3, misconduct: 5}: the untriaged 3 protects bullying; the total stays.
    d = suppress_column({"bullying": 1, None: 3, "misconduct": 5}, 3, ["bullying", "misconduct", None])
    assert d.hidden == {"bullying", None} and not d.total_hidden
    # Only untriaged cases: nothing is small, nothing is hidden.
    d = suppress_column({None: 3}, 3, ["bullying", None])
    assert d.hidden == frozenset() and not d.total_hidden


def test_two_feedback_ranges_do_not_give_one_reporters_ratings(client, db, make_staff):
    clock.set_frozen(datetime(2024, 6, 20, 12, tzinfo=UTC))
    june = [(5, 4, 3, 2), (4, 4, 3, 2), (3, 4, 3, 5)]
    for ratings in june:
        add_feedback(db, add_case(db, month="2024-06"), ratings)
    db.commit()
    clock.set_frozen(datetime(2024, 7, 20, 12, tzinfo=UTC))
    add_feedback(db, add_case(db, month="2024-07"), (1, 2, 1, 2))
    db.commit()
    clock.set_frozen(datetime(2025, 3, 1, 12, tzinfo=UTC))
    headers = make_staff("leadership").headers
    one = client.get(SUMMARY, params={"from": "2024-06", "to": "2024-06"}, headers=headers).json()["feedback"]
    two = client.get(SUMMARY, params={"from": "2024-06", "to": "2024-07"}, headers=headers).json()["feedback"]
    if one["listened_to"] is not None and two["listened_to"] is not None:
        recovered = [round(4 * two[k] - 3 * one[k]) for k in one]
        assert recovered != [1, 2, 1, 2], "July's single reporter's ratings were worked out"


def _snapshot(client, make_staff, month):
    headers = make_staff("leadership").headers  # a fresh sign-in: the clock moves between snapshots
    body = client.get(THEMES, params={"from": month, "to": month}, headers=headers).json()
    return {r["theme"]: r["counts"][0] for r in body["rows"]}, body["totals"]


def test_triaging_one_case_does_not_give_away_a_withheld_cell(client, db, make_staff):
    # One month: bullying 4, untriaged 5. Then one untriaged case is triaged as domestic abuse.
    clock.set_frozen(datetime(2024, 3, 12, 9, tzinfo=UTC))
    for _ in range(4):
        add_case(db, month="2024-03", theme="bullying")
    untriaged = [add_case(db, month="2024-03", theme=None) for _ in range(5)]
    db.commit()
    clock.set_frozen(datetime(2024, 6, 1, 9, tzinfo=UTC))
    before_rows, before_totals = _snapshot(client, make_staff, "2024-03")
    case = untriaged[0]
    case.primary_theme = "domestic_abuse"
    case.triaged_at = clock.now()
    db.commit()
    clock.set_frozen(datetime(2024, 6, 1, 10, tzinfo=UTC))
    after_rows, after_totals = _snapshot(client, make_staff, "2024-03")
    # The attacker: every published cell of both snapshots, and "one case moved from untriaged to a theme".
    da_before = before_rows["domestic_abuse"]
    if da_before == 0 and after_rows["domestic_abuse"] is None:
        bullying_known = before_rows["bullying"]
        total = after_totals["total"]
        shown = sum(v for v in after_rows.values() if v is not None)
        if bullying_known is not None and total is not None and after_totals["untriaged"] is not None:
            hidden_sum = total - shown - after_totals["untriaged"]
            assert hidden_sum - bullying_known != 1, "domestic abuse = 1 worked out from two snapshots"
    # Stronger: the month, once published, does not change at all when a case is triaged later.
    assert (before_rows, before_totals) == (after_rows, after_totals)


def test_a_new_case_changes_no_published_theme_cell_of_its_month(client, db, make_staff):
    clock.set_frozen(datetime(2024, 3, 5, 9, tzinfo=UTC))
    for theme, n in {"bullying": 5, "misconduct": 2, "line_manager": 6}.items():
        for _ in range(n):
            add_case(db, month="2024-03", theme=theme)
    db.commit()
    before, _ = _snapshot(client, make_staff, "2024-03")
    clock.set_frozen(datetime(2024, 3, 6, 9, tzinfo=UTC))
    add_case(db, month="2024-03", theme="misconduct")  # now 3: no longer small
    db.commit()
    after, _ = _snapshot(client, make_staff, "2024-03")
    changed = {t for t in before if before[t] != after[t]}
    # On main: misconduct 2 (withheld) -> 3 (shown) and bullying withheld -> shown: misconduct was 2.
    assert not changed, f"cells changed with one new case: {changed}"


def test_a_late_recorded_contact_does_not_change_a_settled_month(client, db, make_staff):
    clock.set_frozen(datetime(2024, 3, 5, 9, tzinfo=UTC))
    for theme, n in {"bullying": 5, "misconduct": 4}.items():
        for _ in range(n):
            add_case(db, month="2024-03", theme=theme)
    db.commit()
    clock.set_frozen(datetime(2024, 9, 1, 9, tzinfo=UTC))
    before, _ = _snapshot(client, make_staff, "2024-03")
    add_case(db, month="2024-03", theme="gambling")  # recorded in September for a March contact
    db.commit()
    after, totals = _snapshot(client, make_staff, "2024-03")
    assert before == after
    assert totals.get("late") is None or totals["total"] is None or totals["total"] == 10


def test_backdated_history_loaded_today_is_reproduced_exactly(client, db, make_staff):
    # A service loading its published history: every case recorded today for months long past.
    clock.set_frozen(datetime(2024, 9, 1, 9, tzinfo=UTC))
    history = {"2023-01": {"bullying": 7, "misconduct": 4}, "2023-02": {"bullying": 3, "line_manager": 9}}
    for month, cells in history.items():
        for theme, n in cells.items():
            for _ in range(n):
                add_case(db, month=month, theme=theme, day=3)
    db.commit()
    for month, cells in history.items():
        rows, totals = _snapshot(client, make_staff, month)
        assert {t: v for t, v in rows.items() if v} == cells
        assert totals["total"] == sum(cells.values())
