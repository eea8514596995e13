"""Rules of app/stats/disclosure.py on hand-made columns and grids."""

from __future__ import annotations

from app.stats.disclosure import Grid, share_grids_totals, share_or_none, suppress_column

MONTHS = ["2024-01", "2024-02", "2024-03"]


def test_all_zero_column_hides_nothing():
    d = suppress_column({"a": 0, "b": 0, "c": 0}, 3)
    assert d.hidden == frozenset() and not d.total_hidden


def test_all_zero_grid_publishes_zeros_everywhere():
    g = Grid({}, ["a", "b"], 3)
    assert g.cell("a", MONTHS) == 0
    assert g.total(MONTHS) == 0


def test_one_small_cell_is_hidden_with_the_smallest_other_non_zero_cell():
    d = suppress_column({"a": 1, "b": 9, "c": 4, "d": 0}, 3)
    assert d.hidden == {"a", "c"} and not d.total_hidden


def test_zero_is_never_used_as_a_complementary_cell():
    d = suppress_column({"a": 2, "b": 0, "c": 7}, 3)
    assert "b" not in d.hidden
    assert d.hidden == {"a", "c"}


def test_two_small_cells_that_are_both_one_take_a_third():
    # Hidden 1 + 1 = total - 5 would pin both at 1, because a hidden cell is never 0.
    d = suppress_column({"a": 1, "b": 1, "c": 5, "d": 6}, 3)
    assert d.hidden == {"a", "b", "c"} and not d.total_hidden


def test_two_small_cells_that_differ_protect_each_other():
    d = suppress_column({"a": 1, "b": 2, "c": 5}, 3)
    assert d.hidden == {"a", "b"} and not d.total_hidden


def test_a_single_small_cell_with_nothing_else_to_hide_hides_the_month_total():
    d = suppress_column({"a": 1, "b": 0, "c": 0, "untriaged": 3}, 3)
    assert d.hidden == {"a", "untriaged"} and not d.total_hidden
    d = suppress_column({"a": 1, "b": 1, "c": 1}, 3)
    assert d.hidden == {"a", "b", "c"} and d.total_hidden


def test_a_month_total_under_the_threshold_is_hidden_with_its_cells():
    d = suppress_column({"a": 2, "b": 0}, 3)
    assert d.hidden == {"a"} and d.total_hidden


def test_min_cell_one_hides_nothing():
    d = suppress_column({"a": 1, "b": 1, "c": 0}, 1)
    assert d.hidden == frozenset() and not d.total_hidden


def test_a_row_with_a_single_small_cell_is_withheld_in_every_period_containing_it():
    g = Grid({("a", "2024-01"): 5, ("a", "2024-02"): 1, ("a", "2024-03"): 6, ("b", "2024-02"): 9}, ["a", "b"], 3)
    assert g.cell("a", ["2024-01"]) == 5
    assert g.cell("a", ["2024-02"]) is None
    assert g.cell("a", MONTHS) is None
    assert g.cell("a", ["2024-01", "2024-03"]) == 11
    # b is the complementary cell of February; its other months are not affected.
    assert g.cell("b", ["2024-02"]) is None
    assert g.total(MONTHS) == 21


def test_a_total_under_the_threshold_withholds_every_total_containing_that_month():
    g = Grid({("a", "2024-01"): 5, ("a", "2024-02"): 2, ("a", "2024-03"): 6}, ["a"], 3)
    assert g.total(["2024-02"]) is None
    assert g.total(MONTHS) is None
    assert g.total(["2024-03"]) == 6


def test_a_total_hidden_for_another_table_hides_a_cell_of_a_fully_shown_column():
    themes = Grid({("a", "2024-01"): 3}, ["a", "b"], 3)
    channels = Grid({("web", "2024-01"): 1, ("phone", "2024-01"): 1, ("email", "2024-01"): 1}, ["web", "phone", "email"], 3)
    assert channels.total_hidden("2024-01") and not themes.total_hidden("2024-01")
    share_grids_totals([themes, channels])
    assert themes.total(["2024-01"]) is None
    assert themes.cell("a", ["2024-01"]) is None  # else the total would be 3 and every channel 1


def test_share_of_a_withheld_part_or_small_whole_is_withheld():
    assert share_or_none(None, 10, 3) is None
    assert share_or_none(1, 2, 3) is None
    assert share_or_none(3, 12, 3) == 0.25
