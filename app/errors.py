"""Errors are exceptions that carry their HTTP status; one set of handlers renders RFC 9457 problems."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

log = logging.getLogger("safeshare.errors")

# A problem's `type` is a reference to a page of this service that explains it (`/problems/{name}`,
# app.web.problems): relative (RFC 9457 section 3.1.1), so it resolves against the address the
# client used, whatever host, scheme or proxy is in front.
PROBLEM_BASE = "/problems/"
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class ProblemType:
    """What a problem `type` means, for its page: the status it comes with, what happened and what to do."""

    status: int
    title: str
    meaning: str
    what_to_do: str


# Every `slug` an error carries has its page here (a test finds every slug in app/ and checks).
PROBLEM_TYPES: dict[str, ProblemType] = {
    "bad-request": ProblemType(400, "Bad request", "The request could not be understood.",
                               "Check the request against the API documentation at /docs."),
    "unauthorized": ProblemType(
        401, "Not signed in", "The request carried no credentials, or credentials that are wrong, expired or ended.",
        "Staff: sign in with POST /api/v1/auth/login and send `Authorization: Bearer <token>`. Reporters: start a "
        "session with your receipt (POST /api/v1/reporter/session). The two kinds of token are never interchangeable."),
    "totp-required": ProblemType(
        401, "Two-factor code needed", "The password (or, for a forgotten password, the recovery key) was right, but "
        "this account uses two-factor sign-in and the code was missing or wrong (a code works once).",
        "Send `totp` with the 6-digit code your authenticator app shows now, or one of your unused recovery codes."),
    "forbidden": ProblemType(403, "Not allowed", "You are signed in, but your roles do not allow this.",
                             "Ask an administrator if you need it; the roles are admin, safeguarding, hr and leadership."),
    "wrong-password": ProblemType(
        403, "Current password not right", "The `current_password` you sent is not your password. It counts as a "
        "failed sign-in.", "Send your current password; if you have lost it, ask an administrator to reset it."),
    "wrong-code": ProblemType(
        403, "Code not right", "The two-factor code or recovery code is not right, or was used already. It counts "
        "as a failed sign-in.", "Use the code your authenticator app shows now, or an unused recovery code."),
    "no-case-key": ProblemType(
        403, "No key for this case", "This case's content is sealed with keys that only people hold, and you do not "
        "hold its key yet (a new account, or one whose password was reset).",
        "Ask a safeguarding user who holds it (the case page names them) to grant you access: POST "
        "/api/v1/key-grants. After a reset, your own recovery key brings your access back: POST "
        "/api/v1/auth/recovery-key/restore."),
    "no-person-key": ProblemType(
        409, "Sign in again", "This session holds no key pair of yours (it began before your key pair existed).",
        "Sign out and sign in again with your password."),
    "no-escrow-key": ProblemType(
        409, "No escrow key", "Escrow is off: no escrow key has been made, so there is nothing to cover or recover.",
        "Two people make one with `safeshare escrow create` (docs/operations.md, \"The escrow key\")."),
    "wrong-recovery-key": ProblemType(
        403, "Wrong recovery key", "The recovery key you sent does not open your earlier key pair.",
        "Check the key you kept (spaces, dashes and case do not matter) and send it again."),
    "recovery-refused": ProblemType(
        403, "Recovery key not accepted", "A forgotten password was not set: there is no active account with this "
        "e-mail address and a key pair, or the recovery key is not its latest one (each new recovery key ends the one "
        "before). The answer is the same in every case, and it counts as a failed sign-in.",
        "Check the address and the key you kept (spaces, dashes and capitals do not matter). Without it, ask an "
        "administrator to reset your password."),
    "recovery-needs-two-factor": ProblemType(
        403, "Ask an administrator", "The recovery key is right, but the account has no two-factor sign-in: a recovery "
        "key alone does not replace a password. Nothing was changed.",
        "Ask an administrator to reset your password; then your recovery key brings your access to cases back "
        "(POST /api/v1/auth/recovery-key/restore, or your account page)."),
    "password-change-required": ProblemType(
        403, "Password change needed", "Your account has a one-time password: until you choose your own, your "
        "token may only change the password, read /api/v1/auth/me and sign out.",
        "Change it with POST /api/v1/auth/password (or on /staff/account)."),
    "totp-setup-required": ProblemType(
        403, "Two-factor set-up needed", "Your roles require two-factor sign-in, and it is not set up yet: until it "
        "is, your token may only set it up, read /api/v1/auth/me and sign out.",
        "Set it up with POST /api/v1/auth/totp/setup and /confirm (or on /staff/account) with an authenticator app."),
    "not-found": ProblemType(
        404, "Not found", "There is no such thing, or you may not know that it exists (a case you may not see "
        "answers exactly like a case that does not exist).", "Check the address and the id."),
    "method-not-allowed": ProblemType(
        405, "Method not allowed", "This address exists, but not with this method.",
        "Use one of the methods the `Allow` header lists."),
    "request-timeout": ProblemType(
        408, "Request timeout", "The request's headers or body took too long to arrive, and the connection was "
        "closed. Nothing was changed.", "Send it again; check the network between you and the service."),
    "conflict": ProblemType(
        409, "Conflict", "The request does not fit the current state of the thing it is about (a closed case, an "
        "account that already exists, feedback given twice). Nothing was changed.",
        "Read the `detail`, fetch the current state and decide again; repeating the same request will not help."),
    "still-processing": ProblemType(
        409, "Still being processed", "A request with the same `Idempotency-Key` is still being processed. Nothing "
        "was changed by this one.",
        "Wait for the `Retry-After` seconds and send the same request, with the same key, again: you will get the "
        "first request's answer, and no second report is made."),
    "content-too-large": ProblemType(413, "Content too large", "The request body is larger than this route takes. "
                                     "Nothing was read or stored.", "Send less (a shorter text, a smaller file)."),
    "unsupported-type": ProblemType(
        415, "File type not taken", "The file is not one of the kinds Safe Share takes (photos as JPEG, PNG or HEIC, "
        "PDF documents and plain text files). Its type is read from its content, not its name. Nothing was stored.",
        "Send a photo, a PDF or a text file; a screenshot of anything else works too."),
    "cannot-clean": ProblemType(
        422, "File cannot be cleaned", "The file is of a kind Safe Share takes, but it could not be cleaned of what "
        "gives people away (it is damaged or protected by a password). Nothing was stored.",
        "Save it again without a password, or send a screenshot of it instead."),
    "validation-error": ProblemType(
        422, "Invalid request", "Something in the request is not valid; `errors` names each field and what is "
        "wrong with it. Nothing was changed.", "Correct the fields named in `errors` and send it again."),
    "rate-limited": ProblemType(
        429, "Too many attempts", "Too many attempts (wrong passwords, wrong receipts, or new reports) came from "
        "here in a short time.", "Wait for the `Retry-After` seconds before trying again."),
    "server-error": ProblemType(500, "Internal server error", "Something went wrong on our side. Nothing was saved.",
                                "Try again later; if it keeps happening, tell the service's administrators."),
    "integrity-failure": ProblemType(
        500, "Stored data failed its integrity check", "Part of the record failed its integrity check (a wrong "
        "key, data moved or tampered with), so it was not shown. The incident was recorded for the administrators.",
        "Tell the service's administrators: they see it in the audit trail and the log (`integrity alert`)."),
    "unavailable": ProblemType(
        503, "Service unavailable", "The service is busy, or its database is briefly out of reach. Nothing was "
        "changed.", "Wait for the `Retry-After` seconds and try again."),
}


class AppError(Exception):
    status: int = 400
    title: str = "Bad request"
    slug: str = "bad-request"

    def __init__(
        self,
        detail: str,
        *,
        status: int | None = None,
        title: str | None = None,
        slug: str | None = None,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        if status is not None:
            self.status = status
        if title is not None:
            self.title = title
        if slug is not None:
            self.slug = slug
        self.errors = errors
        self.headers = headers or {}


def raises(*errors: type[AppError], security: str | None = None) -> Callable[[F], F]:
    """Declare the problems a dependency may raise and the bearer scheme it checks, for the OpenAPI document."""

    def mark(fn: F) -> F:
        fn.__safeshare_raises__ = (*getattr(fn, "__safeshare_raises__", ()), *errors)  # type: ignore[attr-defined]
        if security is not None:
            fn.__safeshare_security__ = security  # type: ignore[attr-defined]
        return fn

    return mark


class Unauthorized(AppError):
    status, title, slug = 401, "Not signed in", "unauthorized"

    def __init__(self, detail: str = "Missing or invalid credentials.", **kw: Any) -> None:
        kw.setdefault("headers", {"WWW-Authenticate": "Bearer"})
        super().__init__(detail, **kw)


class Forbidden(AppError):
    status, title, slug = 403, "Not allowed", "forbidden"


class NotFound(AppError):
    status, title, slug = 404, "Not found", "not-found"

    def __init__(self, detail: str = "No such resource.", **kw: Any) -> None:
        super().__init__(detail, **kw)


class Conflict(AppError):
    status, title, slug = 409, "Conflict", "conflict"


class Invalid(AppError):
    status, title, slug = 422, "Invalid request", "validation-error"

    def __init__(self, detail: str, *, field: str | None = None, **kw: Any) -> None:
        if field is not None and "errors" not in kw:
            kw["errors"] = [{"field": field, "message": detail}]
        super().__init__(detail, **kw)


class TooManyRequests(AppError):
    status, title, slug = 429, "Too many attempts", "rate-limited"

    def __init__(self, retry_after: int, detail: str = "Too many attempts. Please wait and try again.") -> None:
        super().__init__(detail, headers={"Retry-After": str(max(1, int(retry_after)))})


class ServiceUnavailable(AppError):
    """Busy or briefly out of reach (the database, or too many requests at once): try again soon."""

    status, title, slug = 503, "Service Unavailable", "unavailable"

    def __init__(
        self, detail: str = "The service is busy or briefly unavailable. Please try again in a moment.",
        *, retry_after: int = 2,
    ) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)})


class IntegrityFailure(Exception):
    """Stored data failed its integrity check (wrong key, moved value, tampering).

    Never taken for "something went wrong": a 500 of its own type, an audit entry and a log alert
    naming where, never content.
    """

    status, title, slug = 500, "Stored data failed its integrity check", "integrity-failure"
    detail = ("Part of this record failed its integrity check, so it was not shown. The incident has "
              "been recorded for the administrators. Nothing was changed.")

    def __init__(self, message: str, *, where: str | None = None, case_id: Any = None) -> None:
        super().__init__(message)
        self.where = where
        self.case_id = case_id


integrity_log = logging.getLogger("safeshare.integrity")


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    slug: str | None = None,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": problem_type(slug),
        "title": title,
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, headers=headers, media_type="application/problem+json")


def problem_type(slug: str | None) -> str:
    """The `type` of a problem document: the reference of the page explaining `slug`."""
    return PROBLEM_BASE + slug if slug else "about:blank"


def allowed_methods(request: Request) -> str:
    """Every method some route at this path answers (a path can have a route per method)."""
    from fastapi.routing import iter_route_contexts

    path = request.url.path
    methods: set[str] = set()
    for route in iter_route_contexts(request.app.routes):
        if route.path and route.methods and compile_path(route.path)[0].fullmatch(path):
            methods |= set(route.methods)
    return ", ".join(sorted(methods))


_SLUG_OF_STATUS = {400: "bad-request", 404: "not-found", 405: "method-not-allowed", 413: "content-too-large"}


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def validation_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    out = []
    for err in exc.errors():
        msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        if err.get("type") == "extra_forbidden":
            msg = "Unknown field."
        elif err.get("type") == "json_invalid":
            out.append({"field": "body", "message": "The body is not valid JSON."})  # loc is a byte offset
            continue
        out.append({"field": _field_name(tuple(err.get("loc", ()))), "message": msg})
    return out


PageError = Callable[[Request, "AppError"], Response | None]


def install(
    app: FastAPI, *, page_error: PageError | None = None, unavailable: Callable[[BaseException], bool] | None = None,
) -> None:
    """The handlers that turn every error into a problem document (or, for a page, `page_error`'s answer)."""

    def as_page(request: Request, exc: AppError) -> Response | None:
        if page_error is None:
            return None
        try:
            return page_error(request, exc)
        except Exception as failure:  # noqa: BLE001 - an error page that fails falls back to the problem
            log.error("error page failed", extra={"error_type": type(failure).__name__})
            return None

    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError) -> Response:
        page = as_page(request, exc)
        if page is not None:
            return page
        return problem(exc.status, exc.title, exc.detail, slug=exc.slug, errors=exc.errors, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        errors = validation_errors(exc)
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
        page = as_page(request, AppError(detail, status=422, title="Invalid request"))
        return page if page is not None else problem(422, "Invalid request", detail, slug="validation-error", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        status = exc.status_code
        if status == 400 and exc.detail == "There was an error parsing the body":
            # FastAPI's answer to a body that is not text (say, bytes that are not UTF-8): the same
            # 422 as for any other body that is not JSON.
            errors = [{"field": "body", "message": "The body is not valid JSON."}]
            return problem(422, "Invalid request", "body: The body is not valid JSON.", slug="validation-error",
                           errors=errors)
        if status == 400 and request.headers.get("content-type", "").lower().startswith("multipart/"):
            # Starlette's answer to a multipart body it cannot parse (no boundary, a broken part, too
            # many parts): a body that is not valid, like any other.
            message = f"The form data could not be read: {exc.detail}"
            errors = [{"field": "body", "message": message}]
            page = as_page(request, AppError(message, status=422, title="Invalid request"))
            return page if page is not None else problem(422, "Invalid request", message, slug="validation-error",
                                                         errors=errors)
        title = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
        detail = exc.detail if isinstance(exc.detail, str) else title
        headers = dict(getattr(exc, "headers", None) or {})
        if status == 404:
            detail = "No such resource."
        elif status == 405:
            # Starlette names the methods of the first route at this path only (GET for /cases,
            # whose POST is another route): name them all.
            headers["Allow"] = allowed_methods(request)
            detail = f"This address takes {headers['Allow']}, not {request.method}."
        elif status == 413:
            detail = "The request body is too large."
        slug = _SLUG_OF_STATUS.get(status)
        page = as_page(request, AppError(detail, status=status, title=title, headers=headers, slug=slug))
        return page if page is not None else problem(status, title, detail, slug=slug, headers=headers)

    @app.exception_handler(IntegrityFailure)
    async def _integrity(_: Request, exc: IntegrityFailure) -> JSONResponse:
        integrity_log.error(
            "integrity alert: stored data failed its integrity check",
            extra={"alert": "integrity", "where": exc.where, "case_id": str(exc.case_id) if exc.case_id else None},
        )
        return problem(exc.status, exc.title, exc.detail, slug=exc.slug)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        if unavailable is not None and unavailable(exc):
            log.warning("database unavailable", extra={"error_type": type(exc).__name__})
            busy = ServiceUnavailable()
            page = as_page(request, busy)
            return page if page is not None else problem(busy.status, busy.title, busy.detail, slug=busy.slug,
                                                         headers=busy.headers)
        # The type name only: exception text can carry SQL parameters or case text.
        log.error("unhandled error", extra={"error_type": type(exc).__name__})
        detail = "Something went wrong on our side. Nothing was saved."
        page = as_page(request, AppError(detail, status=500, title="Internal Server Error", slug="server-error"))
        return page if page is not None else problem(500, "Internal Server Error", detail, slug="server-error")
