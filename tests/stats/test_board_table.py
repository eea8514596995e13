"""The board paper's own history (issue 19): 71 contacts, January 2023 to September 2024, 3-6 a
month, at min_cell 3. The board's table publishes its numbers, and the attacker pins nothing."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from app import clock
from app.enums import Channel
from app.stats import service, suppression
from app.themes.models import Theme
from bench.stats.board import BOARD, MONTHS, board_history  # noqa: F401  (the history, shared with the bench)
from tests.stats.factory import add_case
from tests.stats.grid_attack import GridAttack
from tests.stats.test_report_command import run


@pytest.fixture
def board(db):
    clock.set_frozen(datetime(2024, 12, 2, 9, 0, tzinfo=UTC))
    slugs = set(db.scalars(select(Theme.slug)).all())
    rnd = random.Random(3)
    for i, (month, theme) in enumerate(board_history()):
        add_case(db, month=month, theme=theme if theme in slugs else "other", day=1 + i % 27,
                 channel=rnd.choice([Channel.WEB, Channel.WEB, Channel.PHONE, Channel.EMAIL]),
                 anonymous=rnd.random() < 0.4, out_of_hours=rnd.random() < 0.3)
    db.commit()


def test_the_board_table_is_published_and_nothing_can_be_worked_out(client, db, db_url, board, make_staff):
    headers = make_staff("leadership").headers
    r = client.get("/api/v1/stats/themes", params={"from": "2023-01", "to": "2024-09", "bucket": "all"}, headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["totals"]["total"] == 71
    assert body["published_periods"] == ["2023-01..2024-09"]
    assert body["as_at"] == "2024-12-02"
    big = {t: n for t, n in BOARD.items() if n >= 3}
    shown = {row["theme"]: row["total"] for row in body["rows"]}
    exact = [t for t, n in big.items() if shown.get(t) == n]
    assert len(exact) >= 8, [(t, shown.get(t)) for t in big]

    # financial years, labelled as the board paper does; an arbitrary range still answers as asked
    r = client.get("/api/v1/stats/themes", params={"from": "2023-01", "to": "2024-09", "bucket": "fy"}, headers=headers)
    assert r.json()["periods"] == ["2022/23", "2023/24", "2024/25"]
    assert r.json()["totals"]["counts"][1] == sum(1 for m, _ in board_history() if "2023-04" <= m <= "2024-03")
    r = client.get("/api/v1/stats/themes", params={"from": "2023-02", "to": "2024-05", "bucket": "all"}, headers=headers)
    assert r.status_code == 200 and r.json()["from"] == "2023-02" and r.json()["to"] == "2024-05"

    r = client.get("/api/v1/stats/summary", params={"from": "2023-01", "to": "2024-09"}, headers=headers)
    summary = r.json()
    assert summary["contacts"] == 71
    assert summary["anonymous_share"] is not None and summary["out_of_hours_share"] is not None
    assert summary["published_periods"] == ["2023-01..2024-09"]

    # the annual report for a financial year leads with the headline figures, beside the year before
    result = run(db_url, "--year", "2023/24")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "Safe Share annual report 2023/24"
    in_fy = sum(1 for m, _ in board_history() if "2023-04" <= m <= "2024-03")
    glance = next(x for x in lines if x.startswith("Contacts "))
    assert glance.split()[1] == str(in_fy)  # this year, then the same months a year earlier
    assert next(x for x in lines if x.startswith("Contacts received")).endswith(f" {in_fy}")
    assert run(db_url, "--year", "2023/25").exit_code != 0

    # the attacker: every published grid number, integer bounds: nothing pinned, no group disclosed
    rng = service.resolve_range(db, "2023-01", "2024-09")
    grids = service.build_grids(db, rng, 3, service._themes(db), service._locations(db))
    tables = {"themes": grids.themes, "locations": grids.locations, **grids.categories}
    attack = GridAttack(tables, grids.themes.decision.periods, "2023-01")
    assert attack.withheld, "the fixture has small cells"
    assert attack.pinned() == []
    assert attack.groups_disclosed() == []


def test_negative_control_a_table_that_only_withholds_small_cells_gives_them_away(db, board):
    """The same attacker against a naive decision (primary suppression only) pins cells."""
    rng = service.resolve_range(db, "2023-01", "2024-09")
    grids = service.build_grids(db, rng, 3, service._themes(db), service._locations(db))
    real = grids.themes.decision
    naive = suppression.Decision(real.periods)
    g = grids.themes
    for p in real.periods:
        for r in g.rows:
            n = sum(g.count(r, m) for m in p.months)
            if 0 < n < 3 and r not in g.public:
                naive.withheld.add(("themes", r, p.label))
    naive_grid = suppression.LinkedGrid("themes", suppression.TableIn(g.rows, g._counts, g.public), naive, 3, "2023-01")
    attack = GridAttack({"themes": naive_grid}, real.periods, "2023-01")
    assert attack.pinned(), "the attacker should win against primary suppression alone"
