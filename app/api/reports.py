"""The reporter API: raise a concern, then follow it up with the receipt (contract section 3)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from app import flows
from app.api.openapi import RETRY_AFTER
from app.attachments import schemas as files
from app.attachments import service as attachments
from app.cases.schemas import ReportIn
from app.http import signin
from app.http.bodies import INTAKE_CEILING, intake_body_limit
from app.http.idempotency import IdempotencyGuard
from app.http.reporter import CurrentReporterCase, Replayed, send_report
from app.http.state import CurrentSettings, Keys, ReceiptThrottle, keyring_of, report_rate_of, settings_of
from app.http.transactions import CommitInThreadRoute, DbSession
from app.http.users import bearer_token, client_host
from app.reports import service, sessions
from app.reports.schemas import (
    FeedbackIn,
    FeedbackOut,
    MessageIn,
    MessageOut,
    ReceiptIn,
    ReporterCaseOut,
    ReporterSessionOut,
    ReportOut,
)

router = APIRouter(prefix="/api/v1", tags=["reporters"], route_class=CommitInThreadRoute)



@router.post(
    "/reports",
    status_code=201,
    response_model=ReportOut,
    max_body_size=INTAKE_CEILING,
    dependencies=[Depends(intake_body_limit)],
    responses={409: {"description": "A retry while the first request with this Idempotency-Key is still running "
                                    "(type `…/still-processing`): send it again after `Retry-After` seconds.",
                     "headers": RETRY_AFTER},
               413: {"description": "The body is too large."},
               429: {"description": "Too many new reports from this client (`SAFESHARE_REPORT_RATE`); see Retry-After."},
               422: {"description": "Invalid report, or the Idempotency-Key was used with another body."}},
)
def submit_report(
    body: ReportIn,
    request: Request,
    idem: IdempotencyGuard,  # before the session: released only after the session has rolled back
    session: DbSession,
) -> JSONResponse:
    """Raise a concern. No sign-in; anonymous unless `anonymous` is false and `reporter` gives a name.

    The answer carries the **receipt**, shown this once: the reporter needs it to follow up.
    The description and identity are stored encrypted; the receipt only as a keyed hash.
    With an `Idempotency-Key`, a retry of the same request returns the same reference and
    receipt (with `Idempotent-Replayed: true`) and creates nothing new.

    One client may send `SAFESHARE_REPORT_RATE` new reports (10 an hour by default); past that
    the answer is 429 with `Retry-After` (replays do not count).
    """
    # The service's parts read here, not as dependencies: FastAPI rebuilds each dependency's
    # bookkeeping on every request, and this is the busiest route.
    sent = send_report(request, session, keyring_of(request), settings_of(request), report_rate_of(request), idem, body)
    if isinstance(sent, Replayed):
        return JSONResponse(ReportOut(**sent.sent).model_dump(mode="json"), status_code=201,
                            headers={"Idempotent-Replayed": "true"})
    created = ReportOut.of(sent)
    # Returned as a ready response: the busiest route skips FastAPI's second validation of
    # a model it has just built (the schema in the docs still comes from response_model).
    return JSONResponse(created.model_dump(mode="json"), status_code=201)


@router.post("/reporter/session", response_model=ReporterSessionOut, responses={401: {}, 429: {}})
def start_reporter_session(
    body: ReceiptIn, request: Request, session: DbSession, settings: CurrentSettings, keys: Keys,
    throttle: ReceiptThrottle,
) -> ReporterSessionOut:
    """Exchange a receipt for a reporter token (valid for `SAFESHARE_REPORTER_TOKEN_MINUTES`, 30 by default).

    The receipt is accepted in any letter case, with or without spaces and dashes. Any receipt
    that is wrong, malformed or unknown gets the same 401. Repeated failures get 429 with
    `Retry-After`, counted across every server process.
    """
    token, expires = signin.redeem(
        session, keys, settings, throttle, receipt=body.receipt, client_host=client_host(request)
    )
    return ReporterSessionOut(token=token, expires_at=expires)


@router.delete("/reporter/session", status_code=204, responses={401: {}})
def end_reporter_session(request: Request, case: CurrentReporterCase, session: DbSession) -> Response:
    """Sign out: the reporter token used for this request stops working."""
    sessions.end(session, bearer_token(request) or "")
    return Response(status_code=204)


@router.get("/reporter/case", response_model=ReporterCaseOut, responses={401: {}})
def read_reporter_case(case: CurrentReporterCase, session: DbSession, keys: Keys) -> ReporterCaseOut:
    """The reporter's case: status, the message thread, the next check-in date, and whether feedback is asked for."""
    return ReporterCaseOut.of(service.reporter_view(session, keys, case))


@router.post("/reporter/messages", status_code=201, response_model=MessageOut, responses={401: {}, 409: {}, 422: {}})
def post_reporter_message(body: MessageIn, case: CurrentReporterCase, session: DbSession, keys: Keys) -> MessageOut:
    """Send a message to the people handling the case (1 to 20,000 characters), with up to 5 files
    you uploaded (`attachment_ids`; 422 for any other id). 409 once the case is closed."""
    message = flows.reporter_message(session, keys, case=case, body=body.body, attachment_ids=body.attachment_ids)
    sent = files.by_message(attachments.for_reporter(session, keys, case=case))
    return MessageOut.of(message, body.body, sent.get(message.id))


@router.post("/reporter/feedback", status_code=201, response_model=FeedbackOut, responses={401: {}, 409: {}})
def give_feedback(body: FeedbackIn, case: CurrentReporterCase, session: DbSession, keys: Keys) -> FeedbackOut:
    """Say how it went, once the case is closed: four ratings from 1 to 5 and an optional comment.

    Only once per case; 409 before the case is closed and 409 the second time.
    """
    comment = body.comment or None
    given = flows.give_feedback(session, keys, case=case, ratings=body.ratings.model_dump(), comment=comment)
    return FeedbackOut(ratings=body.ratings, comment=comment, created_at=given.created_at)
