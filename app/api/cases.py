"""Cases for staff. A case the user may not see is a 404; every response with decrypted case text
writes a `case.read` audit entry.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response

from app import flows
from app.api.paging import Paged, Paging, paged
from app.attachments import schemas as files
from app.attachments import service as attachments
from app.auth.models import User
from app.cases import history, service
from app.cases.models import Case, Message, Note
from app.cases.schemas import (
    CaseCreate,
    CaseCreated,
    CasePage,
    CaseRead,
    CaseUpdate,
    CloseIn,
    ExclusionIn,
    ExclusionRead,
    HistoryRead,
    HrContactIn,
    MessageRead,
    NoteIn,
    NoteRead,
    RedactionIn,
    TextIn,
)
from app.checkins import service as checkins
from app.enums import Risk, Status
from app.handoff import service as handoff
from app.handoff.service import ExportPart
from app.http.bodies import INTAKE_CEILING, intake_body_limit
from app.http.cases import SafeguardingCase, TriageCase, VisibleCase, WorkCase, case_filter
from app.http.files import pdf_response
from app.http.state import CurrentSettings, Keys, Sessions
from app.http.transactions import CommitInThreadRoute, DbSession, record_refusal
from app.http.users import CaseWorker, Safeguarding
from app.schemas import FileRef, Slug

router = APIRouter(prefix="/api/v1", tags=["cases"], route_class=CommitInThreadRoute)


def _detail(session: DbSession, keys: Keys, user: User, case: Case) -> CaseRead:
    """The whole case for `user`, decrypted and audited (`case.read`)."""
    content = service.read_content(session, keys, user=user, case=case)
    return CaseRead.of(
        service.case_row(session, case=case), content, next_check_in=checkins.next_due(session, case_id=case.id)
    )


@router.get("/cases", response_model=CasePage)
def list_cases(
    user: CaseWorker,
    session: DbSession,
    makers: Sessions,
    keys: Keys,
    paging: Annotated[Paging, paged(25, 100)],
    status: Annotated[list[Status], Query(description="Repeat to match several statuses.")] = [],  # noqa: B006
    theme: Annotated[Slug | None, Query(description="Cases carrying this theme (slug).")] = None,
    hr_contact: Annotated[
        str | None,
        Query(description="A user id; `none` for cases without an HR contact; `inactive` for open cases "
              "whose HR contact's account was deactivated (they need a new one)."),
    ] = None,
    risk: Annotated[Risk | None, Query(description="Only `urgent` (or `standard`) cases.")] = None,
    overdue: Annotated[
        bool, Query(description="Only open cases with a deadline passed: acknowledgement, feedback, or a check-in.")
    ] = False,
    reference: Annotated[
        str | None,
        Query(max_length=40, description="The reference a reporter quotes (`SS-XXXX-XXXX`; any letter case, "
              "spaces or dashes): the one case, if you may see it."),
    ] = None,
    owner: Annotated[
        str | None,
        Query(max_length=40, description="`me` for the cases you own; a user id; `none` for cases nobody owns; "
              "`inactive` for open cases whose owner's account was deactivated."),
    ] = None,
    open_referral: Annotated[
        bool, Query(description="Only cases (open or closed) with a referral not yet marked complete.")
    ] = False,
    q: Annotated[
        str | None,
        Query(max_length=200, description="Words to find inside the cases: their reference, description, "
              "reporter's name, notes you may read and messages. Every word must be there, in any letter case "
              "and any form of it (`bullied` finds `bullying`); up to 10 words. Audited without the words."),
    ] = None,
) -> CasePage:
    """The cases you may see, urgent first and then oldest first, with the EU Whistleblowing
    Directive's deadline flags: `acknowledgement_overdue` (open, not acknowledged within 7 days of
    `received_at`) and `feedback_overdue` (open, and the reporter has heard nothing from staff for
    3 months since the acknowledgement, or since the 7 days ran out without one), and
    `referral_overdue` (open, with a referral not completed by its due date; `overdue=true` includes
    these). No case text here, so listing is not audited. A page past the end is empty."""
    filters = case_filter(status=status, theme=theme, hr_contact=hr_contact, risk=risk, overdue=overdue,
                          reference=reference, open_referral=open_referral, owner=owner, me=user, q=q)
    rows, total = service.list_cases(
        session, user=user, filters=filters, page=paging.page, page_size=paging.page_size,
        also_overdue=checkins.overdue_clause(), ring=keys,
    )
    if filters.reference is not None and total == 0:
        refused = service.refused_search(session, user=user, reference=filters.reference)
        if refused is not None:  # an empty list, as for anyone, but the attempt is audited
            record_refusal(makers, refused)
    paging.announce(total)
    return CasePage.of(rows, total)


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
    case, receipt = flows.record_contact(session, keys, settings, user=user, data=body)
    # The caller's own words: audited as case.create, not as a read.
    content = service.read_content(session, keys, user=user, case=case, audited=False)
    return CaseCreated.created(service.case_row(session, case=case), content, receipt=receipt)


@router.get("/cases/{case_id}", response_model=CaseRead)
def read_case(case: VisibleCase, user: CaseWorker, session: DbSession, keys: Keys) -> CaseRead:
    """The whole case, decrypted (audited). The reporter's identity only when they gave it;
    `description` is null once the case has been erased after its retention date."""
    return _detail(session, keys, user, case)


@router.patch("/cases/{case_id}", response_model=CaseRead, responses={409: {"description": "The case is closed or erased."}})
def triage_case(body: CaseUpdate, case: TriageCase, user: Safeguarding, session: DbSession, keys: Keys) -> CaseRead:
    """Triage (safeguarding): themes, primary theme, risk, wishes, location. Only the fields given change.
    The first primary theme moves the case from `received` to `triaged` and acknowledges it.
    New themes must be active; the primary theme is added to the themes if missing. A new location
    must be active (`prefer_not_to_say` or null clears it). 409 if closed (triage) or erased.
    `owner_id` takes, hands over or lets go of the case (409 for a user who does not hold
    `safeguarding`, is inactive or excluded; 422 for no such user); alone it works on a closed case too."""
    flows.update_case(session, keys, user=user, case=case, data=body)
    return _detail(session, keys, user, case)


@router.put("/cases/{case_id}/hr-contact", response_model=CaseRead, responses={
    409: {"description": "The user does not hold `hr`, is inactive or excluded, or the case is closed."}})
def assign_hr_contact(
    body: HrContactIn, case: TriageCase, user: Safeguarding, session: DbSession, keys: Keys, settings: CurrentSettings
) -> CaseRead:
    """Make a user the case's single HR point of contact (safeguarding), replacing any earlier one
    (audited `case.assign`), and book the first check-in. The case becomes `in_progress`.
    409 if the user does not hold `hr`, is inactive or is excluded, or if the case is closed;
    422 if there is no such user. Assigning the current contact again changes nothing."""
    flows.assign_hr_contact(session, settings, user=user, case=case, user_id=body.user_id, ring=keys)
    return _detail(session, keys, user, case)


@router.post("/cases/{case_id}/exclusions", response_model=ExclusionRead, status_code=201,
             responses={409: {"description": "The user is already excluded."}})
def exclude_user(
    body: ExclusionIn, case: TriageCase, user: Safeguarding, session: DbSession, keys: Keys
) -> ExclusionRead:
    """Exclude a user from the case (safeguarding): a person named in it, or close to someone who is.
    They can never see it, be assigned to it or be reminded of it. If they are its HR contact they
    stop being it, their check-ins are cancelled and the case goes back to `triaged`. The reason is
    stored encrypted. You may exclude yourself (you then lose sight of the case). 409 if already
    excluded; 422 if there is no such user."""
    row = flows.exclude(session, keys, user=user, case=case, user_id=body.user_id, reason=body.reason)
    return ExclusionRead.of(row, body.reason, service.people(session, {row.user_id, row.created_by_id}))


@router.get("/cases/{case_id}/exclusions", response_model=list[ExclusionRead])
def list_exclusions(
    case: SafeguardingCase, user: Safeguarding, session: DbSession, keys: Keys, paging: Paged
) -> list[ExclusionRead]:
    """Who is excluded from the case and why (safeguarding; audited)."""
    rows = service.list_exclusions(session, keys, user=user, case=case)
    ids = {r.user_id for r, _ in rows}.union(r.created_by_id for r, _ in rows)
    people = service.people(session, ids)
    return [ExclusionRead.of(r, reason, people) for r, reason in paging.window(rows)]


@router.get("/cases/{case_id}/history", response_model=list[HistoryRead])
def case_history(case: SafeguardingCase, user: Safeguarding, session: DbSession, paging: Paged) -> list[HistoryRead]:
    """Everything that happened to the case, oldest first, from the audit trail in plain words: who
    opened it, read its notes or messages, changed it, wrote, referred, opened a file, or was
    refused access (safeguarding; HR contacts get 403). Never what a note or message says. Reading
    it is audited."""
    return [HistoryRead.of(e) for e in paging.window(history.read(session, user=user, case=case))]


@router.get("/cases/{case_id}/export.pdf", response_class=Response, responses={
    200: {"content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}, "description": "The PDF."},
    409: {"description": "The case has been erased."}})
def export_case(
    case: SafeguardingCase, user: Safeguarding, session: DbSession, keys: Keys, settings: CurrentSettings,
    parts: Annotated[list[ExportPart], Query(description="Repeat for each part wanted; none given: "
                                             + ", ".join(handoff.DEFAULT_PARTS) + ".")] = [],  # noqa: B006
) -> Response:
    """The case as a PDF to hand to a formal investigation (safeguarding): the parts chosen, every
    page marked with who exported it and when. The reporter's identity only when they agreed to it
    being shared (`identity_sharing: yes`). Audited (`case.export`, with the parts); 409 once erased."""
    chosen = [p.value for p in parts] or list(handoff.DEFAULT_PARTS)
    return pdf_response(handoff.export_pdf(session, keys, user=user, case=case, parts=chosen, tz=settings.hours.tz))


@router.get("/cases/{case_id}/notes", response_model=list[NoteRead])
def list_notes(case: VisibleCase, user: CaseWorker, session: DbSession, keys: Keys, paging: Paged) -> list[NoteRead]:
    """Internal notes, oldest first; never shown to the reporter (safeguarding and the assigned HR
    contact; audited). An HR contact never receives a note for the safeguarding team only."""
    rows = service.read_notes(session, keys, user=user, case=case)
    people = service.people(session, {n.author_id for n, _ in rows})
    on_notes = files.by_note(attachments.for_staff(session, keys, user=user, case=case, include_withdrawn=True))
    return [NoteRead.of(n, body, people.get(n.author_id) if n.author_id else None, on_notes.get(n.id))
            for n, body in paging.window(rows)]


@router.post("/cases/{case_id}/notes", response_model=NoteRead, status_code=201, responses={409: {"description": "The case is closed or erased."}})
def add_note(body: NoteIn, case: WorkCase, user: CaseWorker, session: DbSession, keys: Keys) -> NoteRead:
    """Add an internal note (encrypted), with files you uploaded in `attachment_ids` (422 for a file
    that is not yours, not this case's, or already shown). `visibility: safeguarding` keeps it from
    the HR contact (403 for an HR contact who asks for it). 409 once the case has been erased."""
    note = flows.add_note(session, keys, user=user, case=case, body=body.body, attachment_ids=body.attachment_ids,
                          visibility=body.visibility)
    on_notes = files.by_note(attachments.for_staff(session, keys, user=user, case=case))
    return NoteRead.of(note, body.body, user, on_notes.get(note.id))


_REDACT: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such case, or no such text on it."},
    409: {"description": "The case has been erased."}}


def _redact(session: DbSession, keys: Keys, user: User, case: Case, *, kind: str, row_id: uuid.UUID, passage: str
            ) -> tuple[Note | Message, str, User | None, list[FileRef] | None]:
    """Redact, then what the answer shows: the row, its new text, its author and its files."""
    row, text = service.redact(session, keys, user=user, case=case, kind=kind, row_id=row_id, passage=passage)
    listed = attachments.for_staff(session, keys, user=user, case=case, include_withdrawn=True)
    on = files.by_note(listed) if kind == "note" else files.by_message(listed)
    author = service.people(session, {row.author_id}).get(row.author_id) if row.author_id else None
    return row, text, author, on.get(row.id)


@router.post("/cases/{case_id}/notes/{note_id}/redactions", response_model=NoteRead, responses=_REDACT)
def redact_note(
    note_id: uuid.UUID, body: RedactionIn, case: SafeguardingCase, user: Safeguarding, session: DbSession, keys: Keys
) -> NoteRead:
    """Take a passage out of an internal note (safeguarding): every occurrence becomes `[redacted]`
    and the note is sealed again without it. The history records that a redaction happened, by whom
    and when, never what was removed. 422 when the note does not hold the passage."""
    note, text, author, on = _redact(session, keys, user, case, kind="note", row_id=note_id, passage=body.passage)
    assert isinstance(note, Note)
    return NoteRead.of(note, text, author, on)


@router.post("/cases/{case_id}/messages/{message_id}/redactions", response_model=MessageRead, responses=_REDACT)
def redact_message(
    message_id: uuid.UUID, body: RedactionIn, case: SafeguardingCase, user: Safeguarding, session: DbSession,
    keys: Keys,
) -> MessageRead:
    """Take a passage out of a message, from the reporter or to them (safeguarding): the reporter
    then reads `[redacted]` in its place too. As for notes, the history says that, never what."""
    message, text, author, on = _redact(session, keys, user, case, kind="message", row_id=message_id,
                                        passage=body.passage)
    assert isinstance(message, Message)
    return MessageRead.of(message, text, author, on)


@router.get("/cases/{case_id}/messages", response_model=list[MessageRead])
def list_messages(
    case: VisibleCase, user: CaseWorker, session: DbSession, keys: Keys, paging: Paged
) -> list[MessageRead]:
    """The two-way thread with the reporter, oldest first (safeguarding and the assigned HR contact; audited)."""
    rows = service.read_messages(session, keys, user=user, case=case)
    people = service.people(session, {m.author_id for m, _ in rows})
    on_messages = files.by_message(attachments.for_staff(session, keys, user=user, case=case, include_withdrawn=True))
    return [MessageRead.of(m, body, people.get(m.author_id) if m.author_id else None, on_messages.get(m.id))
            for m, body in paging.window(rows)]


@router.post("/cases/{case_id}/messages", response_model=MessageRead, status_code=201, responses={409: {"description": "The case is closed or erased."}})
def send_message(body: TextIn, case: WorkCase, user: CaseWorker, session: DbSession, keys: Keys) -> MessageRead:
    """Write to the reporter (encrypted), with files you uploaded in `attachment_ids` (the reporter
    may then download them). The first staff message acknowledges the case. 409 once erased."""
    message = flows.staff_message(session, keys, user=user, case=case, body=body.body,
                                  attachment_ids=body.attachment_ids)
    on_messages = files.by_message(attachments.for_staff(session, keys, user=user, case=case))
    return MessageRead.of(message, body.body, user, on_messages.get(message.id))


@router.post("/cases/{case_id}/close", response_model=CaseRead, responses={409: {"description": "The case is closed or erased."}})
def close_case(
    body: CloseIn, case: WorkCase, user: CaseWorker, session: DbSession, keys: Keys, settings: CurrentSettings
) -> CaseRead:
    """Close the case with an outcome (safeguarding, or the assigned HR contact). Open check-ins are
    cancelled, the reporter can now give feedback and the case is kept until `retain_until`
    (closure date + `SAFESHARE_RETENTION_YEARS`), when `safeshare purge` erases it. 409 if already closed."""
    flows.close_case(session, keys, settings, user=user, case=case, outcome=body.outcome, summary=body.summary)
    return _detail(session, keys, user, case)
