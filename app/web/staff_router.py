"""Staff pages: sign-in, sign-out and the leadership dashboard (server-rendered, no JavaScript).

The staff token from the sign-in form lives in an HttpOnly, SameSite=Strict cookie (`ss_staff`),
so it never reaches page scripts and is never sent with a request started by another site.
Only these pages read the cookie; the JSON API still takes bearer tokens only.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.auth import service as auth
from app.auth.models import User
from app.concurrency import run_slow_hash
from app.db import CommitInThreadRoute
from app.dependencies import CurrentSettings, DbSession, Keys
from app.enums import Role
from app.errors import Invalid, TooManyRequests, Unauthorized
from app.stats import charts
from app.stats import service as stats
from app.stats.router import csv_response
from app.stats.schemas import Bucket
from app.web.templating import csrf_ok, render

router = APIRouter(include_in_schema=False, route_class=CommitInThreadRoute)

STAFF_COOKIE = "ss_staff"
STATS_ROLES = (Role.LEADERSHIP, Role.SAFEGUARDING, Role.ADMIN)


def _cookie_user(request: Request, session: DbSession) -> User | None:
    token = request.cookies.get(STAFF_COOKIE)
    return auth.user_for_token(session, token) if token else None


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> Response:
    """The staff sign-in form."""
    return render(request, "login.html", {"email": "", "error": None})


@router.post("/login", response_class=HTMLResponse)
async def login_submit(
    request: Request,
    session: DbSession,
    settings: CurrentSettings,
    keys: Keys,
    email: str = Form(default="", max_length=320),
    password: str = Form(default="", max_length=1024),
    csrf_token: str = Form(default=""),
) -> Response:
    """Sign in with e-mail and password; on success the token is set as the `ss_staff` cookie."""
    def again(error: str, status: int, headers: dict[str, str] | None = None) -> Response:
        response = render(request, "login.html", {"email": email, "error": error}, status_code=status)
        response.headers.update(headers or {})
        return response

    if not csrf_ok(request, csrf_token):
        return again("The form had expired. Please sign in again.", 400)
    if not email.strip() or not password:
        return again("Enter your e-mail address and your password.", 422)
    try:
        _user, token, _expires = await run_slow_hash(
            request,
            auth.login,
            session,
            request.app.state.passwords,
            request.app.state.login_throttle,
            keys,
            email=email,
            password=password,
            client_host=request.client.host if request.client else None,
            minutes=settings.staff_token_minutes,
        )
    except TooManyRequests as exc:
        return again("Too many attempts. Please wait a few minutes and try again.", 429, exc.headers)
    except Unauthorized:
        return again("The e-mail address or password is not right.", 401)
    response = RedirectResponse("/dashboard", status_code=303)
    response.set_cookie(
        STAFF_COOKIE, token, max_age=settings.staff_token_minutes * 60,
        httponly=True, samesite="strict", secure=_secure(request), path="/",
    )
    return response


@router.post("/logout")
def logout(request: Request, session: DbSession, csrf_token: str = Form(default="")) -> Response:
    """Sign out: revoke the session and clear the cookie."""
    if csrf_ok(request, csrf_token):
        user = _cookie_user(request, session)
        if user is not None:
            auth.end_session(session, user=user, token=request.cookies.get(STAFF_COOKIE, ""))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(STAFF_COOKIE, path="/", httponly=True, samesite="strict", secure=_secure(request))
    return response


def _gate(request: Request, session: DbSession) -> User | Response:
    user = _cookie_user(request, session)
    if user is None:
        return RedirectResponse("/login", status_code=303)
    if not user.has(*STATS_ROLES):
        return render(request, "dashboard.html", {"forbidden": True, "user": user}, status_code=403)
    return user


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
    session: DbSession,
    settings: CurrentSettings,
    from_: str | None = Query(default=None, alias="from"),
    to: str | None = Query(default=None),
    bucket: str | None = Query(default=None),
) -> Response:
    """Theme counts over time as charts, the summary figures, a period picker and the CSV download."""
    gate = _gate(request, session)
    if isinstance(gate, Response):
        return gate
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
        "user": gate,
        "forbidden": False,
        "table": table,
        "summary": summary,
        "error": error,
        "buckets": [(b.value, {"month": "Month", "quarter": "Quarter", "year": "Year", "all": "Whole period"}[b.value]) for b in Bucket],
        "totals_chart": charts.totals_chart(table),
        "theme_charts": charts.theme_charts(table),
        "csv_query": f"from={table.from_}&to={table.to}&bucket={table.bucket.value}",
    }
    return render(request, "dashboard.html", ctx, status_code=status)


@router.get("/dashboard/themes.csv")
def dashboard_csv(
    request: Request,
    session: DbSession,
    settings: CurrentSettings,
    from_: str | None = Query(default=None, alias="from"),
    to: str | None = Query(default=None),
    bucket: Bucket = Query(default=Bucket.MONTH),
) -> Response:
    """The dashboard's themes table as CSV, for a signed-in browser (same table as /api/v1/stats/themes.csv)."""
    gate = _gate(request, session)
    if isinstance(gate, Response):
        return gate
    table = stats.theme_table(session, min_cell=settings.min_cell, from_month=from_, to_month=to, bucket=bucket)
    return csv_response(table)
