"""The reporters' pages: `/`, `/report` and `/follow-up`. Server-rendered, no JavaScript needed.

Every form is a plain HTML POST protected by the CSRF token of `app.web.pages` (bound to the
browser and to its session). Validation is the API's own (see `forms`): an error summary at the
top links to each field, the message sits next to the field, and everything the person typed is
put back, also when the form had expired.

One form, one case: the report form carries a random id that is used as an Idempotency-Key
(`app.reports.idempotency`, the API's own mechanism), so a reload, a Back-and-send-again or a
double click shows the same reference and receipt again (for `REPLAY_WINDOW`) instead of opening
a second case.

The receipt never travels in a URL: the confirmation page is the POST response itself, and the
follow-up sign-in is a POST whose result is a short-lived reporter token kept in an HttpOnly,
SameSite=Strict cookie scoped to `/follow-up`, which works only in the browser that signed in.
"""

from __future__ import annotations

import math
import uuid
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from app import clock, flows
from app.attachments import service as attachment_service
from app.attachments.service import PER_MESSAGE
from app.cases import risk as risk_words
from app.cases.models import Case
from app.cases.schemas import ReportIn
from app.crypto import receipts
from app.db import attempt, end_reads, separately
from app.enums import Sender
from app.errors import AppError, Conflict, Invalid, TooManyRequests, Unauthorized
from app.http import cookies, signin
from app.http.bodies import INTAKE_CEILING, body_too_large
from app.http.files import file_response
from app.http.idempotency import FORM_ID_FIELD, FormIdempotencyGuard, new_form_id
from app.http.reporter import (
    ChangedResend,
    Replayed,
    reporter_case_for,
    send_report,
)
from app.http.state import CurrentSettings, Keys, ReceiptThrottle, ReportRate, Sessions, settings_of
from app.http.transactions import CommitInThreadRoute, DbSession
from app.http.users import client_host
from app.locations import service as locations
from app.reports import idempotency, sessions
from app.reports import service as reports
from app.reports.schemas import ReporterCaseOut
from app.schemas import MAX_DESCRIPTION
from app.themes import service as themes
from app.web import STATIC_DIR, uploads
from app.web.pages import (
    CSRF_COOKIE,
    CSRF_FIELD,
    REPORTER_COOKIE,
    REPORTER_COOKIE_PATH,
    FormErrors,
    csrf_ok,
    drop_cookie,
    form_expired,
    from_this_site,
    open_session,
    render,
    seal_session,
)
from app.web.reporter import forms

# HTML pages are not part of the REST API's OpenAPI document.
router = APIRouter(include_in_schema=False, route_class=CommitInThreadRoute)

FOLLOW_UP_PATH = REPORTER_COOKIE_PATH
# "Leave this site" goes here first (under /follow-up, so the reporter cookie comes with it).
LEAVE_PATH = FOLLOW_UP_PATH + "/leave"
# How long a re-sent report form shows its receipt again: long enough for a reload or a Back
# after a lost connection, short enough that a shared device does not keep it for the next person.
REPLAY_WINDOW = timedelta(minutes=15)
# How long a double click's second request waits for the first to finish before saying so.
WAIT_FOR_FIRST = 20.0

# The most a form with files may send: five of the largest files SAFESHARE_ATTACHMENT_MAX_MB allows,
# and the text; app.limits applies the configured size.
FORM_CEILING = 5 * 101 * 1024 * 1024 + INTAKE_CEILING

EXPIRED = ("For your security this form had expired, so nothing was sent. Everything you typed is below: "
           "check it and send it again.")


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> HTMLResponse:
    """What Safe Share is, what happens after you raise a concern, and the other routes open to you."""
    return render(request, "home.html", {})


@router.get("/favicon.ico")
def favicon() -> FileResponse:
    """The site's icon, for browsers and tools that ask for it at the conventional address."""
    return FileResponse(STATIC_DIR / "favicon.ico", media_type="image/x-icon")


# --- raising a concern --------------------------------------------------------------------------


