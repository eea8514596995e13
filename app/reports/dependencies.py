"""Dependencies of the reporter API: the reporter's own case, the Idempotency-Key guard, the intake body limit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from app.cases.models import Case
from app.dependencies import DbSession, Keys, bearer_token
from app.errors import Unauthorized
from app.reports import service
from app.reports.schemas import ReportIn


def current_reporter_case(request: Request, session: DbSession) -> Case:
    """The case of the reporter token in `Authorization: Bearer ssr_…`; 401 for anything else."""
    token = bearer_token(request)
    case = service.case_for_reporter_token(session, token) if token else None
    if case is None:
        raise Unauthorized("Sign in again with your receipt.")
    return case


CurrentReporterCase = Annotated[Case, Depends(current_reporter_case)]


class Idempotency:
    """The request's Idempotency-Key, if any: claimed before the work, released if the request fails."""

    def __init__(self, sessions: sessionmaker[Session], key: service.IdempotencyKey | None) -> None:
        self.sessions = sessions
        self.key = key
        self.claimed = False

    def claim(self, data: ReportIn) -> dict[str, Any] | None:
        """None if this request should do the work; the stored response if it is a replay."""
        if self.key is None:
            return None
        replay = service.claim_idempotency_key(self.sessions, self.key, fingerprint=self.key.fingerprint(data))
        self.claimed = replay is None
        return replay


async def idempotency(
    request: Request,
    keys: Keys,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            description="Optional; 16 to 255 visible ASCII characters (a random UUID is ideal). A retry with "
            "the same key and body gets the first answer again; another body is 422; a retry while the "
            "first is still running is 409. Kept for 24 hours.",
        ),
    ] = None,
) -> AsyncIterator[Idempotency]:
    # async: no thread hop for the common case of no key; the clean-up's DB work goes to the pool.
    key = service.IdempotencyKey.derive(keys, service.parse_idempotency_key(idempotency_key)) if idempotency_key else None
    guard = Idempotency(request.app.state.sessionmaker, key)
    try:
        yield guard
    except BaseException:
        # Entered before the request's session, so this runs after its rollback: nothing of the
        # failed request remains, and the released key lets the client's retry start afresh.
        if guard.claimed and key is not None:
            await run_in_threadpool(service.release_idempotency_key, guard.sessions, key)
        raise


IdempotencyGuard = Annotated[Idempotency, Depends(idempotency, scope="function")]
