"""The reporter's requests: the reporter token's case, and the bucket of the report rate."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from app import flows
from app.attachments.service import Prepared
from app.cases.intake import NewCase
from app.cases.models import Case
from app.cases.schemas import ReportIn
from app.config import Settings
from app.crypto.keyring import KeyRing
from app.db import attempt
from app.errors import Conflict, Invalid, TooManyRequests, Unauthorized, raises
from app.http.idempotency import Idempotency
from app.http.state import sessions_of, settings_of
from app.http.transactions import DbSession
from app.http.users import (
    bearer_token,
    client_host,
)
from app.reports import sessions
from app.throttle import RateLimit, client_bucket


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
    """The case of a live reporter token, for the API and the follow-up pages alike."""
    writes = request.method not in ("GET", "HEAD", "OPTIONS")
    idle = timedelta(minutes=settings_of(request).reporter_idle_minutes)
    makers = sessions_of(request)
    return sessions.case_for_token(session, token, idle=idle, touch=writes, touch_apart=makers)


CurrentReporterCase = Annotated[Case, Depends(current_reporter_case)]


TOO_MANY_REPORTS = (
    "Several concerns have been sent from here in a short time. To keep Safe Share working for everyone, "
    "please wait and send this one again later."
)


# Both doors wait this long on a double click (the form) or not at all (the API: 409, retry later).
NO_WAIT = 0.0


@dataclass(frozen=True)
class Replayed:
    """The answer stored for this key: a retry or a second click, not a new report."""

    sent: dict[str, Any]


class ChangedResend(Invalid):
    """The same Idempotency-Key (or form) sent again with another body: 422 like any invalid request."""


def send_report(
    request: Request, session: Session, keys: KeyRing, settings: Settings, rate: RateLimit, guard: Idempotency,
    report: ReportIn, *, files: Sequence[Prepared] = (), wait: float = NO_WAIT, savepoint: bool = False,
) -> NewCase | Replayed:
    """A concern sent online, API and form alike: key claimed (a concurrent twin waits up to `wait`,
    else 409), rate counted unless a replay (429), stored by `flows.submit_report`. `savepoint`: a
    refusal undoes only its own writes.
    """
    deadline = time.monotonic() + wait
    bucket = report_rate_bucket(request, keys)
    counted = False

    def count(s: Session) -> TooManyRequests | None:
        nonlocal counted
        counted = True
        return rate.count(s, bucket, detail=TOO_MANY_REPORTS)

    while True:
        try:
            replay = guard.claim(report, count=count)
            break
        except Conflict:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
        except Invalid as exc:
            raise ChangedResend(exc.detail, errors=exc.errors) from exc
    if replay is not None:
        return Replayed(replay)
    if not counted:  # no key to claim: the rate is counted in a transaction of its own
        rate.hit(bucket, detail=TOO_MANY_REPORTS)
    if not savepoint:
        return flows.submit_report(session, keys, settings, data=report, idempotency_key=guard.key, files=files)
    with attempt(session):
        return flows.submit_report(session, keys, settings, data=report, idempotency_key=guard.key, files=files)