def _report_form(
    request: Request, session: DbSession, form: dict[str, Any], errors: FormErrors, status_code: int, *,
    form_id: str, notice: str | None = None, wait_notice: str | None = None, rechoose: list[str] | None = None,
) -> HTMLResponse:
    settings = settings_of(request)
    ctx = {
        "rechoose": rechoose or [],
        "max_files": PER_MESSAGE,
        "max_mb": settings.attachment_max_mb,
        "accept": uploads.ACCEPT,
        "wait_notice": wait_notice,
        "form": form,
        "form_id": form_id,
        "errors": errors.messages,
        "problems": errors.summary(forms.REPORT_FIELD_ORDER),
        "notice": notice,
        "themes": themes.list_themes(session, active_only=True),
        "locations": locations.list_locations(session, active_only=True),
        "location_kinds": forms.LOCATION_KIND_LABELS,
        "wish_labels": forms.WISH_LABELS,
        "about_labels": forms.ABOUT_LABELS,
        "equality_choices": forms.equality_choices(),
        "max_description": MAX_DESCRIPTION,
    }
    return render(request, "report.html", ctx, status_code=status_code)


@router.get("/report", response_class=HTMLResponse)
def report_form(request: Request, session: DbSession) -> HTMLResponse:
    """The form to raise a concern, anonymously or with your name."""
    return _report_form(request, session, forms.empty_report(), FormErrors(), 200, form_id=new_form_id())


