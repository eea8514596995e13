"""One case on one page (`/staff/cases/{id}`), in the order a safeguarding officer works, with the
forms that act on it; and `/staff/record`, a contact received by phone, e-mail or in person.
Each route takes its API twin's dependencies and calls the same service or flow, so it reads,
changes and audits exactly what the API would for this user."""

from __future__ import annotations

import math
import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from app import clock, flows
from app.attachments import schemas as files
from app.attachments import service as attachment_service
from app.attachments.service import PER_MESSAGE
from app.auth import service as auth
from app.auth.models import User
from app.auth.permissions import Capability
from app.cases import access, history, keyholders, referrals
from app.cases import risk as risk_words
from app.cases import service as cases
from app.cases.models import Case
from app.cases.schemas import (
    CaseCreate,
    CaseUpdate,
    CloseIn,
    ExclusionIn,
    HrContactIn,
    NoteIn,
    RedactionIn,
    ReferralIn,
    ReferralUpdate,
    TextIn,
)
from app.checkins import service as checkins
from app.checkins.schemas import CheckInComplete
from app.config import Settings
from app.db import attempt, end_reads
from app.enums import About, Sender, Status
from app.errors import AppError, Invalid, NotFound
from app.handoff import service as handoff
from app.http.bodies import INTAKE_CEILING
from app.http.cases import SafeguardingCase, TriageCase, VisibleCase, WorkCase
from app.http.files import file_response, pdf_response
from app.http.state import CurrentSettings, Keys, Sessions, settings_of
from app.http.transactions import CommitInThreadRoute, DbSession
from app.http.users import CaseWorker, Safeguarding
from app.labels import CHANNEL_LABELS, OUTCOME_LABELS, REFERRAL_LABELS, STATUS_LABELS
from app.locations import service as locations
from app.replies import service as replies
from app.signposting import service as directory
from app.signposting.schemas import SignpostIn
from app.themes import service as themes
from app.web import uploads
from app.web.pages import FormErrors
from app.web.reporter.forms import ABOUT_LABELS, LOCATION_KIND_LABELS, WISH_LABELS, crlf
from app.web.reporter.routes import FORM_CEILING
from app.web.staff.common import csrf_refused, done, schema_errors, staff_page

router = APIRouter(include_in_schema=False, route_class=CommitInThreadRoute)

CSRF = Annotated[str, Form(alias="csrf_token")]

NOTICES = {
    "triaged": "Triage saved.",
    "referral": "Referral recorded. The case is flagged if it is not completed by its due date.",
    "referral_done": "Referral marked complete.",
    "theme": "Theme added.",
    "assigned": "HR contact assigned. Their first check-in is booked and they have been told by e-mail.",
    "excluded": "Exclusion recorded. That person can no longer see or be told of this case.",
    "note": "Internal note added. The reporter cannot see it.",
    "withdrawn": "The file was withdrawn: nobody can open it now.",
    "message": "Message sent to the reporter.",
    "acknowledged": "The concern is acknowledged: the standard message was sent to the reporter.",
    "check_in": "Check-in recorded. The next one is booked.",
    "closed": "Case closed. The reporter can now give feedback.",
    "signposted": "The organisations were sent to the reporter in a message.",
    "owner": "Owner changed. The handover note is with the internal notes; a new owner is told by e-mail.",
    "sharing": "The reporter's answer about sharing their identity is recorded.",
    "redacted": "The passage was taken out. The history records that you redacted it, never what it said.",
}
# The page's sections: each form's errors are listed in the summary in this order.
FIELD_ORDER = [
    "sharing-identity_sharing", "owner-owner_id", "owner-handover_note", "triage-themes", "triage-primary_theme", "triage-risk", "triage-wishes", "triage-location", "contact-user_id",
    "exclusion-user_id", "exclusion-reason", "note-visibility", "note-body", "note-attachments", "message-template", "message-body", "message-attachments", "signpost-entry_ids", "signpost-message", "check_in-summary",
    "check_in-support_suitable", "referral-kind", "referral-note", "referral-due_on", "referral_done-completed_on",
    "close-outcome", "close-summary", "close-confirm_open_referrals",
]


