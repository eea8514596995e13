"""The roll-up gives exactly the figures the raw rows give, and a change marks its month stale."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, select

from app import clock
from app.enums import About, Channel, LocationKind
from app.locations.models import Location
from app.stats import rollup, service
from app.stats.models import StatsFresh, StatsStale
from app.stats.periods import months_between
from app.stats.schemas import Bucket
from tests.stats.factory import add_case, add_feedback, campaign_seeds

MONTHS = months_between("2023-01", "2024-06")
THEMES = ["bullying", "misconduct", "line_manager", None]


def everything(db) -> list:
    out = []
    for a, b in [("2023-01", "2024-06"), ("2023-04", "2023-09"), ("2024-02", "2024-02"), ("2023-01", "2023-12")]:
        for bucket in Bucket:
            out.append(service.theme_table(db, min_cell=3, from_month=a, to_month=b, bucket=bucket).model_dump())
            out.append(service.location_table(db, min_cell=3, from_month=a, to_month=b, bucket=bucket).model_dump())
        out.append(service.summary(db, min_cell=3, from_month=a, to_month=b).model_dump())
    return out


def raw(db) -> list:
    """The same figures with the roll-up ignored (every month counted from the raw rows)."""
    with db.begin_nested() as nested:
        db.execute(delete(StatsFresh))
        figures = everything(db)
        nested.rollback()
    return figures


def random_fixture(db, rng: random.Random) -> list:
    db.add_all([Location(slug=s, name=s, kind=LocationKind.STATION, headcount=h, position=i)
                for i, (s, h) in enumerate([("north", 100), ("south", None), ("tiny", 4)])])
    db.flush()
    cases = []
    for m in MONTHS:
        for _ in range(rng.randint(0, 12)):
            day = rng.randint(1, 28)
            at = datetime(int(m[:4]), int(m[5:7]), day, rng.randint(0, 23), tzinfo=UTC)
            clock.set_frozen(at + timedelta(days=rng.choice([0, 0, 0, 1, 40])))  # some recorded late
            c = add_case(db, month=m, day=day, theme=rng.choice(THEMES), channel=rng.choice(list(Channel)),
                         anonymous=rng.random() < 0.6, about=rng.choice(list(About)), out_of_hours=rng.random() < 0.3,
                         duration_minutes=rng.randint(5, 50),
                         acknowledged_after=timedelta(hours=rng.randint(1, 200)) if rng.random() < 0.8 else None)
            c.received_at = at
            c.location = rng.choice(["north", "south", "tiny", None])
            if c.primary_theme is not None:
                c.triaged_at = at + timedelta(days=rng.choice([1, 2, 35]))
            if rng.random() < 0.4:
                clock.set_frozen(at + timedelta(days=rng.randint(3, 80)))
                add_feedback(db, c, tuple(rng.randint(1, 5) for _ in range(4)))
            cases.append(c)
    db.commit()
    clock.set_frozen(datetime(2024, 12, 1, tzinfo=UTC))
    return cases


# One seed in the suite; bench/stats/campaign.py runs many (SAFESHARE_STATS_SEEDS=N).
@pytest.mark.parametrize("seed", campaign_seeds([1]))
def test_the_roll_up_publishes_exactly_what_the_raw_rows_give(db, seed):
    rng = random.Random(seed)
    cases = random_fixture(db, rng)
    assert rollup.refresh(db)
    db.commit()
    assert rollup.needs_refresh(db) == []
    assert everything(db) == raw(db)
    # Changes mark their months stale (app.flows does it for each operation that changes a counted
    # column: tests/stats/test_stale_marks.py); the figures stay exact before a refresh ...
    for c in rng.sample(cases, 5):
        c.primary_theme = rng.choice(["gambling", "misconduct"])
        c.location = "north"
        rollup.mark_case(db, c)
    add_case(db, month="2023-05", theme="gambling")
    add_feedback(db, add_case(db, month="2024-11"), (5, 5, 5, 5))
    rollup.mark_stale(db, ["2023-05", "2024-11", clock.now().strftime("%Y-%m")])
    db.commit()
    assert rollup.needs_refresh(db)
    assert everything(db) == raw(db)
    # ... and after it.
    rollup.refresh(db)
    db.commit()
    assert rollup.needs_refresh(db) == []
    assert everything(db) == raw(db)


def test_a_report_through_the_api_marks_its_month_stale_and_a_get_refreshes(client, db, make_staff):
    clock.set_frozen(datetime(2024, 5, 10, 12, tzinfo=UTC))
    headers = make_staff("leadership").headers
    rollup.refresh(db)
    db.commit()
    r = client.post("/api/v1/reports", json={"description": "Something happened at work."})
    assert r.status_code == 201
    db.rollback()
    assert "2024-05" in set(db.scalars(select(StatsStale.month)).all())
    db.rollback()
    client.get("/api/v1/stats/themes", headers=headers)  # refreshes after answering
    db.rollback()
    assert rollup.needs_refresh(db) == []
    assert service.theme_table(db, min_cell=1, from_month="2024-05", to_month="2024-05").totals.total == 1


def test_the_refresh_command_recounts_what_is_stale(db, db_url):
    from typer.testing import CliRunner

    from app.cli import cli

    add_case(db, month="2024-03")
    db.commit()
    env = {"SAFESHARE_DATABASE_URL": db_url, "SAFESHARE_LOG_LEVEL": "WARNING"}
    result = CliRunner().invoke(cli, ["stats-refresh"], env=env)
    assert result.exit_code == 0, result.output
    assert "month(s) recounted" in result.output and " 0 month" not in result.output
    db.rollback()
    assert rollup.needs_refresh(db) == []
    db.rollback()  # SQLite: the arranging session must not hold the write lock
    result = CliRunner().invoke(cli, ["stats-refresh", "--all"], env=env)
    assert result.exit_code == 0 and " 0 month" not in result.output