def _confirmation(request: Request, sent: dict[str, Any], *, again: bool = False, details_dropped: bool = False,
                  unsent: str | None = None, files: list[attachment_service.Prepared] | None = None,
                  at_risk: bool = False) -> HTMLResponse:
    """The receipt page; for a form sent before (`again`), only within `REPLAY_WINDOW` of sending."""
    created = datetime.fromisoformat(str(sent["created_at"]).replace("Z", "+00:00"))
    if again and clock.now() - created > REPLAY_WINDOW:
        return render(request, "already_sent.html", {"reference": sent["reference"], "created_at": created,
                                                     "minutes": int(REPLAY_WINDOW.total_seconds() // 60)})
    return render(request, "confirmation.html", {
        "reference": sent["reference"], "receipt_groups": receipts.groups(sent["receipt"]), "again": again,
        "details_dropped": details_dropped, "unsent": unsent,
        "files": [(f.filename, f.removed) for f in files or []],
        "at_risk": at_risk,
    })


# A form-encoded 20,000-character description can take up to ~240 KB (non-ASCII characters are
# percent-encoded three bytes at a time), above the app-wide 64 KiB body limit, and the form may
# carry files: the route accepts up to the upload ceiling, app.limits applies the configured size
# of five files before reading the body, and the handler SAFESHARE_MAX_REPORT_BODY_BYTES to a form
# without files.
@router.post("/report", response_class=HTMLResponse, max_body_size=FORM_CEILING)
def submit_report(
    request: Request,
    guard: FormIdempotencyGuard,  # before the session: released only after the session has ended
    session: DbSession,
    settings: CurrentSettings,
    ring: Keys,
    rate: ReportRate,
    equality: Annotated[dict[str, str], Depends(forms.equality_fields)],
    csrf: Annotated[str, Form(alias=CSRF_FIELD)] = "",
    form_id: Annotated[str, Form(alias=FORM_ID_FIELD)] = "",
    description: Annotated[str, Form()] = "",
    identity: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    email: Annotated[str, Form()] = "",
    phone: Annotated[str, Form()] = "",
    identity_sharing: Annotated[str, Form()] = "",
    about: Annotated[str, Form()] = "",
    theme: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI copies defaults
    wish: Annotated[list[str], Form()] = [],  # noqa: B006
    location: Annotated[str, Form()] = "",
    attachments: Annotated[list[UploadFile] | None, File(description="Photos, PDFs or text files.")] = None,
) -> HTMLResponse:
    """Send a concern, with files if chosen. On success the response is the confirmation page
    showing the receipt once and what was removed from each file; the same form sent again shows
    the same receipt (for a short while) and opens no second case."""
    form = forms.ReportForm(forms.crlf(description), identity, name, email, phone, about, theme, wish, location,
                            equality, identity_sharing=identity_sharing[:20])
    form_id = form_id if guard.key is not None else new_form_id()
    files = uploads.chosen(attachments)
    rechoose = uploads.names(files)
    if not csrf_ok(request, csrf):
        if not from_this_site(request):
            return form_expired(request, "/report")
        # Our own page, whose token went stale: nothing is lost, the form comes back as typed.
        return _report_form(request, session, form.as_dict(), FormErrors(), 403, form_id=form_id, notice=EXPIRED,
                            rechoose=rechoose)
    if guard.key is None:  # no form id (a page from before it existed, or mangled): shown back, nothing sent
        return _report_form(request, session, form.as_dict(), FormErrors(), 403, form_id=form_id, notice=EXPIRED,
                            rechoose=rechoose)
    errors = FormErrors()
    if not files and body_too_large(request, settings):
        errors.add("description", forms.TOO_LONG_TO_SEND)
        return _report_form(request, session, form.as_dict(), errors, 413, form_id=form_id)
    report = form.validate(errors)
    try:  # the intake's own rule, checked here too so that every problem is listed at once
        themes.require_known(session, theme, field="themes")
    except Invalid:
        errors.add("themes", "Choose topics from the list, or none.")
    try:
        locations.resolve(session, location or None)
    except Invalid:
        errors.add("location", forms.LOCATION_ERROR)
    if len(files) > PER_MESSAGE:
        errors.add(uploads.FIELD, f"Choose at most {PER_MESSAGE} files. You chose {len(files)}.")
    if errors or report is None:
        return _report_form(request, session, form.as_dict(), errors, 422, form_id=form_id, rechoose=rechoose)
    end_reads(session)  # the claim and the counter are transactions of their own (on SQLite, ours would block them)
    prepared, status = uploads.prepare(files, settings, errors)  # slow: before any transaction or claim
    if errors:
        return _report_form(request, session, form.as_dict(), errors, status, form_id=form_id, rechoose=rechoose)
    try:
        return _send(request, session, settings, ring, rate, guard, form, report, errors, form_id, prepared, rechoose)
    finally:
        uploads.discard(prepared)


def _send(
    request: Request, session: DbSession, settings: CurrentSettings, ring: Keys, rate: ReportRate, guard: Any,
    form: forms.ReportForm, report: ReportIn, errors: FormErrors, form_id: str, prepared: list[attachment_service.Prepared],
    rechoose: list[str],
) -> HTMLResponse:
    """The report, once the form and its files are good: the API's own `send_report`, its refusals
    shown as the form again with what to do."""
    try:
        case = send_report(request, session, ring, settings, rate, guard, report, files=prepared, wait=WAIT_FOR_FIRST,
                           savepoint=True)
    except ChangedResend:  # the same form, sent again with something changed: the first one stands
        assert guard.key is not None
        sent = idempotency.stored_response(guard.sessions, guard.key)
        if sent is None:
            raise
        return _confirmation(request, sent, again=True, unsent=form.description)
    except TooManyRequests as exc:  # SAFESHARE_REPORT_RATE, the API's own limit for this client
        guard.abandon()
        seconds = int(exc.headers.get("Retry-After", "60"))
        minutes = max(1, math.ceil(seconds / 60))
        response = _report_form(request, session, form.as_dict(), errors, 429, form_id=form_id, rechoose=rechoose,
                                wait_notice=(
            "Several concerns have been sent from this connection in a short time, so we have paused new ones "
            f"for a while. Nothing is lost: what you wrote is still below. Please send it again in {minutes} "
            f"minute{'' if minutes == 1 else 's'}. If someone is in immediate danger, call 999."))
        response.headers["Retry-After"] = str(seconds)
        return response
    except Conflict:  # the first of a double click still running after WAIT_FOR_FIRST
        raise
    except Invalid as exc:  # a topic or a location retired a moment ago
        guard.abandon()
        if (exc.errors or [{}])[0].get("field") == "location":
            errors.add("location", "The place you chose is no longer offered. Choose again from the list.")
        else:
            errors.add("themes", "One of the topics you chose is no longer offered. Choose again from the list.")
        return _report_form(request, session, form.as_dict(), errors, 422, form_id=form_id, rechoose=rechoose)
    except AppError as exc:  # a file over the case's total (413)
        guard.abandon()
        errors.add(uploads.FIELD, exc.detail)
        return _report_form(request, session, form.as_dict(), errors, exc.status, form_id=form_id, rechoose=rechoose)
    if isinstance(case, Replayed):  # a form sent again is not a new report: it does not count towards the rate
        return _confirmation(request, case.sent, again=True)
    sent = {"reference": case.reference, "receipt": case.receipt, "created_at": clock.rfc3339(case.received_at)}
    return _confirmation(request, sent, details_dropped=report.anonymous and form.details_given, files=prepared,
                         at_risk=bool(case.risk_signals))


# --- following up with the receipt --------------------------------------------------------------


def _reporter(request: Request, session: DbSession) -> tuple[str, Case] | None:
    token = open_session(request, cookies.read(request, REPORTER_COOKIE, path=FOLLOW_UP_PATH))
    if not token:
        return None
    case = reporter_case_for(request, session, token)
    return (token, case) if case is not None else None


def _sign_in_page(
    request: Request, *, receipt: str = "", error: str | None = None, note: str | None = None,
    unsent: str | None = None, status_code: int = 200, headers: dict[str, str] | None = None,
    signed_out: bool = True,
) -> HTMLResponse:
    """The sign-in form; a reporter cookie whose session is over (`signed_out`) is cleared with it."""
    if signed_out and cookies.read(request, REPORTER_COOKIE, path=FOLLOW_UP_PATH):
        drop_cookie(request, REPORTER_COOKIE, path=FOLLOW_UP_PATH)
    response = render(
        request, "follow_up_sign_in.html",
        {"receipt": receipt, "error": error, "note": note, "unsent": unsent}, status_code=status_code,
    )
    for k, v in (headers or {}).items():
        response.headers[k] = v
    return response


def _case_page(
    request: Request, session: DbSession, ring: Keys, case: Case, *, reply: str = "",
    feedback: dict[str, Any] | None = None, errors: FormErrors | None = None, notice: str | None = None,
    status_code: int = 200, rechoose: list[str] | None = None,
) -> HTMLResponse:
    errors = errors or FormErrors()
    seen = reports.reporter_view(session, ring, case)
    view = ReporterCaseOut.of(seen)
    own = [a.row for a in seen.attachments if a.row.sender is Sender.REPORTER and a.row.withdrawn_at is None]
    opened = attachment_service.opened_ids(session, own)
    settings = settings_of(request)
    label, help_text = forms.STATUS_LABELS.get(view.status, (view.status, ""))
    outcome = forms.OUTCOME_LABELS.get(view.outcome.value) if view.outcome is not None else None
    ctx = {
        "view": view,
        "status_label": label,
        "status_help": help_text,
        "outcome": outcome,
        "reply": reply,
        "feedback": feedback or {},
        "errors": errors.messages,
        "problems": errors.summary(forms.CASE_FIELD_ORDER),
        "rating_questions": forms.RATING_QUESTIONS,
        "rating_scale": forms.RATING_SCALE,
        "notice": notice,
        "withdrawable": {str(r.id) for r in own if r.id not in opened},
        "rechoose": rechoose or [],
        "max_files": PER_MESSAGE,
        "max_mb": settings.attachment_max_mb,
        "accept": uploads.ACCEPT,
        "human_size": uploads.human_size,
    }
    return render(request, "follow_up_case.html", ctx, status_code=status_code)


NOT_FOUND = "We could not find a concern with that receipt. Check each character and try again."
MISTAKES = {
    receipts.Mistake.REFERENCE: (
        "That is your reference, not your receipt. The reference (SS- and 8 characters) only names your "
        "concern. To sign in, enter the receipt of 24 letters and numbers you were shown when you sent it."),
    receipts.Mistake.LENGTH: "A receipt has 24 letters and numbers; you typed {n}. Check it against what you wrote down.",
    receipts.Mistake.CHARACTERS: (
        "A receipt has only the letters A to Z (not U) and the numbers 0 to 9. Check it against what you wrote down."),
    receipts.Mistake.TYPO: (
        "One character looks wrong: check it against what you wrote down. Characters that look alike, "
        "such as 5 and S or 8 and B, are easy to mix up."),
}


def not_found(receipt: str) -> str:
    """What the follow-up page says about a receipt that was not found: from the text alone (the
    check character, its length, a pasted reference), so it tells nobody whether a concern exists.
    The API keeps its single 401."""
    mistake = receipts.explain(receipt)
    if mistake is None:
        return NOT_FOUND
    kind, typed = mistake
    return MISTAKES[kind].format(n=typed)


NOTICES = {
    "message": "Your message has been sent. The safeguarding team, and your HR contact if you have one, will read it.",
    "feedback": "Thank you for your feedback. It helps us make Safe Share better.",
    "withdrawn": "The file was withdrawn: nobody can open it now.",
    # A message whose words suggest someone may be in danger (app.cases.risk): the team is told at
    # once, and the reporter is not left waiting for them.
    "message_risk": "Your message has been sent and the safeguarding team has been told at once. If you or someone "
                    "else is in danger now, call 999. To talk to someone at any hour, call Samaritans free on "
                    "116 123.",
}


@router.get(FOLLOW_UP_PATH, response_class=HTMLResponse)
def follow_up(request: Request, session: DbSession, ring: Keys, sent: str | None = None) -> HTMLResponse:
    """Sign in with your receipt, or, once signed in, read and answer messages about your concern."""
    who = _reporter(request, session)
    if who is None:
        signed_out = cookies.read(request, REPORTER_COOKIE, path=FOLLOW_UP_PATH)
        note = "You have been signed out. Enter your receipt to sign in again." if signed_out else None
        return _sign_in_page(request, note=note)
    return _case_page(request, session, ring, who[1], notice=NOTICES.get(sent or ""))


@router.post(FOLLOW_UP_PATH, response_class=HTMLResponse)
def follow_up_sign_in(
    request: Request,
    session: DbSession,
    settings: CurrentSettings,
    ring: Keys,
    throttle: ReceiptThrottle,
    csrf: Annotated[str, Form(alias=CSRF_FIELD)] = "",
    receipt: Annotated[str, Form()] = "",
) -> Response:
    """Exchange the receipt for a short reporter session held in an HttpOnly cookie."""
    if not csrf_ok(request, csrf):
        if not from_this_site(request):
            return form_expired(request, FOLLOW_UP_PATH)
        return _sign_in_page(request, receipt=receipt, status_code=403, signed_out=_reporter(request, session) is None,
                             note="For your security this form had expired. Check your receipt and sign in again.")
    if not receipt.strip():
        return _sign_in_page(request, error="Enter the receipt you were given when you raised your concern.", status_code=422)
    try:
        token, expires_at = signin.redeem(
            session, ring, settings, throttle, receipt=receipt, client_host=client_host(request)
        )
    except TooManyRequests as exc:
        seconds = int(exc.headers.get("Retry-After", "60"))
        minutes = max(1, math.ceil(seconds / 60))
        unit = "minute" if minutes == 1 else "minutes"
        return _sign_in_page(
            request, receipt=receipt, status_code=429, headers={"Retry-After": str(seconds)},
            error=f"There have been too many attempts to sign in. Please wait {minutes} {unit} and try again.",
        )
    except Unauthorized:
        return _sign_in_page(request, receipt=receipt, status_code=401, error=not_found(receipt))
    previous = _reporter(request, session)
    if previous is not None:
        sessions.end(session, previous[0])  # one live session per browser
    response = RedirectResponse(FOLLOW_UP_PATH, status_code=303)
    cookies.put(response, request, REPORTER_COOKIE, seal_session(request, token), path=FOLLOW_UP_PATH,
                expires=expires_at)
    return response


@router.post(FOLLOW_UP_PATH + "/messages", response_class=HTMLResponse, max_body_size=FORM_CEILING)
def follow_up_reply(
    request: Request,
    session: DbSession,
    ring: Keys,
    settings: CurrentSettings,
    csrf: Annotated[str, Form(alias=CSRF_FIELD)] = "",
    body: Annotated[str, Form()] = "",
    attachments: Annotated[list[UploadFile] | None, File(description="Photos, PDFs or text files.")] = None,
) -> Response:
    """Send a message to the people handling your concern, with files if chosen."""
    body = forms.crlf(body)
    files = uploads.chosen(attachments)
    rechoose = uploads.names(files)
    if not csrf_ok(request, csrf) and not from_this_site(request):
        return form_expired(request, FOLLOW_UP_PATH)
    who = _reporter(request, session)
    if who is None:
        return _sign_in_page(
            request, status_code=401, unsent=body.strip() or None,
            note="You were signed out, so your message was not sent. Sign in again with your receipt."
                 + (" Your files were not sent either: " + ", ".join(rechoose) + "." if rechoose else ""),
        )
    case = who[1]
    if not csrf_ok(request, csrf):
        return _case_page(request, session, ring, case, reply=body, status_code=403, rechoose=rechoose,
                          notice="For your security this form had expired, so your message was not sent. "
                                 "It is still in the box below: send it again.")
    errors = FormErrors()
    message = forms.message(body, errors)
    if message is None or len(files) > PER_MESSAGE:
        if len(files) > PER_MESSAGE:
            errors.add(uploads.FIELD, f"Choose at most {PER_MESSAGE} files. You chose {len(files)}.")
        return _case_page(request, session, ring, case, reply=body, errors=errors, status_code=422, rechoose=rechoose)
    case_id = case.id
    end_reads(session)  # cleaning is slow: no transaction is held meanwhile
    prepared, status = uploads.prepare(files, settings, errors)
    try:
        case = attachment_service.reporter_case_locked(session, case_id)
        if errors:
            return _case_page(request, session, ring, case, reply=body, errors=errors, status_code=status,
                              rechoose=rechoose)
        try:
            # The same rule as the API: no new messages once the case is closed.
            with attempt(session):
                flows.reporter_message(session, ring, case=case, body=message.body, settings=settings, files=prepared)
        except AppError as exc:
            errors.add(uploads.FIELD if exc.status == 413 else "body", exc.detail)
            return _case_page(request, session, ring, case, reply=body, errors=errors, status_code=exc.status,
                              rechoose=rechoose)
    finally:
        uploads.discard(prepared)
    sent = "message_risk" if risk_words.find_signals(message.body) else "message"
    return RedirectResponse(FOLLOW_UP_PATH + f"?sent={sent}#thread", status_code=303)


@router.get(FOLLOW_UP_PATH + "/attachments/{attachment_id}")
def follow_up_download(
    request: Request, attachment_id: uuid.UUID, session: DbSession, ring: Keys, makers: Sessions,
    settings: CurrentSettings,
) -> Response:
    """One of your files, or one the team sent you: `GET /api/v1/reporter/attachments/{id}` (audited)."""
    who = _reporter(request, session)
    if who is None:
        return _sign_in_page(request, status_code=401, note="Sign in again with your receipt to open your files.")
    download = attachment_service.open_for_reporter(session, ring, case=who[1], attachment_id=attachment_id)
    return file_response(download, makers, settings)


@router.post(FOLLOW_UP_PATH + "/attachments/{attachment_id}/withdraw", response_class=HTMLResponse)
def follow_up_withdraw(
    request: Request, attachment_id: uuid.UUID, session: DbSession, ring: Keys, settings: CurrentSettings,
    csrf: Annotated[str, Form(alias=CSRF_FIELD)] = "",
) -> Response:
    """Withdraw a file you sent by mistake, while nobody has opened it: `DELETE /api/v1/reporter/attachments/{id}`."""
    if not csrf_ok(request, csrf) and not from_this_site(request):
        return form_expired(request, FOLLOW_UP_PATH)
    who = _reporter(request, session)
    if who is None:
        return _sign_in_page(request, status_code=401, note="You were signed out. Sign in again with your receipt.")
    case = who[1]
    if not csrf_ok(request, csrf):
        return _case_page(request, session, ring, case, status_code=403,
                          notice="For your security this form had expired, so the file was not withdrawn. Try again.")
    try:
        with attempt(session):
            attachment_service.withdraw(session, settings, case=case, attachment_id=attachment_id,
                                         sender=Sender.REPORTER)
    except AppError as exc:
        return _case_page(request, session, ring, case, status_code=exc.status, notice=exc.detail)
    return RedirectResponse(FOLLOW_UP_PATH + "?sent=withdrawn", status_code=303)


@router.post(FOLLOW_UP_PATH + "/feedback", response_class=HTMLResponse)
def follow_up_feedback(
    request: Request,
    session: DbSession,
    ring: Keys,
    csrf: Annotated[str, Form(alias=CSRF_FIELD)] = "",
    listened_to: Annotated[str, Form()] = "",
    kept_informed: Annotated[str, Form()] = "",
    support_suitable: Annotated[str, Form()] = "",
    would_recommend: Annotated[str, Form()] = "",
    comment: Annotated[str, Form()] = "",
) -> Response:
    """Tell us, once your concern is closed, how it went."""
    if not csrf_ok(request, csrf) and not from_this_site(request):
        return form_expired(request, FOLLOW_UP_PATH)
    who = _reporter(request, session)
    if who is None:  # e.g. SAFESHARE_REPORTER_IDLE_MINUTES passed: the comment is kept for copying
        return _sign_in_page(request, status_code=401, unsent=forms.crlf(comment).strip() or None,
                             note="You were signed out, so your feedback was not sent. Sign in again with your receipt.")
    case = who[1]
    given = {"listened_to": listened_to, "kept_informed": kept_informed,
             "support_suitable": support_suitable, "would_recommend": would_recommend}
    comment = forms.crlf(comment)
    if not csrf_ok(request, csrf):
        return _case_page(request, session, ring, case, feedback={**given, "comment": comment}, status_code=403,
                          notice="For your security this form had expired, so your feedback was not sent. "
                                 "Your answers are still below: send them again.")
    errors = FormErrors()
    answer = forms.feedback(given, comment, errors)
    if answer is not None:
        try:
            with attempt(session):
                flows.give_feedback(session, ring, case=case, ratings=answer.ratings.model_dump(), comment=answer.comment)
        except Conflict:
            return RedirectResponse(FOLLOW_UP_PATH, status_code=303)
    if errors:
        return _case_page(request, session, ring, case, feedback={**given, "comment": comment}, errors=errors, status_code=422)
    return RedirectResponse(FOLLOW_UP_PATH + "?sent=feedback", status_code=303)


@router.post(FOLLOW_UP_PATH + "/sign-out", response_class=HTMLResponse)
def follow_up_sign_out(request: Request, session: DbSession) -> Response:
    """End the reporter session now, rather than waiting for it to expire. Whatever the form
    carries (a stale token included): a sign-out that fails would leave the case open on a shared device."""
    value = cookies.read(request, REPORTER_COOKIE, path=FOLLOW_UP_PATH) or ""
    token = value.rpartition(".")[0]  # even one this browser cannot vouch for: ending it does no harm
    if token:
        sessions.end(session, token)
    drop_cookie(request, REPORTER_COOKIE, path=FOLLOW_UP_PATH)
    return render(request, "signed_out.html", {})


@router.api_route(LEAVE_PATH, methods=["GET", "POST"])
def leave(request: Request, makers: Sessions) -> Response:
    """"Leave this site": ends the reporter session on the server, tells the browser to forget
    this site's cookies, cache and storage, and sends it to `SAFESHARE_QUICK_EXIT_URL`. A plain
    link, so it works without JavaScript; no CSRF token, since all it can do is sign someone out.

    `Clear-Site-Data` names "cache" and "storage" but not "cookies": that would sign the person
    out of every site sharing this domain. This site's own cookies are deleted one by one."""
    value = cookies.read(request, REPORTER_COOKIE, path=FOLLOW_UP_PATH) or ""
    token = value.rpartition(".")[0]  # even one this browser cannot vouch for: ending it does no harm
    if token:
        with separately(makers) as apart:  # a GET's own transaction never writes
            sessions.end(apart, token)
    response = RedirectResponse(settings_of(request).quick_exit_url, status_code=303)
    cookies.drop(response, request, REPORTER_COOKIE, path=FOLLOW_UP_PATH)
    cookies.drop(response, request, CSRF_COOKIE)
    response.headers["Clear-Site-Data"] = '"cache", "storage"'
    return response