def _page(
    request: Request, session: DbSession, keys: Keys, user: User, case: Case, *,
    errors: FormErrors | None = None, values: dict[str, Any] | None = None, status_code: int = 200,
    template: str | None = None,
) -> HTMLResponse:
    """The whole case for this user; every decrypted part read through the audited services.
    `template`: a reply template's id, filled in for this case in the message box."""
    errors = errors or FormErrors()
    values = dict(values or {})
    is_safeguarding = user.may(Capability.READ_EVERY_CASE)
    # Every account at once for safeguarding (its forms list them): the names below then come from
    # the session's identity map instead of a query each.
    staff = auth.list_users(session) if is_safeguarding else []
    content = cases.read_content(session, keys, user=user, case=case)
    if not content.access:  # issue 27: the metadata, and who can grant the key
        return staff_page(request, "staff/case_no_key.html", {"case": case, "row": cases.case_row(session, case=case),
                                                               "grantors": keyholders.who_can_grant(session, case=case)})
    notes = cases.read_notes(session, keys, user=user, case=case)
    messages = cases.read_messages(session, keys, user=user, case=case)
    case_check_ins = checkins.list_for_case(session, keys, user, case=case)
    exclusions = cases.list_exclusions(session, keys, user=user, case=case) if is_safeguarding else []
    case_referrals = referrals.read(session, keys, user=user, case=case)
    # The row's deadlines from the thread and referrals just read (an erased case's thread is gone: asked for).
    row = cases.case_row(session, case=case, messages=None if case.purged_at else [m for m, _ in messages],
                         case_referrals=[r for r, _ in case_referrals])
    unsuitable = checkins.support_unsuitable(case, [c for c, _ in case_check_ins])
    named = ({n.author_id for n, _ in notes} | {m.author_id for m, _ in messages} | {e.user_id for e, _ in exclusions}
             | {e.created_by_id for e, _ in exclusions} | {c.completed_by_id for c, _ in case_check_ins}
             | {r.created_by_id for r, _ in case_referrals} | {case.owner_id})
    people = {u.id: u for u in staff if u.id in named} if is_safeguarding else cases.people(session, named)
    all_locations = locations.list_locations(session)
    all_themes = themes.list_themes(session)
    excluded = {e.user_id for e, _ in exclusions}
    open_check_ins = [c for c, _ in case_check_ins if c.completed_at is None and c.cancelled_at is None]
    case_files = attachment_service.for_staff(session, keys, user=user, case=case, include_withdrawn=True)
    mine = [v.row for v in case_files if v.row.author_id == user.id and v.row.withdrawn_at is None]
    opened = attachment_service.opened_ids(session, mine)
    settings = settings_of(request)
    reply_templates = replies.list_templates(session)
    if template:
        chosen = next((t for t in reply_templates if str(t.id) == template), None)
        if chosen is None:
            errors.add("message-template", "That reply template has been removed. Choose another.")
            status_code = 422 if status_code == 200 else status_code
        elif "message" not in values:
            first = min((c.due_on for c, _ in case_check_ins if c.cancelled_at is None), default=None)
            values["message"] = {"body": replies.render(chosen.body, reference=case.reference, first_check_in=first),
                                 "template": template}
    fits = set(case.theme_slugs)
    entries = directory.list_entries(session)
    ctx: dict[str, Any] = {
        "support_entries": sorted(((e, bool(fits & set(e.themes))) for e in entries), key=lambda p: not p[1]),
        "reply_templates": reply_templates,
        "owners": [u for u in staff if u.may(Capability.READ_EVERY_CASE) and u.active and u.id not in excluded],
        "files_on_messages": files.by_message(case_files),
        "files_on_notes": files.by_note(case_files),
        "loose_files": [files.ref(v) for v in case_files
                        if v.row.message_id is None and v.row.note_id is None and v.row.withdrawn_at is None],
        "withdrawable": {str(r.id) for r in mine if r.id not in opened},
        "human_size": uploads.human_size,
        "accept": uploads.ACCEPT,
        "max_files": PER_MESSAGE,
        "max_mb": settings.attachment_max_mb,
        "case": case,
        "row": row,
        "content": content,
        "notes": notes,
        "messages": messages,
        "check_ins": case_check_ins,
        "exclusions": exclusions,
        "referrals": case_referrals,
        "open_referrals": [r for r, _ in case_referrals if r.completed_on is None],
        "unsuitable": unsuitable,
        "marked": risk_words.highlight,
        "acknowledgement": ACKNOWLEDGEMENT,
        "referral_labels": REFERRAL_LABELS,
        "locations": {loc.slug: loc for loc in all_locations},
        "triage_locations": [loc for loc in all_locations if loc.active or loc.slug == case.location],
        "location_kinds": LOCATION_KIND_LABELS,
        "people": people,
        "is_safeguarding": is_safeguarding,
        "is_open": case.status is not Status.CLOSED,
        "erased": case.purged_at is not None,
        "themes": {t.slug: t for t in all_themes},
        "triage_themes": [t for t in all_themes if t.active or t.slug in case.theme_slugs],
        "suggested": [s for s in content.suggested_themes if s not in case.theme_slugs],
        "contacts": [u for u in staff if u.may(Capability.READ_ASSIGNED_CASES) and u.active and u.id not in excluded],
        "excludable": [u for u in staff if u.id not in excluded],
        "wish_labels": WISH_LABELS,
        "about_labels": ABOUT_LABELS,
        "outcome_labels": OUTCOME_LABELS,
        "status_labels": STATUS_LABELS,
        "channel_labels": CHANNEL_LABELS,
        "next_check_in": min((c.due_on for c in open_check_ins), default=None),
        "open_check_in_id": open_check_ins[0].id if open_check_ins else None,
        "today": clock.today(),
        "errors": errors.messages,
        "problems": errors.summary(FIELD_ORDER + [k for k in errors.messages if k.startswith("redact-")]),
        "values": values,
        "notice": NOTICES.get(request.query_params.get("done", "")),
    }
    return staff_page(request, "staff/case.html", ctx, status_code=status_code)


