"""Check-ins (contract section 4): the case's own list, completion, and the open ones across cases."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Query

from app import flows
from app.api.paging import Paged
from app.checkins import service
from app.checkins.schemas import (
    CaseCheckInRead,
    CheckInComplete,
    CheckInCompleted,
    CheckInRead,
)
from app.http.cases import VisibleCase
from app.http.state import CurrentSettings, Keys
from app.http.transactions import CommitInThreadRoute, DbSession
from app.http.users import CaseWorker
from app.schemas import Day

router = APIRouter(prefix="/api/v1", tags=["check-ins"], route_class=CommitInThreadRoute)


@router.get("/cases/{case_id}/check-ins", response_model=list[CaseCheckInRead], responses={404: {}})
def case_check_ins(
    case: VisibleCase, user: CaseWorker, session: DbSession, ring: Keys, paging: Paged
) -> list[CaseCheckInRead]:
    """Every check-in of the case, oldest first, with decrypted summaries (safeguarding, or the
    case's HR contact; 404 for anyone else who may not see the case). The read is audited."""
    rows = service.list_for_case(session, ring, user, case=case)
    return [CaseCheckInRead.with_summary(row, summary) for row, summary in paging.window(rows)]


@router.post("/cases/{case_id}/check-ins/{check_in_id}/complete", response_model=CheckInCompleted, responses={
    404: {}, 409: {"description": "Already completed or cancelled, or the case is closed."}})
def complete_check_in(
    case_id: uuid.UUID,
    check_in_id: uuid.UUID,
    body: CheckInComplete,
    user: CaseWorker,
    session: DbSession,
    ring: Keys,
    settings: CurrentSettings,
) -> CheckInCompleted:
    """Record a check-in: an encrypted summary and whether the support is suitable. Books the next
    one `SAFESHARE_CHECKIN_INTERVAL_DAYS` from today. 409 if it is already completed or cancelled,
    or the case is closed. Risk words in the summary raise the case's "possible risk" flag; they, or
    "not suitable" on an urgent case, are told to the safeguarding team."""
    done, following = flows.complete_check_in(
        session, ring, settings, user=user, case_id=case_id, check_in_id=check_in_id,
        summary=body.summary, support_suitable=body.support_suitable,
    )
    return CheckInCompleted.completed(done, body.summary, next_due_on=following.due_on)


@router.get("/check-ins", response_model=list[CheckInRead])
def open_check_ins(
    user: CaseWorker,
    session: DbSession,
    paging: Paged,
    due_before: Day | None = Query(default=None, description="Only check-ins due before this day (exclusive), YYYY-MM-DD."),
) -> list[CheckInRead]:
    """Open check-ins, soonest first: an HR contact sees their own, safeguarding sees all. Never
    those of a case the caller is excluded from or of a closed case. `overdue` is true when the
    check-in was due before today."""
    return [CheckInRead.of(row) for row in paging.window(service.list_open(session, user, due_before=due_before))]
