"""Operations that cross domains, in one place: what else happens when a case changes.

A domain never calls a domain above it. When an action in one domain has a consequence in
another (an HR contact assigned books a check-in; a case closed cancels its check-ins), the
interfaces (`app.api`, `app.web`) call the operation here, which calls each domain in turn,
in the request's one transaction. Reading this module tells the whole story of side effects.
"""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from app.auth.models import User
from app.cases import intake
from app.cases import service as cases
from app.cases.models import Case, Exclusion
from app.cases.schemas import CaseCreate, ReportIn
from app.checkins import service as checkins
from app.config import Settings
from app.crypto.keyring import KeyRing
from app.enums import Channel, Outcome
from app.reports import idempotency
from app.reports.schemas import ReportOut


def submit_report(
    session: Session,
    ring: KeyRing,
    settings: Settings,
    *,
    data: ReportIn,
    idempotency_key: idempotency.IdempotencyKey | None = None,
) -> intake.NewCase:
    """A concern raised online. With a claimed Idempotency-Key, the key is completed in this same
    transaction, holding the answer (encrypted) so that a retry can be given it again."""
    new = intake.create_case(session, ring, settings, data=data, channel=Channel.WEB)
    if idempotency_key is not None:
        idempotency.complete(session, idempotency_key, case_id=new.id, response=ReportOut.of(new).model_dump(mode="json"))
    return new


def record_contact(
    session: Session, ring: KeyRing, settings: Settings, *, user: User, data: CaseCreate
) -> tuple[Case, str]:
    """A contact received by phone, e-mail or in person, recorded by the safeguarding team."""
    return intake.record_contact(session, ring, settings, user=user, data=data)


def assign_hr_contact(session: Session, settings: Settings, *, user: User, case: Case, user_id: uuid.UUID) -> None:
    """A new HR point of contact books the first check-in (the previous contact's open ones are cancelled)."""
    if cases.assign_hr_contact(session, user=user, case=case, user_id=user_id):
        assert case.hr_contact_id is not None
        checkins.schedule_first(session, settings, case_id=case.id, hr_contact_id=case.hr_contact_id)


def exclude(session: Session, ring: KeyRing, *, user: User, case: Case, user_id: uuid.UUID, reason: str) -> Exclusion:
    """Excluding the case's HR contact also ends their open check-ins."""
    row, unassigned = cases.exclude(session, ring, user=user, case=case, user_id=user_id, reason=reason)
    if unassigned:
        checkins.cancel_open(session, case_id=case.id)
    return row


def close_case(
    session: Session, ring: KeyRing, settings: Settings, *, user: User, case: Case, outcome: Outcome, summary: str
) -> Case:
    """A closed case has no check-in due any more."""
    cases.close(session, ring, settings, user=user, case=case, outcome=outcome, summary=summary)
    checkins.cancel_open(session, case_id=case.id)
    return case
