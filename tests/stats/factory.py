"""Arrange statistics fixtures by inserting rows directly (the casework endpoints are built elsewhere).
Like the flows that write them in the service, each marks its month stale (`rollup.mark_stale`)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from app.cases.models import Case, Feedback
from app.checkins.models import CheckIn
from app.enums import About, Channel, Status
from app.stats import rollup


def add_case(
    db: Session,
    *,
    month: str = "2024-01",
    theme: str | None = "bullying",
    day: int = 10,
    channel: Channel = Channel.WEB,
    anonymous: bool = True,
    about: About = About.SELF,
    out_of_hours: bool = False,
    duration_minutes: int | None = None,
    acknowledged_after: timedelta | None = None,
    purged: bool = False,
) -> Case:
    received = datetime(int(month[:4]), int(month[5:7]), day, 12, 0, tzinfo=UTC)
    case = Case(
        reference=uuid.uuid4().hex[:12].upper(),
        channel=channel,
        status=Status.RECEIVED if theme is None else Status.TRIAGED,
        anonymous=anonymous,
        about=about,
        primary_theme=theme,
        received_at=received,
        received_month=month,
        out_of_hours=out_of_hours,
        duration_minutes=duration_minutes,
        acknowledged_at=received + acknowledged_after if acknowledged_after is not None else None,
        triaged_at=received if theme is not None else None,
        purged_at=received + timedelta(days=3000) if purged else None,
    )
    db.add(case)
    db.flush()
    rollup.mark_stale(db, [month])
    return case


def add_cases(db: Session, table: Mapping[tuple[str | None, str], int], **kw: Any) -> None:
    """`table` maps (theme or None for untriaged, month) to how many cases to insert."""
    for (theme, month), n in table.items():
        for _ in range(n):
            add_case(db, theme=theme, month=month, **kw)
    db.commit()


def add_feedback(db: Session, case: Case, ratings: tuple[int, int, int, int]) -> None:
    a, b, c, d = ratings
    given = Feedback(case_id=case.id, listened_to=a, kept_informed=b, support_suitable=c, would_recommend=d)
    db.add(given)
    db.flush()
    rollup.mark_stale(db, [given.created_at.strftime("%Y-%m")])


def add_check_in(db: Session, case: Case, hr_id: uuid.UUID, *, due: date, completed: date | None = None,
                 cancelled: bool = False) -> CheckIn:
    ci = CheckIn(
        case_id=case.id, hr_contact_id=hr_id, due_on=due,
        completed_at=datetime(completed.year, completed.month, completed.day, 15, tzinfo=UTC) if completed else None,
        cancelled_at=datetime(due.year, due.month, due.day, tzinfo=UTC) if cancelled else None,
    )
    db.add(ci)
    db.flush()
    return ci


def campaign_seeds(default: list[int]) -> list[int]:
    """The seeds a randomised statistics test runs: `default` in the suite, range(N) when the
    campaign (bench/stats/campaign.py) sets SAFESHARE_STATS_SEEDS=N."""
    import os

    n = os.environ.get("SAFESHARE_STATS_SEEDS")
    return list(range(int(n))) if n else default
