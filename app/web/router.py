"""The reporters' pages: `/`, `/report` and `/follow-up`. Server-rendered, no JavaScript needed.

Every form is a plain HTML POST protected by the double-submit CSRF token of
`app.web.templating`. Validation happens on the server: an error summary at the top links to each
field, the message sits next to the field, and everything the person typed is put back.

The receipt never travels in a URL: the confirmation page is the POST response itself, and the
follow-up sign-in is a POST whose result is a short-lived reporter token kept in an HttpOnly,
SameSite=Strict cookie scoped to `/follow-up`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from app.cases.models import Case
from app.config import Settings
from app.db import CommitInThreadRoute
from app.dependencies import INTAKE_CEILING, CurrentSettings, DbSession, Keys
from app.enums import About, Channel, Status, Wish
from app.errors import AppError, Conflict, Invalid, TooManyRequests, Unauthorized
from app.reports import service as reports
from app.reports.schemas import MessageIn, ReportIn
from app.themes import service as themes
from app.web.templating import CSRF_FIELD, csrf_ok, render, templates

# HTML pages are not part of the REST API's OpenAPI document.
router = APIRouter(include_in_schema=False, route_class=CommitInThreadRoute)

REPORTER_COOKIE = "ss_reporter"
FOLLOW_UP_PATH = "/follow-up"
MAX_DESCRIPTION = 20000
MAX_MESSAGE = 20000
MAX_COMMENT = 5000
# A form-encoded 20,000-character description can take up to ~240 KB (non-ASCII characters are
# percent-encoded three bytes at a time), above the app-wide 64 KiB body limit. The route accepts
# up to the API intake's ceiling; the handler then applies SAFESHARE_MAX_REPORT_BODY_BYTES.
REPORT_BODY_LIMIT: int = INTAKE_CEILING

WISH_LABELS: dict[str, tuple[str, str]] = {
    Wish.TALK.value: ("Talk it through with someone", "A member of the safeguarding team listens and helps you think about what to do."),
    Wish.SIGNPOSTING.value: ("Information about other support", "For example counselling, occupational health, your union or a charity."),
    Wish.COACHING.value: ("Coaching", "Help to handle the situation yourself, with someone on your side."),
    Wish.FACILITATED_CONVERSATION.value: (
        "A facilitated conversation",
        "A safe, guided conversation with the other person, led by someone neutral.",
    ),
    Wish.INVESTIGATION.value: ("A formal investigation", "A fair, independent look at what happened, which may lead to action."),
}
ABOUT_LABELS: dict[str, str] = {
    About.SELF.value: "Something that happened to me",
    About.COLLEAGUE.value: "Something that happened to a colleague",
    About.OTHER.value: "Something else, or I would rather not say",
}
STATUS_LABELS: dict[str, tuple[str, str]] = {
    Status.RECEIVED.value: ("Received", "Your concern has arrived. The safeguarding team will read it soon."),
    Status.TRIAGED.value: ("Read by the safeguarding team", "The safeguarding team has read your concern and is deciding the next steps."),
    Status.IN_PROGRESS.value: ("Being looked at", "Someone is working on your concern. You can send them a message here at any time."),
    Status.CLOSED.value: ("Closed", "Your concern has been closed. You can still read the messages here."),
}
RATING_QUESTIONS: dict[str, str] = {
    "listened_to": "Did you feel listened to?",
    "kept_informed": "Were you kept informed about what was happening?",
    "support_suitable": "Was the support offered right for you?",
    "would_recommend": "Would you recommend Safe Share to a colleague?",
}
RATING_SCALE: list[tuple[int, str]] = [(1, "Not at all"), (2, "Not really"), (3, "Partly"), (4, "Mostly"), (5, "Very much")]


@dataclass
class FormErrors:
    """Field id -> message, in the order the fields appear on the page."""

    messages: dict[str, str] = field(default_factory=dict)

    def add(self, field_id: str, message: str) -> None:
        self.messages.setdefault(field_id, message)

    def __bool__(self) -> bool:
        return bool(self.messages)

    def summary(self, order: list[str]) -> list[tuple[str, str]]:
        known = [(f, self.messages[f]) for f in order if f in self.messages]
        rest = [(f, m) for f, m in self.messages.items() if f not in order]
        return known + rest


# ---------------------------------------------------------------------------------------------
# Template helpers


def _as_datetime(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _nice_datetime(value: Any, settings: Settings) -> str:
    """`22 November 2026 at 05:47`, in the organisation's own time zone."""
    dt = _as_datetime(value)
    if dt is None:
        return ""
    local = dt.astimezone(settings.hours.tz)
    return f"{local.day} {local:%B %Y} at {local:%H:%M}"


