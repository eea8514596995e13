"""Errors are exceptions that carry their HTTP status; one set of handlers renders RFC 9457 problems."""

from __future__ import annotations

import logging
from collections.abc import Callable
from http import HTTPStatus
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("safeshare.errors")

PROBLEM_BASE = "https://safeshare.invalid/problems/"
F = TypeVar("F", bound=Callable[..., Any])


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
    """Declare what a dependency may answer instead of the route: the problems it raises, and the
    bearer scheme it authenticates (`staff` or `reporter`). Every route that depends on it then
    declares those responses in the OpenAPI document (`app.api.openapi`); the function is
    returned unchanged."""

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
    """Stored data failed its integrity check: a ciphertext that does not authenticate (a wrong
    key, a value moved to another row or column, tampering). Never shown, never taken for
    "something went wrong": a 500 problem of its own type, an `integrity.failure` audit entry
    and an `integrity alert` in the log, naming where (`table.column`) and the case, never content."""

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
        "type": PROBLEM_BASE + slug if slug else "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, headers=headers, media_type="application/problem+json")


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
    """The handlers that turn every error into a problem document; `page_error` may answer a
    browser's page request instead (a redirect to sign in, an HTML page that says what happened);
    `unavailable` tells which unexpected errors mean "busy or out of reach, try again" (503, not 500)."""

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
        if status == 404:
            detail = "No such resource."
        elif status == 413:
            detail = "The request body is too large."
        headers = getattr(exc, "headers", None)
        page = as_page(request, AppError(detail, status=status, title=title, headers=headers))
        return page if page is not None else problem(status, title, detail, headers=headers)

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
        page = as_page(request, AppError(detail, status=500, title="Internal Server Error"))
        return page if page is not None else problem(500, "Internal Server Error", detail)