@router.get("/staff/cases/{case_id}", response_class=HTMLResponse)
def case_page(
    request: Request, case: VisibleCase, user: CaseWorker, session: DbSession, keys: Keys,
    template: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    """Everything about one case (safeguarding, or the case's HR contact): reading it is audited.
    `?template=` starts the message box from a reply template, filled in for this case."""
    return _page(request, session, keys, user, case, template=template or None)


HISTORY_PAGE_SIZE = 100


@router.get("/staff/cases/{case_id}/history", response_class=HTMLResponse)
def history_page(
    request: Request, case: SafeguardingCase, user: Safeguarding, session: DbSession,
    page: Annotated[str, Query(max_length=12)] = "1",
) -> Response:
    """Everything that happened to the case, in plain words, to read or print, 100 entries a page
    (`?page=all`: every entry, to print): `GET /api/v1/cases/{id}/history` (safeguarding; HR
    contacts are refused)."""
    entries = history.read(session, user=user, case=case)
    pages = max(1, math.ceil(len(entries) / HISTORY_PAGE_SIZE))
    every = page.strip().lower() == "all"
    number = min(int(page), pages) if page.strip().isdigit() and int(page) >= 1 else 1
    shown = entries if every else entries[(number - 1) * HISTORY_PAGE_SIZE:number * HISTORY_PAGE_SIZE]
    return staff_page(request, "staff/history.html", {
        "case": case, "entries": shown, "now": clock.now(), "total": len(entries), "page": number,
        "pages": 1 if every else pages, "all_pages": pages, "every": every,
        "first": 1 if every else (number - 1) * HISTORY_PAGE_SIZE + 1})


@router.post("/staff/cases/{case_id}/owner", response_class=HTMLResponse, max_body_size=INTAKE_CEILING)
def set_owner(
    request: Request, case: TriageCase, user: Safeguarding, session: DbSession, keys: Keys, csrf: CSRF = "",
    owner_id: Annotated[str, Form()] = "", handover_note: Annotated[str, Form()] = "",
) -> Response:
    """Take the case, hand it over or let it go, with a handover note: `PATCH /api/v1/cases/{id}`
    with `owner_id` (safeguarding)."""
    if (refused := csrf_refused(request, csrf, _back(case))) is not None:
        return refused
    note = crlf(handover_note).strip()

    def act() -> None:
        if not owner_id:
            raise Invalid("Choose who should own the case.", field="owner_id")
        wanted = None if owner_id == "nobody" else owner_id
        body = CaseUpdate.model_validate({"owner_id": wanted, "handover_note": note or None})
        flows.set_owner(session, keys, user=user, case=case, owner_id=body.owner_id, note=body.handover_note)

    values = {"owner_id": owner_id, "handover_note": note}
    return _apply(request, session, keys, user, case, "owner", values, "owner", "owner", act, field="owner_id")


@router.post("/staff/cases/{case_id}/{part}/{row_id}/redact", response_class=HTMLResponse)
def redact(
    request: Request, part: str, row_id: uuid.UUID, case: SafeguardingCase, user: Safeguarding, session: DbSession,
    keys: Keys, csrf: CSRF = "", passage: Annotated[str, Form()] = "",
) -> Response:
    """Take a passage out of a note or a message (`part`: `notes` or `messages`):
    `POST /api/v1/cases/{id}/{part}/{row_id}/redactions` (safeguarding)."""
    if part not in ("notes", "messages"):
        raise NotFound("No such page.")
    kind = part.removesuffix("s")
    if (refused := csrf_refused(request, csrf, _back(case))) is not None:
        return refused
    text = crlf(passage)

    def act() -> None:
        body = RedactionIn.model_validate({"passage": text})
        cases.redact(session, keys, user=user, case=case, kind=kind, row_id=row_id, passage=body.passage)

    anchor = "notes-title" if kind == "note" else "thread"
    return _apply(request, session, keys, user, case, "redact", {"passage": text, "row": str(row_id)}, "redacted",
                  anchor, act, field="passage")


@router.get("/staff/cases/{case_id}/export.pdf")
def export_pdf(
    case: SafeguardingCase, user: Safeguarding, session: DbSession, keys: Keys, settings: CurrentSettings,
    parts: Annotated[list[str], Query()] = [],  # noqa: B006 - FastAPI copies defaults
) -> Response:
    """The case as a PDF for a formal investigation: `GET /api/v1/cases/{id}/export.pdf` (safeguarding)."""
    chosen = [p for p in parts[:10] if p in handoff.PARTS] or list(handoff.DEFAULT_PARTS)
    return pdf_response(handoff.export_pdf(session, keys, user=user, case=case, parts=chosen, tz=settings.hours.tz))


@router.post("/staff/cases/{case_id}/identity-sharing", response_class=HTMLResponse)
def set_identity_sharing(
    request: Request, case: TriageCase, user: Safeguarding, session: DbSession, keys: Keys, csrf: CSRF = "",
    identity_sharing: Annotated[str, Form()] = "",
) -> Response:
    """Record the named reporter's answer about sharing their identity with a formal investigation:
    `PATCH /api/v1/cases/{id}` with `identity_sharing` (safeguarding)."""
    if (refused := csrf_refused(request, csrf, _back(case))) is not None:
        return refused

    def act() -> None:
        body = CaseUpdate.model_validate({"identity_sharing": identity_sharing.strip() or None})
        flows.update_case(session, keys, user=user, case=case, data=body)

    values = {"identity_sharing": identity_sharing}
    return _apply(request, session, keys, user, case, "sharing", values, "sharing", "who-raised-it", act,
                  field="identity_sharing")


def _failed(
    request: Request, session: DbSession, keys: Keys, user: User, case: Case, errors: FormErrors,
    values: dict[str, Any], status_code: int = 422,
) -> HTMLResponse:
    return _page(request, session, keys, user, case, errors=errors, values=values, status_code=status_code)


def _back(case: Case) -> str:
    return f"/staff/cases/{case.id}"


# --- triage (safeguarding) ------------------------------------------------------------------------


@router.post("/staff/cases/{case_id}/triage", response_class=HTMLResponse)
def triage(
    request: Request, case: TriageCase, user: Safeguarding, session: DbSession, keys: Keys, csrf: CSRF = "",
    theme: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI copies defaults
    primary_theme: Annotated[str, Form()] = "",
    risk: Annotated[str, Form()] = "",
    wish: Annotated[list[str], Form()] = [],  # noqa: B006
    location: Annotated[str, Form()] = "",
    location_asked: Annotated[str, Form()] = "",
) -> Response:
    """Themes, primary theme, risk, wishes and location: `PATCH /api/v1/cases/{id}`."""
    if (refused := csrf_refused(request, csrf, _back(case))) is not None:
        return refused
    values = {"theme": theme, "primary_theme": primary_theme, "risk": risk, "wish": wish, "location": location}
    data: dict[str, Any] = {"themes": theme, "risk": risk or None, "wishes": wish}
    if location_asked:  # the form had the location box ("" there: none given)
        data["location"] = location or None
    if primary_theme:
        data["primary_theme"] = primary_theme
    data = {k: v for k, v in data.items() if v is not None or k == "location"}
    return _apply(request, session, keys, user, case, "triage", values, "triaged", "triage",
                  lambda: flows.triage(session, user=user, case=case, data=CaseUpdate.model_validate(data)))


@router.post("/staff/cases/{case_id}/themes", response_class=HTMLResponse)
def accept_theme(
    request: Request, case: TriageCase, user: Safeguarding, session: DbSession, keys: Keys, csrf: CSRF = "",
    theme: Annotated[str, Form()] = "",
) -> Response:
    """Accept a suggested theme in one click; the first one becomes the primary theme (which triages the case)."""
    if (refused := csrf_refused(request, csrf, _back(case))) is not None:
        return refused
    data: dict[str, Any] = {"themes": [*case.theme_slugs, theme]}
    if case.primary_theme is None:
        data["primary_theme"] = theme
    return _apply(request, session, keys, user, case, "triage", {}, "theme", "triage",
                  lambda: flows.triage(session, user=user, case=case, data=CaseUpdate.model_validate(data)),
                  field="themes")


@router.post("/staff/cases/{case_id}/hr-contact", response_class=HTMLResponse)
def assign(
    request: Request, case: TriageCase, user: Safeguarding, session: DbSession, keys: Keys,
    settings: CurrentSettings, csrf: CSRF = "", user_id: Annotated[str, Form()] = "",
) -> Response:
    """The case's single HR point of contact: `PUT /api/v1/cases/{id}/hr-contact`."""
    if (refused := csrf_refused(request, csrf, _back(case))) is not None:
        return refused

    def act() -> None:
        body = HrContactIn.model_validate({"user_id": user_id})
        flows.assign_hr_contact(session, settings, user=user, case=case, user_id=body.user_id, ring=keys)

    return _apply(request, session, keys, user, case, "contact", {"user_id": user_id}, "assigned", "contact", act,
                  field="user_id")


@router.post("/staff/cases/{case_id}/exclusions", response_class=HTMLResponse)
def exclude(
    request: Request, case: TriageCase, user: Safeguarding, session: DbSession, keys: Keys, csrf: CSRF = "",
    user_id: Annotated[str, Form()] = "", reason: Annotated[str, Form()] = "",
) -> Response:
    """Exclude a person named in the case, or close to them: `POST /api/v1/cases/{id}/exclusions`."""
    if (refused := csrf_refused(request, csrf, _back(case))) is not None:
        return refused

    def act() -> None:
        body = ExclusionIn.model_validate({"user_id": user_id, "reason": crlf(reason)})
        flows.exclude(session, keys, user=user, case=case, user_id=body.user_id, reason=body.reason)

    values = {"user_id": user_id, "reason": reason}
    response = _apply(request, session, keys, user, case, "exclusion", values, "excluded", "exclusions", act,
                      field="user_id")
    if response.status_code == 303 and not access.can_see(session, user, case.id):
        return done("/staff/cases", "excluded")  # they excluded themselves: the case is gone from their sight
    return response


# --- notes, messages, check-ins, closure (safeguarding and the case's HR contact) ----------------------


Files = Annotated[list[UploadFile] | None, File(description="Photos, PDFs or text files.")]


def _with_files(
    request: Request, session: DbSession, keys: Keys, settings: Settings, user: User, case: Case, form: str,
    text: str, chosen: list[UploadFile], notice: str, anchor: str, act: Any, extra: dict[str, Any] | None = None,
) -> Response:
    """A note or message with files: the files are cleaned with no transaction held (it is slow),
    then the case is locked again and `act(case, prepared)` runs like any form's action."""
    files = uploads.chosen(chosen)
    values = {"body": text, "rechoose": uploads.names(files), **(extra or {})}
    case_id = case.id
    end_reads(session)
    errors = FormErrors()
    prepared, status = uploads.prepare(files, settings, errors, field=f"{form}-attachments")
    try:
        case = access.get_case(session, user, case_id, for_update=True)
        if errors:
            return _failed(request, session, keys, user, case, errors, {form: values}, status_code=status)
        locked = case
        return _apply(request, session, keys, user, case, form, values, notice, anchor,
                      lambda: act(locked, prepared), field="body")
    finally:
        uploads.discard(prepared)


@router.post("/staff/cases/{case_id}/notes", response_class=HTMLResponse, max_body_size=FORM_CEILING)
def add_note(
    request: Request, case: VisibleCase, user: CaseWorker, session: DbSession, keys: Keys, settings: CurrentSettings,
    csrf: CSRF = "", body: Annotated[str, Form()] = "", attachments: Files = None,
    visibility: Annotated[str, Form()] = "case_team",
) -> Response:
    """An internal note, never shown to the reporter, with files if chosen: `POST /api/v1/cases/{id}/notes`
    (`visibility`: `safeguarding` keeps it from the HR contact; safeguarding only)."""
    if (refused := csrf_refused(request, csrf, _back(case))) is not None:
        return refused
    text = crlf(body)

    def act(locked: Case, prepared: list[attachment_service.Prepared]) -> None:
        note = NoteIn.model_validate({"body": text, "visibility": visibility or "case_team"})
        flows.add_note(session, keys, user=user, case=locked, body=note.body, settings=settings, files=prepared,
                       visibility=note.visibility)

    return _with_files(request, session, keys, settings, user, case, "note", text, attachments or [], "note", "notes",
                       act, extra={"visibility": visibility})


@router.post("/staff/cases/{case_id}/messages", response_class=HTMLResponse, max_body_size=FORM_CEILING)
def send_message(
    request: Request, case: VisibleCase, user: CaseWorker, session: DbSession, keys: Keys, settings: CurrentSettings,
    csrf: CSRF = "", body: Annotated[str, Form()] = "", attachments: Files = None,
) -> Response:
    """A message the reporter will read, with files if chosen: `POST /api/v1/cases/{id}/messages`."""
    if (refused := csrf_refused(request, csrf, _back(case))) is not None:
        return refused
    text = crlf(body)

    def act(locked: Case, prepared: list[attachment_service.Prepared]) -> None:
        flows.staff_message(session, keys, user=user, case=locked, body=TextIn.model_validate({"body": text}).body,
                            settings=settings, files=prepared)

    return _with_files(request, session, keys, settings, user, case, "message", text, attachments or [], "message",
                       "thread", act)


@router.post("/staff/cases/{case_id}/signposts", response_class=HTMLResponse, max_body_size=INTAKE_CEILING)
def signpost(
    request: Request, case: WorkCase, user: CaseWorker, session: DbSession, keys: Keys, csrf: CSRF = "",
    entry_id: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI copies defaults
    message: Annotated[str, Form()] = "",
) -> Response:
    """Send chosen organisations from the support directory to the reporter in one message:
    `POST /api/v1/cases/{id}/signposts`."""
    if (refused := csrf_refused(request, csrf, _back(case))) is not None:
        return refused
    text = crlf(message).strip()

    def act() -> None:
        if not entry_id:
            raise Invalid("Choose at least one organisation to send.", field="entry_ids")
        body = SignpostIn.model_validate({"entry_ids": entry_id, "message": text or None})
        flows.signpost(session, keys, user=user, case=case, entry_ids=body.entry_ids, message=body.message)

    values = {"entry_ids": entry_id, "message": text}
    return _apply(request, session, keys, user, case, "signpost", values, "signposted", "thread", act,
                  field="entry_ids")


@router.get("/staff/cases/{case_id}/attachments/{attachment_id}")
def download(
    attachment_id: uuid.UUID, case: VisibleCase, user: CaseWorker, session: DbSession, keys: Keys, makers: Sessions,
    settings: CurrentSettings,
) -> Response:
    """A file of the case, to save: `GET /api/v1/cases/{id}/attachments/{attachment_id}` (audited)."""
    found = attachment_service.open_for_staff(session, keys, user=user, case=case, attachment_id=attachment_id)
    return file_response(found, makers, settings)


@router.get("/staff/cases/{case_id}/attachments/{attachment_id}/preview")
def preview(
    attachment_id: uuid.UUID, case: VisibleCase, user: CaseWorker, session: DbSession, keys: Keys, makers: Sessions,
    settings: CurrentSettings,
) -> Response:
    """An image shown on the case page, from the re-encoded copy (never the original): inline, sandboxed,
    audited as a download. Anything but an image is 404 here."""
    found = attachment_service.open_for_staff(session, keys, user=user, case=case, attachment_id=attachment_id)
    if not found.row.content_type.startswith("image/"):
        raise NotFound("No preview for this file.")
    return file_response(found, makers, settings, inline=True)


@router.post("/staff/cases/{case_id}/attachments/{attachment_id}/withdraw", response_class=HTMLResponse)
def withdraw(
    request: Request, attachment_id: uuid.UUID, case: WorkCase, user: CaseWorker, session: DbSession, keys: Keys,
    settings: CurrentSettings, csrf: CSRF = "",
) -> Response:
    """Withdraw a file you attached by mistake, while nobody else has opened it:
    `DELETE /api/v1/cases/{id}/attachments/{attachment_id}`."""
    if (refused := csrf_refused(request, csrf, _back(case))) is not None:
        return refused
    errors = FormErrors()
    try:
        with attempt(session):
            attachment_service.withdraw(session, settings, case=case, attachment_id=attachment_id,
                                        sender=Sender.STAFF, author=user)
    except AppError as exc:
        # On the page the case is known: a file that is not (or no longer) yours to withdraw is a conflict.
        errors.add("message-attachments", exc.detail)
        return _failed(request, session, keys, user, case, errors, {}, status_code=409)
    return done(_back(case), "withdrawn", "thread")


@router.post("/staff/cases/{case_id}/check-ins/{check_in_id}/complete", response_class=HTMLResponse)
def complete_check_in(
    request: Request, case: VisibleCase, check_in_id: uuid.UUID, user: CaseWorker, session: DbSession, keys: Keys,
    settings: CurrentSettings, csrf: CSRF = "", summary: Annotated[str, Form()] = "",
    support_suitable: Annotated[str, Form()] = "",
) -> Response:
    """Record a check-in: `POST /api/v1/cases/{id}/check-ins/{check_in_id}/complete`."""
    if (refused := csrf_refused(request, csrf, _back(case))) is not None:
        return refused
    text = crlf(summary)
    values = {"summary": text, "support_suitable": support_suitable, "check_in_id": str(check_in_id)}
    return _apply(request, session, keys, user, case, "check_in", values, "check_in", "check-ins",
                  lambda: complete(session, keys, settings, user, case, check_in_id, text, support_suitable),
                  field="summary")


def complete(session: DbSession, keys: Keys, settings: CurrentSettings, user: User, case: Case,
             check_in_id: uuid.UUID, summary: str, support_suitable: str) -> None:
    """A check-in form (on the case page or the check-ins page) through the API's schema and service."""
    body = CheckInComplete.model_validate(
        {"summary": summary, "support_suitable": {"yes": True, "no": False}.get(support_suitable, support_suitable)}
    )
    flows.complete_check_in(session, keys, settings, user=user, case_id=case.id, check_in_id=check_in_id,
                            summary=body.summary, support_suitable=body.support_suitable)


@router.post("/staff/cases/{case_id}/referrals", response_class=HTMLResponse, max_body_size=INTAKE_CEILING)
def add_referral(
    request: Request, case: WorkCase, user: CaseWorker, session: DbSession, keys: Keys, settings: CurrentSettings,
    csrf: CSRF = "", kind: Annotated[str, Form()] = "", note: Annotated[str, Form()] = "",
    due_on: Annotated[str, Form()] = "",
) -> Response:
    """A hand-off out of the service, due by its kind's period unless a date is given:
    `POST /api/v1/cases/{id}/referrals`."""
    if (refused := csrf_refused(request, csrf, _back(case))) is not None:
        return refused
    text = crlf(note).strip()

    def act() -> None:
        body = ReferralIn.model_validate({"kind": kind, "note": text or None, "due_on": due_on or None})
        referrals.add(session, keys, settings, user=user, case=case, kind=body.kind, note=body.note, due_on=body.due_on)

    values = {"kind": kind, "note": text, "due_on": due_on}
    return _apply(request, session, keys, user, case, "referral", values, "referral", "referrals", act, field="kind")


@router.post("/staff/cases/{case_id}/referrals/{referral_id}/complete", response_class=HTMLResponse)
def complete_referral(
    request: Request, case: WorkCase, referral_id: uuid.UUID, user: CaseWorker, session: DbSession, keys: Keys,
    csrf: CSRF = "", completed_on: Annotated[str, Form()] = "",
) -> Response:
    """Mark a referral done on a day: `PATCH /api/v1/cases/{id}/referrals/{referral_id}`."""
    if (refused := csrf_refused(request, csrf, _back(case))) is not None:
        return refused

    def act() -> None:
        if not completed_on:  # on the page, an empty day is a mistake, not a wish to reopen
            raise Invalid("Enter the day it was done.", field="completed_on")
        body = ReferralUpdate.model_validate({"completed_on": completed_on})
        referrals.complete(session, user=user, case=case, referral_id=referral_id, completed_on=body.completed_on)

    values = {"completed_on": completed_on, "referral_id": str(referral_id)}
    return _apply(request, session, keys, user, case, "referral_done", values, "referral_done", "referrals", act,
                  field="completed_on")


@router.post("/staff/cases/{case_id}/close", response_class=HTMLResponse, max_body_size=INTAKE_CEILING)
def close(
    request: Request, case: WorkCase, user: CaseWorker, session: DbSession, keys: Keys, settings: CurrentSettings,
    csrf: CSRF = "", outcome: Annotated[str, Form()] = "", summary: Annotated[str, Form()] = "",
    confirm_open_referrals: Annotated[str, Form()] = "",
) -> Response:
    """Close the case with an outcome: `POST /api/v1/cases/{id}/close`. With a referral still open
    the page names it and asks for confirmation first (the API closes and lists such cases with
    `GET /api/v1/cases?status=closed&open_referral=true`)."""
    if (refused := csrf_refused(request, csrf, _back(case))) is not None:
        return refused
    text = crlf(summary)
    values = {"outcome": outcome, "summary": text, "confirm_open_referrals": confirm_open_referrals}

    def act() -> None:
        body = CloseIn.model_validate({"outcome": outcome, "summary": text})
        if confirm_open_referrals != "yes" and referrals.open_ones(session, case_id=case.id):
            raise Invalid("A referral is still open. Mark it complete, or tick the box to close the case with it open.",
                          field="confirm_open_referrals")
        flows.close_case(session, keys, settings, user=user, case=case, outcome=body.outcome, summary=body.summary)

    return _apply(request, session, keys, user, case, "close", values, "closed", "closure", act, field="summary")


ACKNOWLEDGEMENT = (
    "Thank you for raising this concern. We have received it and a member of the safeguarding team is looking at "
    "it. We will write to you here; come back with your receipt to read our messages and reply. If you or someone "
    "else is in danger now, call 999."
)


@router.post("/staff/cases/{case_id}/acknowledge", response_class=HTMLResponse)
def acknowledge(
    request: Request, case: WorkCase, user: CaseWorker, session: DbSession, keys: Keys, csrf: CSRF = "",
) -> Response:
    """Acknowledge the concern with the standard message to the reporter (the first message to the
    reporter is the acknowledgement): `POST /api/v1/cases/{id}/messages` with that text."""
    if (refused := csrf_refused(request, csrf, _back(case))) is not None:
        return refused

    def act() -> None:
        if case.acknowledged_at is None:  # a second click (or two people at once) sends nothing more
            flows.staff_message(session, keys, user=user, case=case, body=ACKNOWLEDGEMENT)

    return _apply(request, session, keys, user, case, "message", {}, "acknowledged", "thread", act, field="body")


def _apply(
    request: Request, session: DbSession, keys: Keys, user: User, case: Case, form: str, values: dict[str, Any],
    notice: str, anchor: str, act: Any, *, field: str = "themes",
) -> Response:
    """Run one form's action; on success back to the case (303), else the page again with the
    form's errors beside its fields and what was typed kept."""
    errors = FormErrors()
    try:
        with attempt(session):
            act()
    except ValidationError as exc:
        schema_errors(exc, errors, prefix=form, fallback=field)
    except AppError as exc:
        errors.add(f"{form}-{_error_field(exc, field)}", exc.detail)
        return _failed(request, session, keys, user, case, errors, {form: values}, status_code=exc.status)
    if errors:
        return _failed(request, session, keys, user, case, errors, {form: values})
    return done(_back(case), notice, anchor)


def _error_field(exc: AppError, default: str) -> str:
    named = (exc.errors or [{}])[0].get("field")
    return named if named else default


# --- a contact received by phone, e-mail or in person ----------------------------------------------


RECORD_ORDER = ["record-channel", "record-received_at", "record-duration_minutes", "record-description",
                "record-about", "record-reporter", "record-location", "record-risk"]


def _record_form(request: Request, session: DbSession, settings: CurrentSettings, values: dict[str, Any],
                 errors: FormErrors, status_code: int = 200) -> HTMLResponse:
    ctx = {
        "values": values, "errors": errors.messages, "problems": errors.summary(RECORD_ORDER),
        "themes": themes.list_themes(session, active_only=True), "wish_labels": WISH_LABELS,
        "about_labels": ABOUT_LABELS, "channel_labels": {k: v for k, v in CHANNEL_LABELS.items() if k != "web"},
        "locations": locations.list_locations(session, active_only=True), "location_kinds": LOCATION_KIND_LABELS,
        "zone": settings.hours.tz.key,
    }
    return staff_page(request, "staff/record.html", ctx, status_code=status_code)


@router.get("/staff/record", response_class=HTMLResponse)
def record_form(request: Request, user: Safeguarding, session: DbSession, settings: CurrentSettings) -> Response:
    """Record a contact received by phone, e-mail or in person (safeguarding)."""
    now = datetime.now(settings.hours.tz).strftime("%Y-%m-%dT%H:%M")
    values = {"channel": "phone", "received_at": now, "identity": "anonymous", "about": About.SELF.value}
    return _record_form(request, session, settings, values, FormErrors())


@router.post("/staff/record", response_class=HTMLResponse, max_body_size=INTAKE_CEILING)
def record(
    request: Request, user: Safeguarding, session: DbSession, keys: Keys, settings: CurrentSettings,
    csrf: CSRF = "",
    channel: Annotated[str, Form()] = "",
    received_at: Annotated[str, Form()] = "",
    duration_minutes: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
    about: Annotated[str, Form()] = "",
    identity: Annotated[str, Form()] = "anonymous",
    name: Annotated[str, Form()] = "",
    email: Annotated[str, Form()] = "",
    phone: Annotated[str, Form()] = "",
    identity_sharing: Annotated[str, Form()] = "",
    theme: Annotated[list[str], Form()] = [],  # noqa: B006
    wish: Annotated[list[str], Form()] = [],  # noqa: B006
    risk: Annotated[str, Form()] = "standard",
    location: Annotated[str, Form()] = "",
) -> Response:
    """`POST /api/v1/cases`: the confirmation shows the receipt to give the person, once."""
    if (refused := csrf_refused(request, csrf, "/staff/record")) is not None:
        return refused
    values = {"channel": channel, "received_at": received_at, "duration_minutes": duration_minutes,
              "description": crlf(description), "about": about, "identity": identity, "name": name, "email": email,
              "phone": phone, "theme": theme, "wish": wish, "risk": risk, "location": location,
              "identity_sharing": identity_sharing[:20]}
    errors = FormErrors()
    when: datetime | str = received_at
    try:
        when = datetime.fromisoformat(received_at).replace(tzinfo=settings.hours.tz)
    except ValueError:
        errors.add("record-received_at", "Enter the date and time the contact was received.")
    named = identity == "named"
    if not named and (name.strip() or email.strip() or phone.strip()):
        errors.add("record-reporter", "You typed a name or contact details but chose to keep the person anonymous. "
                   "Choose \"Yes\" under \"Did the person give their name?\" to keep the details, or clear them to "
                   "record the contact anonymously.")
    data = {
        "channel": channel, "received_at": when, "duration_minutes": duration_minutes or None,
        "description": crlf(description), "about": about or About.SELF.value, "anonymous": not named,
        "reporter": {"name": name, "email": email.strip() or None, "phone": phone.strip() or None} if named else None,
        "identity_sharing": (identity_sharing.strip() or None) if named else None,
        "themes": theme, "wishes": wish, "risk": risk or "standard", "location": location or None,
    }
    if errors:
        return _record_form(request, session, settings, values, errors, 422)
    try:
        with attempt(session):
            case, receipt = flows.record_contact(session, keys, settings, user=user, data=CaseCreate.model_validate(data))
    except ValidationError as exc:
        schema_errors(exc, errors, prefix="record", fallback="reporter")
        return _record_form(request, session, settings, values, errors, 422)
    except AppError as exc:
        errors.add(f"record-{_error_field(exc, 'description')}", exc.detail)
        return _record_form(request, session, settings, values, errors, exc.status)
    return staff_page(request, "staff/recorded.html", {"case": case, "receipt": receipt})
