"""Staff pages: sign-in, sign-out and the leadership dashboard.

The staff token lives in an HttpOnly, SameSite=Strict cookie that only pages read.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app import clock, labels
from app.auth import service as auth
from app.auth.devices import PENDING_MINUTES
from app.auth.models import User
from app.auth.totp import is_code_shaped
from app.config import Settings
from app.equality.schemas import NAMES as EQUALITY_LABELS
from app.equality.schemas import VALUE_LABELS as EQUALITY_VALUES
from app.errors import AppError, Invalid, TooManyRequests, Unauthorized
from app.http import cookies
from app.http.signin import SignInFlow, keep_device
from app.http.state import CurrentSettings
from app.http.transactions import CommitInThreadRoute, DbSession
from app.http.users import STAFF_COOKIE, StatsReader, signed_in_user
from app.schemas import MAX_EMAIL, MAX_PASSWORD, text_problem
from app.stats import charts
from app.stats import service as stats
from app.stats.equality import equality_table
from app.stats.export import csv_response
from app.stats.referrals import referral_table
from app.stats.schemas import Bucket
from app.web.navigation import home_for
from app.web.pages import csrf_ok, render
from app.web.staff.common import staff_page, wait_message

router = APIRouter(include_in_schema=False, route_class=CommitInThreadRoute)


PENDING_COOKIE = "ss_signin"


def _landing(user: User, settings: Settings) -> str:
    """Where a fresh sign-in goes: the account page while something must be done first, else the work."""
    if user.password_change_required or auth.totp_setup_required(user, settings):
        return "/staff/account"
    return home_for(user.roles)


def _login_page(
    request: Request, *, email: str = "", error: str | None = None, status: int = 200, step: str = "password",
    headers: dict[str, str] | None = None,
) -> Response:
    response = render(request, "login.html", {"email": email, "error": error, "step": step}, status_code=status)
    response.headers.update(headers or {})
    if step == "password" and cookies.read(request, PENDING_COOKIE, path="/login"):
        cookies.drop(response, request, PENDING_COOKIE, path="/login")
    return response


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> Response:
    """The staff sign-in form."""
    return _login_page(request)


@router.post("/login", response_class=HTMLResponse)
async def login_submit(
    request: Request,
    settings: CurrentSettings,
    sign_in: SignInFlow,
    email: Annotated[str, Form(max_length=MAX_EMAIL)] = "",
    password: Annotated[str, Form(max_length=MAX_PASSWORD)] = "",
    code: Annotated[str, Form(max_length=64)] = "",
    step: Annotated[str, Form(max_length=16)] = "password",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Sign in with e-mail and password, then the code; the flow and throttle of the API's login."""
    if not csrf_ok(request, csrf_token):
        return _login_page(request, email=email, error="The form had expired. Please sign in again.", status=400)
    try:
        if step == "code":
            pending = cookies.read(request, PENDING_COOKIE, path="/login") or ""
            if not pending:
                return _login_page(request, error="Your sign-in took too long. Start again with your e-mail "
                                   "address and password.", status=401)
            if not code.strip():
                return _login_page(request, step="code", status=422, error="Enter the 6-digit code from your "
                                   "authenticator app, or one of your recovery codes.")
            if not is_code_shaped(code):
                return _login_page(request, step="code", status=422, error="Enter the 6 digits your app shows, "
                                   "or a recovery code of 16 letters and digits.")
            signed_in = await sign_in.second_step(pending=pending, totp=code)
        else:
            if not email.strip() or not password:
                return _login_page(request, email=email, error="Enter your e-mail address and your password.", status=422)
            if text_problem(email, free_text=False) or text_problem(password, free_text=False):
                return _login_page(request, error="That e-mail address or password holds characters that cannot be "
                                   "typed. Enter them again.", status=422)
            signed_in = await sign_in(email=email, password=password)
    except TooManyRequests as exc:
        return _login_page(request, email=email, step=step, error=wait_message(exc), status=429, headers=exc.headers)
    except auth.TotpRequired as exc:
        response = _login_page(request, step="code", status=200 if step != "code" else 401,
                               error=exc.detail if step == "code" else None)
        if exc.pending:
            cookies.put(response, request, PENDING_COOKIE, exc.pending, path="/login", max_age=PENDING_MINUTES * 60)
        return response
    except Unauthorized as exc:
        return _login_page(request, email=email, error=exc.detail, status=401)
    landing = "/staff/account/recovery-key" if signed_in.recovery_key else _landing(signed_in.user, settings)
    response = RedirectResponse(landing, status_code=303)
    cookies.put(response, request, STAFF_COOKIE, signed_in.token, max_age=settings.staff_token_minutes * 60)
    keep_device(request, response, signed_in)
    if cookies.read(request, PENDING_COOKIE, path="/login"):
        cookies.drop(response, request, PENDING_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(request: Request, session: DbSession) -> Response:
    """Sign out, whatever the form carries: no CSRF token, since a refused sign-out would leave a
    session open on a shared device.
    """
    try:
        user = signed_in_user(request, session)
    except AppError:
        user = None
    if user is not None:
        auth.end_session(session, user=user, token=cookies.read(request, STAFF_COOKIE) or "")
    response = RedirectResponse("/login", status_code=303)
    cookies.drop(response, request, STAFF_COOKIE)
    return response


def _default_bucket(session: DbSession, from_: str | None, to: str | None) -> Bucket:
    """Months for a year or less, quarters beyond: the table stays readable either way."""
    try:
        months = stats.resolve_range(session, from_, to).months
    except Invalid:
        return Bucket.MONTH  # the error is reported once, below
    return Bucket.MONTH if len(months) <= 12 else Bucket.QUARTER


def _financial_year_by_quarter(session: DbSession, min_cell: int) -> Any:
    """The current UK financial year (April to March) by quarter, up to this month."""
    this_month = clock.today().strftime("%Y-%m")
    start = f"{int(this_month[:4]) - (1 if int(this_month[5:7]) < 4 else 0):04d}-04"
    return stats.theme_table(session, min_cell=min_cell, from_month=start, to_month=this_month, bucket=Bucket.QUARTER)


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard(
    request: Request,
    user: StatsReader,
    session: DbSession,
    settings: CurrentSettings,
    from_: str | None = Query(default=None, alias="from"),
    to: str | None = Query(default=None),
    bucket: str | None = Query(default=None),
) -> Response:
    """Theme counts over time as charts, the summary figures, a period picker and the CSV download."""
    error = None
    status = 200
    opening = from_ is None and to is None and bucket is None  # what a board asks first: since launch
    try:
        chosen = Bucket.ALL if opening else Bucket(bucket) if bucket else _default_bucket(session, from_, to)
    except ValueError:
        chosen, error, status = Bucket.MONTH, "Choose month, quarter, year or the whole period.", 422
    try:
        table = stats.theme_table(session, min_cell=settings.min_cell, from_month=from_, to_month=to, bucket=chosen)
        summary = stats.summary(session, min_cell=settings.min_cell, from_month=table.from_, to_month=table.to)
    except Invalid as exc:
        error, status = exc.detail, 422
        table = stats.theme_table(session, min_cell=settings.min_cell, from_month=None, to_month=None, bucket=chosen)
        summary = stats.summary(session, min_cell=settings.min_cell, from_month=table.from_, to_month=table.to)
    ctx: dict[str, Any] = {
        "user": user,
        "table": table,
        "summary": summary,
        "locations": stats.location_table(session, min_cell=settings.min_cell, from_month=table.from_,
                                          to_month=table.to, bucket=table.bucket),
        "referrals": referral_table(session, min_cell=settings.min_cell, from_month=table.from_, to_month=table.to,
                                    bucket=Bucket.ALL),
        "equality": equality_table(session, min_cell=settings.min_cell, from_month=table.from_, to_month=table.to),
        "referral_labels": labels.REFERRAL_LABELS,
        "referral_status_labels": labels.REFERRAL_STATUS_LABELS,
        "channel_share_labels": labels.CHANNEL_SHARE_LABELS,
        "about_share_labels": labels.ABOUT_SHARE_LABELS,
        "location_kind_labels": labels.LOCATION_KIND_LABELS,
        "feedback_labels": labels.FEEDBACK_LABELS,
        "equality_labels": EQUALITY_LABELS,
        "equality_values": EQUALITY_VALUES,
        "error": error,
        "buckets": [(b.value, {"month": "Month", "quarter": "Quarter", "year": "Year", "fy": "Financial year",
                               "all": "Whole period"}[b.value]) for b in Bucket],
        "fy_table": _financial_year_by_quarter(session, settings.min_cell) if opening else None,
        "totals_chart": charts.totals_chart(table),
        "theme_charts": charts.theme_charts(table),
        "csv_query": f"from={table.from_}&to={table.to}&bucket={table.bucket.value}",
    }
    return staff_page(request, "dashboard.html", ctx, status_code=status)


@router.get("/dashboard/themes.csv")
def dashboard_csv(
    user: StatsReader,
    session: DbSession,
    settings: CurrentSettings,
    from_: str | None = Query(default=None, alias="from"),
    to: str | None = Query(default=None),
    bucket: Bucket = Query(default=Bucket.MONTH),
) -> Response:
    """The dashboard's themes table as CSV, for a signed-in browser (same table as /api/v1/stats/themes.csv)."""
    table = stats.theme_table(session, min_cell=settings.min_cell, from_month=from_, to_month=to, bucket=bucket)
    return csv_response(table)
