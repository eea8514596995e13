"""The reporter's requests: the reporter token's case, and the bucket of the report rate."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker

from app.cases.models import Case
from app.crypto.keyring import KeyRing
from app.errors import Unauthorized, raises
from app.http.state import (
    held,
    settings_of,
)
from app.http.transactions import DbSession
from app.http.users import (
    bearer_token,
    client_host,
)
from app.reports import sessions
from app.throttle import client_bucket


def report_rate_bucket(request: Request, keys: KeyRing) -> bytes:
    """The client's bucket for `SAFESHARE_REPORT_RATE` (API and form alike)."""
    return client_bucket(keys, "report", client_host(request))


# --- the reporter ---------------------------------------------------------------------------------


@raises(Unauthorized, security="reporter")
def current_reporter_case(request: Request, session: DbSession) -> Case:
    """The case of the reporter token in `Authorization: Bearer ssr_…`; 401 for anything else."""
    token = bearer_token(request)
    case = reporter_case_for(request, session, token) if token else None
    if case is None:
        raise Unauthorized("Sign in again with your receipt.")
    return case


def reporter_case_for(request: Request, session: Session, token: str) -> Case | None:
    """The case of a live reporter token, for the API and the follow-up pages alike: a session
    left unused for `SAFESHARE_REPORTER_IDLE_MINUTES` has ended; using one keeps it alive."""
    writes = request.method not in ("GET", "HEAD", "OPTIONS")
    idle = timedelta(minutes=settings_of(request).reporter_idle_minutes)
    makers = held(request, "sessionmaker", sessionmaker)
    return sessions.case_for_token(session, token, idle=idle, touch=writes, touch_apart=makers)


CurrentReporterCase = Annotated[Case, Depends(current_reporter_case)]


TOO_MANY_REPORTS = (
    "Several concerns have been sent from here in a short time. To keep Safe Share working for everyone, "
    "please wait and send this one again later."
)
