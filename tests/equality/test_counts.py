"""The monthly counts the statistics read are always exactly the published rows counted."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app import clock
from app.equality import service
from app.equality.models import EqualityAnswer, EqualityCount, EqualityPending
from app.equality.schemas import CHARACTERISTICS, PREFER_NOT_TO_SAY, EqualityIn


@pytest.mark.parametrize("seed", range(3))
def test_the_monthly_counts_equal_the_published_rows_on_random_fixtures(app, db, seed) -> None:
    rng = random.Random(seed)
    ring = app.state.keyring
    pooled = 0
    for day in range(1, 70, 3):  # across three calendar months
        clock.set_frozen(datetime(2025, 1, 1, 9, tzinfo=UTC) + timedelta(days=day))
        for _ in range(rng.randrange(0, 5)):
            answers = {k: rng.choice([*v, PREFER_NOT_TO_SAY]) for k, v in CHARACTERISTICS.items() if rng.random() < 0.5}
            month = clock.today().strftime("%Y-%m") if rng.random() < 0.8 else "2024-12"  # a contact recorded late
            service.pool(db, ring, answers=EqualityIn(**answers), month=month, min_cell=rng.choice([2, 3, 5]))
            pooled += bool(answers)
        db.commit()
    clock.set_frozen(datetime(2025, 4, 1, 9, tzinfo=UTC))
    service.publish_due(db, ring, min_cell=1000)  # month end: everything still waiting goes
    db.commit()
    assert db.scalar(select(func.count()).select_from(EqualityPending)) == 0
    raw = {(m, c, v): n for m, c, v, n in db.execute(
        select(EqualityAnswer.month, EqualityAnswer.characteristic, EqualityAnswer.value, func.count())
        .group_by(EqualityAnswer.month, EqualityAnswer.characteristic, EqualityAnswer.value))}
    kept = {(r.month, r.characteristic, r.value): r.respondents for r in db.scalars(select(EqualityCount))}
    assert kept == raw
    assert sum(n for (_m, c, _v), n in kept.items() if c == "sex") == pooled
