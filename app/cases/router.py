"""Cases for staff (contract section 4). Safeguarding sees every case; an HR user only the cases
assigned to them (404 for the rest); admin and leadership get 403 on every route here. A user
excluded from a case gets 404 and never sees it listed. Every response that carries decrypted
case text writes a `case.read` audit entry."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from app.auth.models import User
from app.cases import service
from app.cases.dependencies import (
    SafeguardingCase,
    TriageCase,
    VisibleCase,
    WorkCase,
)
from app.cases.models import Case
from app.cases.schemas import (
    CaseCreate,
    CaseCreated,
    CasePage,
    CaseRead,
    CaseSummary,
    CaseUpdate,
    CloseIn,
    ExclusionIn,
    ExclusionRead,
    HrContactIn,
    MessageRead,
    NoteRead,
    Person,
    TextIn,
)
from app.checkins import service as checkins
from app.db import CommitInThreadRoute
from app.dependencies import (
    INTAKE_CEILING,
    CaseWorker,
    CurrentSettings,
    DbSession,
    Keys,
    Safeguarding,
    intake_body_limit,
)
from app.enums import Status
from app.errors import Invalid

router = APIRouter(prefix="/api/v1", tags=["cases"], route_class=CommitInThreadRoute)


def _person(user: User | None) -> Person | None:
    return Person(id=user.id, name=user.name) if user is not None else None


def _summary_fields(row: service.CaseRow) -> dict:
    c, d = row.case, row.deadlines
    return dict(
        id=c.id, reference=c.reference, status=c.status, channel=c.channel, primary_theme=c.primary_theme,
        risk=c.risk, hr_contact=_person(row.hr_contact), received_at=c.received_at, out_of_hours=c.out_of_hours,
        acknowledged_at=c.acknowledged_at, closed_at=c.closed_at, acknowledge_by=d.acknowledge_by,
        acknowledgement_overdue=d.acknowledgement_overdue, feedback_due=d.feedback_due,
        feedback_overdue=d.feedback_overdue,
    )


def _detail_fields(session: DbSession, case: Case, content: service.CaseContent) -> dict:
    return dict(
        **_summary_fields(service.case_row(session, case=case)),
        anonymous=case.anonymous, reporter=content.reporter, about=case.about, description=content.description,
        themes=case.theme_slugs, suggested_themes=case.suggested_themes, reporter_themes=case.reporter_themes,
        wishes=case.wishes, duration_minutes=case.duration_minutes, triaged_at=case.triaged_at,
        outcome=case.outcome, summary=content.summary, retain_until=case.retain_until, purged_at=case.purged_at,
        next_check_in=checkins.next_due(session, case_id=case.id),
    )


def _detail(session: DbSession, keys: Keys, user: User, case: Case) -> CaseRead:
    content = service.read_content(session, keys, user=user, case=case)
    return CaseRead(**_detail_fields(session, case, content))


@router.get("/cases", response_model=CasePage)
def list_cases(
    user: CaseWorker,
    session: DbSession,
    status: Annotated[list[Status], Query(description="Repeat to match several statuses.")] = [],  # noqa: B006
    theme: Annotated[str | None, Query(description="Cases carrying this theme (slug).")] = None,
    hr_contact: Annotated[
        str | None, Query(description="A user id, or `none` for cases without an HR contact.")
    ] = None,
    page: Annotated[int, Query(ge=1)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 25,
) -> CasePage:
    """The cases you may see, urgent first and then oldest first, with the EU Whistleblowing
    Directive's deadline flags: `acknowledgement_overdue` (open, not acknowledged within 7 days of
    `received_at`) and `feedback_overdue` (open, and the reporter has heard nothing from staff for
    3 months since the acknowledgement, or since the 7 days ran out without one). No case text here,
    so listing is not audited. A page past the end is empty."""
    contact_id: uuid.UUID | None = None
    if hr_contact is not None and hr_contact != "none":
        try:
            contact_id = uuid.UUID(hr_contact)
        except ValueError:
            raise Invalid("hr_contact: a user id or `none`.", field="hr_contact") from None
    rows, total = service.list_cases(
        session, user=user, statuses=status, theme=theme, hr_contact=contact_id,
        unassigned=hr_contact == "none", page=page, page_size=page_size,
    )
    return CasePage(items=[CaseSummary(**_summary_fields(r)) for r in rows], total=total)


@router.post(
    "/cases",
    response_model=CaseCreated,
    status_code=201,
    max_body_size=INTAKE_CEILING,
    dependencies=[Depends(intake_body_limit)],
    responses={413: {"description": "The body is too large."}},
)
def record_contact(
    body: CaseCreate, user: Safeguarding, session: DbSession, keys: Keys, settings: CurrentSettings
) -> CaseCreated:
    """Record a concern received by phone, e-mail or in person (safeguarding). The reply carries a
    `receipt` to give the person once so they can follow up online; it is never stored in clear.
    `out_of_hours` is worked out from `SAFESHARE_OFFICE_HOURS` at `received_at`."""
    case, receipt = service.record_contact(session, keys, settings, user=user, data=body)
    # The caller's own words: audited as case.create, not as a read.
    content = service.read_content(session, keys, user=user, case=case, audited=False)
    return CaseCreated(**_detail_fields(session, case, content), receipt=receipt)


@router.get("/cases/{case_id}", response_model=CaseRead)
def read_case(case: VisibleCase, user: CaseWorker, session: DbSession, keys: Keys) -> CaseRead:
    """The whole case, decrypted (audited). The reporter's identity only when they gave it;
    `description` is null once the case has been erased after its retention date."""
    return _detail(session, keys, user, case)


@router.patch("/cases/{case_id}", response_model=CaseRead)
def triage_case(body: CaseUpdate, case: TriageCase, user: Safeguarding, session: DbSession, keys: Keys) -> CaseRead:
    """Triage (safeguarding): themes, primary theme, risk, wishes. Only the fields given change.
    The first primary theme moves the case from `received` to `triaged` and acknowledges it.
    New themes must be active; the primary theme is added to the themes if missing. 409 if closed."""
    service.triage(session, user=user, case=case, data=body)
    return _detail(session, keys, user, case)


@router.put("/cases/{case_id}/hr-contact", response_model=CaseRead)
def assign_hr_contact(
    body: HrContactIn, case: TriageCase, user: Safeguarding, session: DbSession, keys: Keys, settings: CurrentSettings
) -> CaseRead:
    """Make a user the case's single HR point of contact (safeguarding), replacing any earlier one
    (audited `case.assign`), and book the first check-in. The case becomes `in_progress`.
    409 if the user does not hold `hr`, is inactive or is excluded, or if the case is closed;
    422 if there is no such user. Assigning the current contact again changes nothing."""
    service.assign_hr_contact(session, settings, user=user, case=case, user_id=body.user_id)
    return _detail(session, keys, user, case)


def _exclusion(row, reason: str | None, names: dict) -> ExclusionRead:  # type: ignore[no-untyped-def]
    return ExclusionRead(
        id=row.id, user=_person(names[row.user_id]), reason=reason,
        created_by=_person(names.get(row.created_by_id)) if row.created_by_id else None, created_at=row.created_at,
    )


@router.post("/cases/{case_id}/exclusions", response_model=ExclusionRead, status_code=201)
def exclude_user(
    body: ExclusionIn, case: TriageCase, user: Safeguarding, session: DbSession, keys: Keys
) -> ExclusionRead:
    """Exclude a user from the case (safeguarding): a person named in it, or close to someone who is.
    They can never see it, be assigned to it or be reminded of it. If they are its HR contact they
    stop being it, their check-ins are cancelled and the case goes back to `triaged`. The reason is
    stored encrypted. You may exclude yourself (you then lose sight of the case). 409 if already
    excluded; 422 if there is no such user."""
    row, reason = service.exclude(session, keys, user=user, case=case, user_id=body.user_id, reason=body.reason)
    names = service.people(session, {row.user_id, row.created_by_id})
    return _exclusion(row, reason, names)


@router.get("/cases/{case_id}/exclusions", response_model=list[ExclusionRead])
def list_exclusions(case: SafeguardingCase, user: Safeguarding, session: DbSession, keys: Keys) -> list[ExclusionRead]:
    """Who is excluded from the case and why (safeguarding; audited)."""
    rows = service.list_exclusions(session, keys, user=user, case=case)
    names = service.people(session, {r.user_id for r, _ in rows} | {r.created_by_id for r, _ in rows})
    return [_exclusion(r, reason, names) for r, reason in rows]


@router.get("/cases/{case_id}/notes", response_model=list[NoteRead])
def list_notes(case: VisibleCase, user: CaseWorker, session: DbSession, keys: Keys) -> list[NoteRead]:
    """Internal notes, oldest first; never shown to the reporter (safeguarding and the assigned HR contact; audited)."""
    rows = service.read_notes(session, keys, user=user, case=case)
    names = service.people(session, {n.author_id for n, _ in rows})
    return [
        NoteRead(
            id=n.id, body=body, created_at=n.created_at,
            author=_person(names.get(n.author_id)) if n.author_id else None,
        )
        for n, body in rows
    ]


@router.post("/cases/{case_id}/notes", response_model=NoteRead, status_code=201)
def add_note(body: TextIn, case: WorkCase, user: CaseWorker, session: DbSession, keys: Keys) -> NoteRead:
    """Add an internal note (encrypted). 409 once the case has been erased."""
    note = service.add_note(session, keys, user=user, case=case, body=body.body)
    return NoteRead(id=note.id, body=body.body, author=_person(user), created_at=note.created_at)


@router.get("/cases/{case_id}/messages", response_model=list[MessageRead])
def list_messages(case: VisibleCase, user: CaseWorker, session: DbSession, keys: Keys) -> list[MessageRead]:
    """The two-way thread with the reporter, oldest first (safeguarding and the assigned HR contact; audited)."""
    rows = service.read_messages(session, keys, user=user, case=case)
    names = service.people(session, {m.author_id for m, _ in rows})
    return [
        MessageRead(
            id=m.id, from_=m.sender.value, body=body, created_at=m.created_at,
            author=_person(names.get(m.author_id)) if m.author_id else None,
        )
        for m, body in rows
    ]


@router.post("/cases/{case_id}/messages", response_model=MessageRead, status_code=201)
def send_message(body: TextIn, case: WorkCase, user: CaseWorker, session: DbSession, keys: Keys) -> MessageRead:
    """Write to the reporter (encrypted). The first staff message acknowledges the case. 409 once erased."""
    msg = service.send_message(session, keys, user=user, case=case, body=body.body)
    return MessageRead(id=msg.id, from_="staff", body=body.body, author=_person(user), created_at=msg.created_at)


@router.post("/cases/{case_id}/close", response_model=CaseRead)
def close_case(
    body: CloseIn, case: WorkCase, user: CaseWorker, session: DbSession, keys: Keys, settings: CurrentSettings
) -> CaseRead:
    """Close the case with an outcome (safeguarding, or the assigned HR contact). Open check-ins are
    cancelled, the reporter can now give feedback and the case is kept until `retain_until`
    (closure date + `SAFESHARE_RETENTION_YEARS`), when `safeshare purge` erases it. 409 if already closed."""
    service.close(session, keys, settings, user=user, case=case, outcome=body.outcome, summary=body.summary)
    return _detail(session, keys, user, case)
