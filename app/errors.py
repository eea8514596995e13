"""Errors are exceptions that carry their HTTP status; one set of handlers renders RFC 9457 problems."""

from __future__ import annotations

import logging
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("safeshare.errors")

PROBLEM_BASE = "https://safeshare.invalid/problems/"


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
            msg = "The body is not valid JSON."
        out.append({"field": _field_name(tuple(err.get("loc", ()))), "message": msg})
    return out


PageError = Callable[[Request, "AppError"], Response | None]


def install(app: FastAPI, *, page_error: PageError | None = None) -> None:
    """The handlers that turn every error into a problem document; `page_error` may answer a
    browser's page request instead (a redirect to sign in, an HTML page that says what happened)."""

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
        title = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
        detail = exc.detail if isinstance(exc.detail, str) else title
        if status == 404:
            detail = "No such resource."
        elif status == 413:
            detail = "The request body is too large."
        headers = getattr(exc, "headers", None)
        page = as_page(request, AppError(detail, status=status, title=title, headers=headers))
        return page if page is not None else problem(status, title, detail, headers=headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        # The type name only: exception text can carry SQL parameters or case text.
        log.error("unhandled error", extra={"error_type": type(exc).__name__})
        detail = "Something went wrong on our side. Nothing was saved."
        page = as_page(request, AppError(detail, status=500, title="Internal Server Error"))
        return page if page is not None else problem(500, "Internal Server Error", detail)
