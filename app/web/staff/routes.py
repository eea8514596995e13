"""Staff pages: sign-in, sign-out and the leadership dashboard (server-rendered, no JavaScript).

The staff token from the sign-in form lives in an HttpOnly, SameSite=Strict cookie, so it never
reaches page scripts and is never sent with a request started by another site. Pages take the
same user and role dependencies as the API (`app.api.dependencies`), which read that cookie for
pages only; the JSON API still takes bearer tokens only.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.api import cookies
from app.api.dependencies import (
    STAFF_COOKIE,
    CurrentSettings,
    DbSession,
    SignInFlow,
    StatsReader,
    current_user,
)
from app.api.transactions import CommitInThreadRoute
from app.auth import service as auth
from app.errors import AppError, Invalid, TooManyRequests, Unauthorized
from app.schemas import MAX_EMAIL, MAX_PASSWORD
from app.stats import charts
from app.stats import service as stats
from app.stats.export import csv_response
from app.stats.schemas import Bucket
from app.web.pages import csrf_ok, render
from app.web.staff.common import home_for, staff_page

router = APIRouter(include_in_schema=False, route_class=CommitInThreadRoute)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> Response:
    """The staff sign-in form."""
    return render(request, "login.html", {"email": "", "error": None})


@router.post("/login", response_class=HTMLResponse)
async def login_submit(
    request: Request,
    settings: CurrentSettings,
    sign_in: SignInFlow,
    email: Annotated[str, Form(max_length=MAX_EMAIL)] = "",
    password: Annotated[str, Form(max_length=MAX_PASSWORD)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Sign in with e-mail and password; on success the token is set as the `ss_staff` cookie
    (`__Host-ss_staff` over https)."""
    def again(error: str, status: int, headers: dict[str, str] | None = None) -> Response:
        response = render(request, "login.html", {"email": email, "error": error}, status_code=status)
        response.headers.update(headers or {})
        return response

    if not csrf_ok(request, csrf_token):
        return again("The form had expired. Please sign in again.", 400)
    if not email.strip() or not password:
        return again("Enter your e-mail address and your password.", 422)
    try:
        signed_in = await sign_in(email=email, password=password)
    except TooManyRequests as exc:
        return again("Too many attempts. Please wait a few minutes and try again.", 429, exc.headers)
    except Unauthorized:
        return again("The e-mail address or password is not right.", 401)
    response = RedirectResponse(home_for(signed_in.user.roles), status_code=303)
    cookies.put(response, request, STAFF_COOKIE, signed_in.token, max_age=settings.staff_token_minutes * 60)
    return response


@router.post("/logout")
def logout(request: Request, session: DbSession) -> Response:
    """Sign out: the session ends on the server and the cookie is cleared, whatever the form
    carries. No CSRF token is needed: the most a forged sign-out can do is sign someone out,
    whereas a sign-out refused for a stale token would leave a session open on a shared device."""
    try:
        user = current_user(request, session)
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
    try:
        chosen = Bucket(bucket) if bucket else _default_bucket(session, from_, to)
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
        "error": error,
        "buckets": [(b.value, {"month": "Month", "quarter": "Quarter", "year": "Year", "all": "Whole period"}[b.value]) for b in Bucket],
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
