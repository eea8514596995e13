"""Referrals of a case: safeguarding and the case's HR contact (others get the case's own 404)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from app import clock
from app.api.paging import Paged
from app.cases import referrals, service
from app.cases.schemas import ReferralIn, ReferralRead, ReferralUpdate
from app.http.cases import VisibleCase, WorkCase
from app.http.state import CurrentSettings, Keys
from app.http.transactions import CommitInThreadRoute, DbSession
from app.http.users import CaseWorker

router = APIRouter(prefix="/api/v1", tags=["cases"], route_class=CommitInThreadRoute)


@router.get("/cases/{case_id}/referrals", response_model=list[ReferralRead])
def list_referrals(
    case: VisibleCase, user: CaseWorker, session: DbSession, keys: Keys, paging: Paged
) -> list[ReferralRead]:
    """The case's referrals, oldest first, with their notes (audited as a read of the case)."""
    rows = referrals.read(session, keys, user=user, case=case)
    people = service.people(session, {r.created_by_id for r, _ in rows})
    today = clock.today()
    return [ReferralRead.of(r, note, people, today=today) for r, note in paging.window(rows)]


@router.post("/cases/{case_id}/referrals", response_model=ReferralRead, status_code=201,
             responses={409: {"description": "The case has been erased."}})
def add_referral(
    body: ReferralIn, case: WorkCase, user: CaseWorker, session: DbSession, keys: Keys, settings: CurrentSettings
) -> ReferralRead:
    """Record a hand-off out of the service: a formal investigation, a police or local authority
    safeguarding referral, an occupational health referral or a regulator notification. It is due
    by `due_on`, by default the kind's period from today; until it is completed after that, the
    case is flagged `referral_overdue` in the case lists. The note is stored encrypted."""
    row = referrals.add(session, keys, settings, user=user, case=case, kind=body.kind, note=body.note,
                        due_on=body.due_on)
    return ReferralRead.of(row, body.note, {user.id: user}, today=clock.today())


@router.patch("/cases/{case_id}/referrals/{referral_id}", response_model=ReferralRead,
              responses={404: {}, 409: {"description": "The case has been erased."}})
def update_referral(
    referral_id: uuid.UUID, body: ReferralUpdate, case: WorkCase, user: CaseWorker, session: DbSession, keys: Keys
) -> ReferralRead:
    """Mark a referral completed on `completed_on` (or open it again with null)."""
    row = referrals.complete(session, user=user, case=case, referral_id=referral_id, completed_on=body.completed_on)
    people = service.people(session, {row.created_by_id})
    return ReferralRead.of(row, referrals.note_of(session, keys, case=case, row=row), people, today=clock.today())