def _nice_date(value: Any) -> str:
    if value is None or value == "":
        return ""
    d = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    return f"{d:%A} {d.day} {d:%B %Y}"


def _value(v: Any) -> str:
    return str(getattr(v, "value", v))


templates.env.filters.setdefault("enum_value", _value)
templates.env.filters.setdefault("nice_date", _nice_date)


def _page(request: Request, name: str, ctx: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    settings: Settings = request.app.state.settings
    ctx = {"nice_datetime": lambda v: _nice_datetime(v, settings), **ctx}
    return render(request, name, ctx, status_code=status_code)


def _csrf_refused(request: Request, back: str) -> HTMLResponse:
    """A forged or stale form. Nothing is stored; the person is asked to go back and try again."""
    return _page(request, "form_expired.html", {"back": back}, status_code=403)


# ---------------------------------------------------------------------------------------------
# Home


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> HTMLResponse:
    """What Safe Share is, what happens after you raise a concern, and the other routes open to you."""
    return _page(request, "home.html", {})


# ---------------------------------------------------------------------------------------------
# Raising a concern

REPORT_FIELD_ORDER = ["description", "about-self", "identity-anonymous", "name", "email", "phone", "themes", "wishes"]


def _empty_report_form() -> dict[str, Any]:
    return {"description": "", "identity": "anonymous", "name": "", "email": "", "phone": "",
            "about": About.SELF.value, "themes": [], "wishes": []}


def _report_form(request: Request, session: DbSession, form: dict[str, Any], errors: FormErrors, status_code: int) -> HTMLResponse:
    ctx = {
        "form": form,
        "errors": errors.messages,
        "problems": errors.summary(REPORT_FIELD_ORDER),
        "themes": themes.list_themes(session, active_only=True),
        "wish_labels": WISH_LABELS,
        "about_labels": ABOUT_LABELS,
        "max_description": MAX_DESCRIPTION,
    }
    return _page(request, "report.html", ctx, status_code=status_code)


@router.get("/report", response_class=HTMLResponse)
def report_form(request: Request, session: DbSession) -> HTMLResponse:
    """The form to raise a concern, anonymously or with your name."""
    return _report_form(request, session, _empty_report_form(), FormErrors(), 200)


def _report_errors_from_validation(exc: ValidationError, errors: FormErrors) -> None:
    """Turn ReportIn's validation errors into plain-English messages next to the right fields."""
    for err in exc.errors():
        loc = tuple(err.get("loc", ()))
        kind = err.get("type", "")
        head = loc[0] if loc else None
        if head == "description":
            if kind == "string_too_long":
                errors.add("description", f"Your description is too long. Shorten it to {MAX_DESCRIPTION:,} characters or fewer.")
            else:
                errors.add("description", "Describe what happened. A few words are enough to start.")
        elif head == "reporter" and len(loc) > 1 and loc[1] == "name":
            if kind == "string_too_long":
                errors.add("name", "Shorten your name to 200 characters or fewer.")
            else:
                errors.add("name", "Enter your name, or choose to stay anonymous.")
        elif head == "reporter" and len(loc) > 1 and loc[1] == "email":
            errors.add("email", "Enter an email address in the right format, like name@example.org, or leave it empty.")
        elif head == "reporter" and len(loc) > 1 and loc[1] == "phone":
            errors.add("phone", "Enter a phone number using numbers, spaces, brackets, + or -, or leave it empty.")
        elif head == "about":
            errors.add("about-self", "Choose what your concern is about.")
        elif head == "themes":
            errors.add("themes", "Choose topics from the list, or none.")
        elif head == "wishes":
            errors.add("wishes", "Choose from the options listed, or none.")
        else:
            # The model-level rule tying anonymity to identity; the form checks it first, so
            # this is a fallback that still names a field.
            errors.add("identity-anonymous", "Choose whether to stay anonymous or give your name.")


@router.post("/report", response_class=HTMLResponse, max_body_size=REPORT_BODY_LIMIT)
def submit_report(
    request: Request,
    session: DbSession,
    settings: CurrentSettings,
    ring: Keys,
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
        return _csrf_refused(request, "/report")
    # Browsers send textarea line breaks as CRLF; count each as one character, as people see it.
    description = description.replace("\r\n", "\n")
    form = {"description": description, "identity": identity, "name": name, "email": email, "phone": phone,
            "about": about, "themes": theme, "wishes": wish}
    errors = FormErrors()
    if identity not in ("anonymous", "named"):
        errors.add("identity-anonymous", "Choose whether to stay anonymous or give your name.")
    anonymous = identity != "named"
    if identity == "anonymous" and (name.strip() or email.strip() or phone.strip()):
        # Never store identity the person may not have meant to give.
        errors.add("identity-anonymous", "You chose to stay anonymous but also gave your details. "
                   "Choose “Yes, give my name” to send them, or delete them to stay anonymous.")
    data: dict[str, Any] = {
        "description": description,
        "anonymous": anonymous,
        "reporter": None if anonymous else {"name": name, "email": email.strip() or None, "phone": phone.strip() or None},
        "about": about or About.SELF.value,
        "themes": theme,
        "wishes": wish,
    }
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > settings.max_report_body_bytes:
        errors.add("description", f"Your report is too long to send. Shorten it to {MAX_DESCRIPTION:,} characters or fewer.")
        return _report_form(request, session, form, errors, 413)
    report: ReportIn | None = None
    try:
        report = ReportIn.model_validate(data)
    except ValidationError as exc:
        _report_errors_from_validation(exc, errors)
    active = {t.slug for t in themes.list_themes(session, active_only=True)}
    if any(slug not in active for slug in theme):
        errors.add("themes", "Choose topics from the list, or none.")
    if errors or report is None:
        return _report_form(request, session, form, errors, 422)
    try:
        case = reports.create_case(session, ring, settings, data=report, channel=Channel.WEB)
    except Invalid as exc:
        session.rollback()
        for e in exc.errors or [{"field": "", "message": exc.detail}]:
            if e.get("field") == "themes":
                errors.add("themes", "One of the topics you chose is no longer offered. Choose again from the list.")
            else:
                errors.add("description", e.get("message") or exc.detail)
        return _report_form(request, session, form, errors, 422)
    return _page(request, "confirmation.html", {"reference": case.reference, "receipt": case.receipt})


# ---------------------------------------------------------------------------------------------
# Following up with the receipt


def _reporter(request: Request, session: DbSession) -> tuple[str, Case] | None:
    token = request.cookies.get(REPORTER_COOKIE)
    if not token:
        return None
    case = reports.case_for_reporter_token(session, token)
    return (token, case) if case is not None else None


def _sign_in_page(
    request: Request, *, receipt: str = "", error: str | None = None, note: str | None = None,
    unsent: str | None = None, status_code: int = 200, headers: dict[str, str] | None = None,
) -> HTMLResponse:
    response = _page(
        request, "follow_up_sign_in.html",
        {"receipt": receipt, "error": error, "note": note, "unsent": unsent}, status_code=status_code,
    )
    if request.cookies.get(REPORTER_COOKIE):
        _forget_reporter(request, response)
    for k, v in (headers or {}).items():
        response.headers[k] = v
    return response


def _forget_reporter(request: Request, response: Response) -> None:
    response.delete_cookie(REPORTER_COOKIE, path=FOLLOW_UP_PATH, secure=request.url.scheme == "https",
                           httponly=True, samesite="strict")


def _case_page(
    request: Request, session: DbSession, ring: Keys, case: Case, *, reply: str = "",
    feedback: dict[str, Any] | None = None, errors: FormErrors | None = None, notice: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    errors = errors or FormErrors()
    view = reports.reporter_view(session, ring, case)
    status = _value(view.get("status"))
    ctx = {
        "view": view,
        "status_label": STATUS_LABELS.get(status, (status, ""))[0],
        "status_help": STATUS_LABELS.get(status, (status, ""))[1],
        "reply": reply,
        "feedback": feedback or {},
        "errors": errors.messages,
        "problems": errors.summary(["body", *[f"{q}-1" for q in RATING_QUESTIONS], "comment"]),
        "rating_questions": RATING_QUESTIONS,
        "rating_scale": RATING_SCALE,
        "notice": notice,
    }
    return _page(request, "follow_up_case.html", ctx, status_code=status_code)


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
    csrf: Annotated[str, Form(alias=CSRF_FIELD)] = "",
    receipt: Annotated[str, Form()] = "",
) -> Response:
    """Exchange the receipt for a short reporter session held in an HttpOnly cookie."""
    if not csrf_ok(request, csrf):
        return _csrf_refused(request, FOLLOW_UP_PATH)
    if not receipt.strip():
        return _sign_in_page(request, error="Enter the receipt you were given when you raised your concern.", status_code=422)
    try:
        token, expires_at = reports.redeem_receipt(
            session, ring, settings, request.app.state.receipt_throttle,
            receipt=receipt, client_host=request.client.host if request.client else None,
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
        reports.end_reporter_session(session, previous)  # one live session per browser
    response = RedirectResponse(FOLLOW_UP_PATH, status_code=303)
    response.set_cookie(
        REPORTER_COOKIE, token, expires=_as_datetime(expires_at), path=FOLLOW_UP_PATH,
        secure=request.url.scheme == "https", httponly=True, samesite="strict",
    )
    return response


@router.post(FOLLOW_UP_PATH + "/messages", response_class=HTMLResponse, max_body_size=REPORT_BODY_LIMIT)
def follow_up_reply(
    request: Request,
    session: DbSession,
    ring: Keys,
    csrf: Annotated[str, Form(alias=CSRF_FIELD)] = "",
    body: Annotated[str, Form()] = "",
) -> Response:
    """Send a message to the safeguarding team about your concern."""
    if not csrf_ok(request, csrf):
        return _csrf_refused(request, FOLLOW_UP_PATH)
    body = body.replace("\r\n", "\n")
    who = _reporter(request, session)
    if who is None:
        return _sign_in_page(
            request, status_code=401, unsent=body.strip() or None,
            note="You were signed out, so your message was not sent. Sign in again with your receipt.",
        )
    case = who[1]
    errors = FormErrors()
    message: MessageIn | None = None
    try:
        message = MessageIn.model_validate({"body": body})
    except ValidationError as exc:
        if any(e.get("type") == "string_too_long" for e in exc.errors()):
            errors.add("body", f"Your message is too long. Shorten it to {MAX_MESSAGE:,} characters or fewer.")
        else:
            errors.add("body", "Write your message before sending it.")
    if message is not None:
        try:
            # The same rule as the API: no new messages once the case is closed.
            reports.post_reporter_message(session, ring, case=case, body=message.body)
        except AppError as exc:
            session.rollback()
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
        return _csrf_refused(request, FOLLOW_UP_PATH)
    who = _reporter(request, session)
    if who is None:
        return _sign_in_page(request, status_code=401, note="You were signed out. Sign in again with your receipt to give feedback.")
    case = who[1]
    given = {"listened_to": listened_to, "kept_informed": kept_informed,
             "support_suitable": support_suitable, "would_recommend": would_recommend}
    comment = comment.replace("\r\n", "\n")
    errors = FormErrors()
    ratings: dict[str, int] = {}
    for key, raw in given.items():
        if raw in {"1", "2", "3", "4", "5"}:
            ratings[key] = int(raw)
        else:
            errors.add(f"{key}-1", f"Choose an answer for “{RATING_QUESTIONS[key]}”")
    if len(comment.strip()) > MAX_COMMENT:
        errors.add("comment", f"Your comment is too long. Shorten it to {MAX_COMMENT:,} characters or fewer.")
    if not errors:
        try:
            reports.give_feedback(session, ring, case=case, ratings=ratings, comment=comment.strip() or None)
        except Conflict:
            session.rollback()
            return RedirectResponse(FOLLOW_UP_PATH, status_code=303)
        except AppError as exc:
            session.rollback()
            errors.add("comment", exc.detail)
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
        return _csrf_refused(request, FOLLOW_UP_PATH)
    token = request.cookies.get(REPORTER_COOKIE)
    if token:
        reports.end_reporter_session(session, token)
    response = _page(request, "signed_out.html", {})
    _forget_reporter(request, response)
    return response
