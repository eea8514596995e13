"""The reporters' pages: `/`, `/report` and `/follow-up`. Server-rendered, no JavaScript needed.

Every form is a plain HTML POST protected by the double-submit CSRF token of `app.web.pages`.
Validation is the API's own (see `forms`): an error summary at the top links to each field, the
message sits next to the field, and everything the person typed is put back.

The receipt never travels in a URL: the confirmation page is the POST response itself, and the
follow-up sign-in is a POST whose result is a short-lived reporter token kept in an HttpOnly,
SameSite=Strict cookie scoped to `/follow-up`.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app import flows
from app.api.dependencies import (
    INTAKE_CEILING,
    CurrentSettings,
    DbSession,
    Keys,
    ReceiptThrottle,
    ReportRate,
    body_too_large,
    client_host,
    report_rate_bucket,
)
from app.api.reports import TOO_MANY_REPORTS
from app.api.transactions import CommitInThreadRoute
from app.cases import feedback as case_feedback
from app.cases.models import Case
from app.db import attempt, end_reads
from app.errors import AppError, Conflict, Invalid, TooManyRequests, Unauthorized
from app.reports import service as reports
from app.reports import sessions
from app.reports.schemas import ReporterCaseOut
from app.schemas import MAX_DESCRIPTION
from app.themes import service as themes
from app.web.pages import CSRF_FIELD, FormErrors, csrf_ok, form_expired, render, secure
from app.web.reporter import forms

# HTML pages are not part of the REST API's OpenAPI document.
router = APIRouter(include_in_schema=False, route_class=CommitInThreadRoute)

REPORTER_COOKIE = "ss_reporter"
FOLLOW_UP_PATH = "/follow-up"


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> HTMLResponse:
    """What Safe Share is, what happens after you raise a concern, and the other routes open to you."""
    return render(request, "home.html", {})


# --- raising a concern --------------------------------------------------------------------------


def _report_form(request: Request, session: DbSession, form: dict[str, Any], errors: FormErrors, status_code: int,
                 wait_notice: str | None = None) -> HTMLResponse:
    ctx = {
        "wait_notice": wait_notice,
        "form": form,
        "errors": errors.messages,
        "problems": errors.summary(forms.REPORT_FIELD_ORDER),
        "themes": themes.list_themes(session, active_only=True),
        "wish_labels": forms.WISH_LABELS,
        "about_labels": forms.ABOUT_LABELS,
        "max_description": MAX_DESCRIPTION,
    }
    return render(request, "report.html", ctx, status_code=status_code)


@router.get("/report", response_class=HTMLResponse)
def report_form(request: Request, session: DbSession) -> HTMLResponse:
    """The form to raise a concern, anonymously or with your name."""
    return _report_form(request, session, forms.empty_report(), FormErrors(), 200)


# A form-encoded 20,000-character description can take up to ~240 KB (non-ASCII characters are
# percent-encoded three bytes at a time), above the app-wide 64 KiB body limit: the route accepts
# up to the API intake's ceiling, and the handler applies SAFESHARE_MAX_REPORT_BODY_BYTES.
@router.post("/report", response_class=HTMLResponse, max_body_size=INTAKE_CEILING)
def submit_report(
    request: Request,
    session: DbSession,
    settings: CurrentSettings,
    ring: Keys,
    rate: ReportRate,
    csrf: Annotated[str, Form(alias=CSRF_FIELD)] = "",
    description: Annotated[str, Form()] = "",
    identity: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    email: Annotated[str, Form()] = "",
    phone: Annotated[str, Form()] = "",
    about: Annotated[str, Form()] = "",
    theme: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI copies defaults
    wish: Annotated[list[str], Form()] = [],  # noqa: B006
) -> HTMLResponse:
    """Send a concern. On success the response is the confirmation page showing the receipt once."""
    if not csrf_ok(request, csrf):
        return form_expired(request, "/report")
    form = forms.ReportForm(forms.crlf(description), identity, name, email, phone, about, theme, wish)
    errors = FormErrors()
    if body_too_large(request, settings):
        errors.add("description", forms.TOO_LONG_TO_SEND)
        return _report_form(request, session, form.as_dict(), errors, 413)
    report = form.validate(errors)
    try:  # the intake's own rule, checked here too so that every problem is listed at once
        themes.require_known(session, theme, field="themes")
    except Invalid:
        errors.add("themes", "Choose topics from the list, or none.")
    if errors or report is None:
        return _report_form(request, session, form.as_dict(), errors, 422)
    end_reads(session)  # the counter has a transaction of its own (on SQLite, ours would block it)
    try:  # SAFESHARE_REPORT_RATE, the API's own limit for this client
        rate.hit(report_rate_bucket(request, ring), detail=TOO_MANY_REPORTS)
    except TooManyRequests as exc:
        seconds = int(exc.headers.get("Retry-After", "60"))
        minutes = max(1, math.ceil(seconds / 60))
        response = _report_form(request, session, form.as_dict(), errors, 429, wait_notice=(
            "Several concerns have been sent from this connection in a short time, so we have paused new ones "
            f"for a while. Nothing is lost: what you wrote is still below. Please send it again in {minutes} "
            f"minute{'' if minutes == 1 else 's'}. If someone is in immediate danger, call 999."))
        response.headers["Retry-After"] = str(seconds)
        return response
    try:
        with attempt(session):
            case = flows.submit_report(session, ring, settings, data=report)
    except Invalid:  # a topic retired a moment ago
        errors.add("themes", "One of the topics you chose is no longer offered. Choose again from the list.")
        return _report_form(request, session, form.as_dict(), errors, 422)
    return render(request, "confirmation.html", {"reference": case.reference, "receipt": case.receipt})


# --- following up with the receipt --------------------------------------------------------------


def _reporter(request: Request, session: DbSession) -> tuple[str, Case] | None:
    token = request.cookies.get(REPORTER_COOKIE)
    if not token:
        return None
    case = sessions.case_for_token(session, token)
    return (token, case) if case is not None else None


def _sign_in_page(
    request: Request, *, receipt: str = "", error: str | None = None, note: str | None = None,
    unsent: str | None = None, status_code: int = 200, headers: dict[str, str] | None = None,
) -> HTMLResponse:
    response = render(
        request, "follow_up_sign_in.html",
        {"receipt": receipt, "error": error, "note": note, "unsent": unsent}, status_code=status_code,
    )
    if request.cookies.get(REPORTER_COOKIE):
        _forget_reporter(request, response)
    for k, v in (headers or {}).items():
        response.headers[k] = v
    return response


def _forget_reporter(request: Request, response: Response) -> None:
    response.delete_cookie(REPORTER_COOKIE, path=FOLLOW_UP_PATH, secure=secure(request), httponly=True,
                           samesite="strict")


def _case_page(
    request: Request, session: DbSession, ring: Keys, case: Case, *, reply: str = "",
    feedback: dict[str, Any] | None = None, errors: FormErrors | None = None, notice: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    errors = errors or FormErrors()
    view = ReporterCaseOut.of(reports.reporter_view(session, ring, case))
    label, help_text = forms.STATUS_LABELS.get(view.status, (view.status, ""))
    ctx = {
        "view": view,
        "status_label": label,
        "status_help": help_text,
        "reply": reply,
        "feedback": feedback or {},
        "errors": errors.messages,
        "problems": errors.summary(forms.CASE_FIELD_ORDER),
        "rating_questions": forms.RATING_QUESTIONS,
        "rating_scale": forms.RATING_SCALE,
        "notice": notice,
    }
    return render(request, "follow_up_case.html", ctx, status_code=status_code)


NOTICES = {
    "message": "Your message has been sent. The safeguarding team will read it.",
    "feedback": "Thank you for your feedback. It helps us make Safe Share better.",
}


@router.get(FOLLOW_UP_PATH, response_class=HTMLResponse)
def follow_up(request: Request, session: DbSession, ring: Keys, sent: str | None = None) -> HTMLResponse:
    """Sign in with your receipt, or, once signed in, read and answer messages about your concern."""
    who = _reporter(request, session)
    if who is None:
        note = "You have been signed out. Enter your receipt to sign in again." if request.cookies.get(REPORTER_COOKIE) else None
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
        return form_expired(request, FOLLOW_UP_PATH)
    if not receipt.strip():
        return _sign_in_page(request, error="Enter the receipt you were given when you raised your concern.", status_code=422)
    try:
        token, expires_at = sessions.redeem_receipt(
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
        return _sign_in_page(
            request, receipt=receipt, status_code=401,
            error="We could not find a concern with that receipt. Check each character and try again.",
        )
    previous = request.cookies.get(REPORTER_COOKIE)
    if previous:
        sessions.end(session, previous)  # one live session per browser
    response = RedirectResponse(FOLLOW_UP_PATH, status_code=303)
    response.set_cookie(
        REPORTER_COOKIE, token, expires=expires_at, path=FOLLOW_UP_PATH,
        secure=secure(request), httponly=True, samesite="strict",
    )
    return response


@router.post(FOLLOW_UP_PATH + "/messages", response_class=HTMLResponse, max_body_size=INTAKE_CEILING)
def follow_up_reply(
    request: Request,
    session: DbSession,
    ring: Keys,
    csrf: Annotated[str, Form(alias=CSRF_FIELD)] = "",
    body: Annotated[str, Form()] = "",
) -> Response:
    """Send a message to the safeguarding team about your concern."""
    if not csrf_ok(request, csrf):
        return form_expired(request, FOLLOW_UP_PATH)
    body = forms.crlf(body)
    who = _reporter(request, session)
    if who is None:
        return _sign_in_page(
            request, status_code=401, unsent=body.strip() or None,
            note="You were signed out, so your message was not sent. Sign in again with your receipt.",
        )
    case = who[1]
    errors = FormErrors()
    message = forms.message(body, errors)
    if message is not None:
        try:
            # The same rule as the API: no new messages once the case is closed.
            with attempt(session):
                reports.post_message(session, ring, case=case, body=message.body)
        except AppError as exc:
            errors.add("body", exc.detail)
    if errors:
        return _case_page(request, session, ring, case, reply=body, errors=errors, status_code=422)
    return RedirectResponse(FOLLOW_UP_PATH + "?sent=message#thread", status_code=303)


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
    if not csrf_ok(request, csrf):
        return form_expired(request, FOLLOW_UP_PATH)
    who = _reporter(request, session)
    if who is None:
        return _sign_in_page(request, status_code=401, note="You were signed out. Sign in again with your receipt to give feedback.")
    case = who[1]
    given = {"listened_to": listened_to, "kept_informed": kept_informed,
             "support_suitable": support_suitable, "would_recommend": would_recommend}
    comment = forms.crlf(comment)
    errors = FormErrors()
    answer = forms.feedback(given, comment, errors)
    if answer is not None:
        try:
            with attempt(session):
                case_feedback.give(session, ring, case=case, ratings=answer.ratings.model_dump(), comment=answer.comment)
        except Conflict:
            return RedirectResponse(FOLLOW_UP_PATH, status_code=303)
    if errors:
        return _case_page(request, session, ring, case, feedback={**given, "comment": comment}, errors=errors, status_code=422)
    return RedirectResponse(FOLLOW_UP_PATH + "?sent=feedback", status_code=303)


@router.post(FOLLOW_UP_PATH + "/sign-out", response_class=HTMLResponse)
def follow_up_sign_out(
    request: Request,
    session: DbSession,
    csrf: Annotated[str, Form(alias=CSRF_FIELD)] = "",
) -> Response:
    """End the reporter session now, rather than waiting for it to expire."""
    if not csrf_ok(request, csrf):
        return form_expired(request, FOLLOW_UP_PATH)
    token = request.cookies.get(REPORTER_COOKIE)
    if token:
        sessions.end(session, token)
    response = render(request, "signed_out.html", {})
    _forget_reporter(request, response)
    return response
