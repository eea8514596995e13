"""`safeshare purge`: only closed cases past their retention date, each once, even run twice at once."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from app import clock, flows, retention
from app.audit.models import AuditEvent
from app.audit.service import Actor
from app.auth.models import User
from app.cases import service
from app.cases.models import Case
from app.enums import Outcome
from tests.cases.conftest import World, load_case, run_purge

CLOSED_ON = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def _close(app: Any, world: World, case_id: uuid.UUID) -> None:
    with app.state.sessionmaker() as s, s.begin():
        flows.close_case(s, app.state.keyring, app.state.settings, user=s.get(User, uuid.UUID(world.id("safeguarding"))),
                      case=s.get(Case, case_id), outcome=Outcome.WITHDRAWN, summary="Withdrawn.")



def test_purge_leaves_open_cases_and_cases_within_retention_alone(client: Any, app: Any, world: World) -> None:
    clock.set_frozen(CLOSED_ON)
    still_open = world.new_case()
    closed_late = world.new_case()
    closed_early = world.new_case()
    _close(app, world, closed_early)
    clock.set_frozen(datetime(2027, 3, 2, 10, 0, tzinfo=UTC))
    _close(app, world, closed_late)

    clock.set_frozen(datetime(2032, 6, 1, tzinfo=UTC))  # past 2032-03-02, before 2033-03-02
    assert run_purge(app.state.settings).startswith("purged 1 case(s) past their retention date;")
    assert load_case(app, closed_early).purged_at is not None
    assert load_case(app, closed_late).purged_at is None and load_case(app, closed_late).description_ct
    assert load_case(app, still_open).purged_at is None and load_case(app, still_open).description_ct


def test_two_purges_at_once_erase_each_case_once(client: Any, app: Any, world: World) -> None:
    clock.set_frozen(CLOSED_ON)
    ids = [world.new_case(assign=False, exclude=False) for _ in range(4)]
    for case_id in ids:
        _close(app, world, case_id)
    clock.set_frozen(datetime(2033, 1, 1, tzinfo=UTC))
    counts: list[int] = []
    barrier = threading.Barrier(2)

    def purge_once() -> None:
        barrier.wait()
        with app.state.sessionmaker() as s, s.begin():
            batch = service.purgeable(s, today=clock.today(), limit=50)
            for case in batch:
                retention.erase_case(s, case=case, by=Actor.system("purge"))
            counts.append(len(batch))

    threads = [threading.Thread(target=purge_once) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(counts) == 2 and sum(counts) == 4  # disjoint: no case claimed by both
    with app.state.sessionmaker() as s:
        purges = s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "case.purge"))
    assert purges == 4
    assert all(load_case(app, i).purged_at is not None for i in ids)
