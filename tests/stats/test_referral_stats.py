"""Referral counts in the statistics: by kind and month made, and how they stand, under the one
disclosure rule (the kinds and the statuses share each month's total), through the API."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session

from app import clock
from app.cases.models import Referral
from app.enums import ReferralKind
from app.stats import referrals
from tests.stats.factory import add_case
from tests.stats.test_disclosure_bruteforce import MONTHS, check

TODAY = date(2025, 6, 15)


def add_referral(db: Session, *, kind: str, month: str, day: int = 10, due_in: int = 5,
                 completed_after: int | None = None) -> None:
    case = add_case(db, month=month)
    made = datetime(int(month[:4]), int(month[5:7]), day, 12, 0, tzinfo=UTC)
    db.add(Referral(
        id=uuid.uuid4(), case_id=case.id, kind=ReferralKind(kind), created_at=made,
        due_on=made.date() + timedelta(days=due_in),
        completed_on=made.date() + timedelta(days=completed_after) if completed_after is not None else None,
    ))
    db.flush()


def test_counts_by_kind_and_month_and_how_they_stand(client: Any, db: Session, make_staff: Any) -> None:
    clock.set_frozen(datetime(2025, 6, 15, 12, 0, tzinfo=UTC))
    for _ in range(4):
        add_referral(db, kind="formal_investigation", month="2025-01", due_in=28, completed_after=20)
    for _ in range(3):
        add_referral(db, kind="police", month="2025-01", due_in=1, completed_after=3)
    for _ in range(5):
        add_referral(db, kind="occupational_health", month="2025-02", due_in=14, completed_after=10)
    add_referral(db, kind="police", month="2025-02", due_in=1)  # one, alone: withheld
    for _ in range(3):
        add_referral(db, kind="regulator_notification", month="2025-06", day=14, due_in=5)  # open, not yet due
    db.commit()
    lead = make_staff("leadership")
    # Asked on 15 June: January to April have settled (a month settles on the first day of the
    # month after next), so their cells are published.
    r = client.get("/api/v1/stats/referrals?from=2025-01&to=2025-04", headers=lead.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["periods"] == ["2025-01", "2025-02", "2025-03", "2025-04"]
    rows = {row["kind"]: row for row in body["rows"]}
    assert set(rows) == {k.value for k in ReferralKind}
    assert rows["formal_investigation"]["counts"] == [4, 0, 0, 0] and rows["formal_investigation"]["total"] == 4
    assert rows["police"]["counts"][0] == 3
    # February: police 1 is withheld, and so is occupational health (else the month's total gives it away).
    assert rows["police"]["counts"][1] is None and rows["police"]["total"] is None
    assert rows["occupational_health"]["counts"][1] is None
    # The month's total stays: two withheld cells (1 and 5) share it, so neither can be worked out.
    assert body["counts"] == [7, 6, 0, 0] and body["total"] == 13
    # Standing today: January's police referrals were done late; February's lone overdue one is
    # withheld, and with it February's completed-on-time ones.
    assert body["status"] == {"open": 0, "overdue": None, "completed_on_time": None, "completed_late": 3}
    yearly = client.get("/api/v1/stats/referrals?from=2025-01&to=2025-04&bucket=year", headers=lead.headers).json()
    assert yearly["periods"] == ["2025"] and {x["kind"]: x["counts"] for x in yearly["rows"]}["formal_investigation"] == [4]

    # May and June have not settled: only their totals show (June's three referrals), never their kinds.
    whole = client.get("/api/v1/stats/referrals?from=2025-01&to=2025-06", headers=lead.headers).json()
    assert whole["counts"] == [7, 6, 0, 0, 0, 3] and whole["total"] == 16
    assert all(row["counts"][4:] == [None, None] and row["total"] is None for row in whole["rows"])
    assert set(whole["status"].values()) == {None}


def test_roles_and_bad_months(client: Any, make_staff: Any) -> None:
    for role, status in (("leadership", 200), ("safeguarding", 200), ("admin", 200), ("hr", 403)):
        assert client.get("/api/v1/stats/referrals", headers=make_staff(role).headers).status_code == status
    sg = make_staff("safeguarding").headers
    assert client.get("/api/v1/stats/referrals?from=2025-13", headers=sg).status_code == 422
    assert client.get("/api/v1/stats/referrals?from=2025-05&to=2025-01", headers=sg).status_code == 422
    empty = client.get("/api/v1/stats/referrals", headers=sg).json()
    # This month only, not settled: its total (0) shows, its cells wait until it has settled.
    assert empty["total"] == 0 and all(row["total"] is None for row in empty["rows"])


@pytest.mark.parametrize("seed", range(4))
def test_no_withheld_referral_count_can_be_worked_out_across_both_tables(db: Session, seed: int) -> None:
    """The attacker of tests/stats/test_disclosure_bruteforce.py over every query of both tables."""
    rng = random.Random(500 + seed)
    clock.set_frozen(datetime(2025, 6, 15, 12, 0, tzinfo=UTC))
    kinds = [k.value for k in ReferralKind]
    for month in MONTHS:
        for kind in kinds[:3]:
            for _ in range(rng.choice([0, 0, 1, 1, 2, 3, 4, 6])):
                done = rng.choice([None, 2, 9])
                add_referral(db, kind=kind, month=month, due_in=5, completed_after=done)
    db.commit()
    by_kind, by_status = referrals.grids(db, start=MONTHS[0], end=MONTHS[-1], min_cell=3)
    check({"kinds": by_kind, "status": by_status}, MONTHS)
