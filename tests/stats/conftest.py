from __future__ import annotations

import pytest
from sqlalchemy import update

from app.themes.models import Theme
from tests.stats.factory import add_case

# The hand-made fixture: 2024-01..2024-03, known by heart (see test_themes_api.py).
HAND_MADE = {
    "2024-01": {"domestic_abuse": 3, "misconduct": 1, "bullying": 6, "line_manager": 4},
    "2024-02": {"domestic_abuse": 4, "bullying": 3, "mental_health": 2, "line_manager": 5, "gambling": 3},
    "2024-03": {"misconduct": 5, "bullying": 4, "mental_health": 3, "line_manager": 6, None: 1},
}


@pytest.fixture
def hand_made(db):
    """Load the hand-made fixture; January's bullying cases are purged; gambling is retired."""
    for month, cells in HAND_MADE.items():
        for theme, n in cells.items():
            for _ in range(n):
                add_case(db, theme=theme, month=month, purged=(month == "2024-01" and theme == "bullying"))
    db.execute(update(Theme).where(Theme.slug == "gambling").values(active=False))
    db.commit()
