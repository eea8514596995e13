"""Issue 19 at small volume: random services and the equality table, attacked over the grid.

Every number the tables publish is a sum of published grid cells (app/stats/suppression.py), so the
integer attacker of tests/stats/grid_attack.py over the grid covers every query. A few queries are
also made through the API to check that what they publish is exactly the truth where not null.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from app import clock
from app.enums import Channel
from app.stats import equality as equality_stats
from app.stats import service
from app.stats.periods import Range, months_between
from tests.equality.factory import add_respondents
from tests.stats.factory import add_case, campaign_seeds
from tests.stats.grid_attack import GridAttack

MONTHS = months_between("2023-10", "2024-09")
THEMES = ["bullying", "misconduct", "domestic_abuse", "mental_health", "other"]


@pytest.mark.parametrize("seed", campaign_seeds([1]))
def test_a_small_service_publishes_nothing_that_can_be_worked_out(client, db, make_staff, seed):
    clock.set_frozen(datetime(2024, 12, 2, 9, 0, tzinfo=UTC))
    rnd = random.Random(seed)
    truth: dict[tuple[str, str], int] = {}
    for m in MONTHS:
        for _ in range(rnd.choice([1, 2, 3, 4, 5, 6])):
            theme = rnd.choice(THEMES)
            truth[(theme, m)] = truth.get((theme, m), 0) + 1
            add_case(db, month=m, theme=theme, channel=rnd.choice([Channel.WEB, Channel.PHONE]),
                     anonymous=rnd.random() < 0.5, out_of_hours=rnd.random() < 0.3)
    db.commit()
    headers = make_staff("leadership").headers
    for params in ({"bucket": "quarter"}, {"bucket": "fy"}, {"from": "2023-11", "to": "2024-06", "bucket": "all"}):
        body = client.get("/api/v1/stats/themes", params=params, headers=headers).json()
        periods = service.periods(Range(body["from"], body["to"]), service.Bucket(body["bucket"]))
        for row in body["rows"]:
            for (_label, months), v in zip(periods, row["counts"], strict=True):
                assert v is None or v == sum(truth.get((row["theme"], m), 0) for m in months)
        assert body["as_at"] == "2024-12-02" and body["published_periods"]

    rng = service.resolve_range(db, None, None)
    grids = service.build_grids(db, rng, 3, service._themes(db), service._locations(db))
    tables = {"themes": grids.themes, "locations": grids.locations, **grids.categories}
    attack = GridAttack(tables, grids.themes.decision.periods, MONTHS[0])
    assert attack.withheld
    assert attack.pinned() == []
    assert attack.groups_disclosed() == []


def test_three_respondents_with_the_same_answers_are_not_shown_as_a_group(client, db, make_staff):
    """The issue's example: three concerns in one month, all three with the same sexual orientation
    and religion. That month must not show `3` with share 1.0 for those answers."""
    clock.set_frozen(datetime(2024, 12, 2, 9, 0, tzinfo=UTC))
    rnd = random.Random(4)
    for m in months_between("2024-01", "2024-08"):
        if m == "2024-03":
            same = {"sexual_orientation": "bisexual", "religion_belief": "buddhist", "sex": "female"}
            add_respondents(db, m, [dict(same) for _ in range(3)])
            continue
        add_respondents(db, m, [{"sexual_orientation": rnd.choice(["heterosexual", "heterosexual", "gay_lesbian"]),
                                 "religion_belief": rnd.choice(["none", "christian"]),
                                 "sex": rnd.choice(["female", "male"])} for _ in range(rnd.choice([2, 4, 5]))])
    db.commit()
    headers = make_staff("leadership").headers
    body = client.get("/api/v1/stats/equality", params={"from": "2024-03", "to": "2024-03"}, headers=headers).json()
    by_key = {c["key"]: {r["value"]: r for r in c["rows"]} for c in body["characteristics"]}
    assert by_key["sexual_orientation"]["bisexual"]["count"] is None
    assert by_key["religion_belief"]["buddhist"]["share"] is None
    assert body["as_at"] == "2024-12-02"

    grids = equality_stats.grids(db, months_between("2024-01", "2024-08"), 3)
    attack = GridAttack(grids, next(iter(grids.values())).decision.periods, "2024-01")
    assert attack.groups_disclosed() == []
    assert attack.pinned() == []
