"""JSON-lines logging that never carries addresses, tokens, receipts or case text.

Uvicorn's access log is off (it prints the client's address); ours logs method, route, status and
time. A redacting filter is a second line of defence.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import clock
from app.errors import problem_type

_REDACTIONS = [
    (re.compile(r"\b(?:sst|ssr)_[A-Za-z0-9_\-]{20,}"), "[token]"),
    (re.compile(r"(?i)bearer\s+\S+"), "Bearer [token]"),
    (re.compile(r"\b[0-9A-Za-z]{4}(?:[- ]?[0-9A-Za-z]{4}){5}\b"), "[receipt?]"),
    # Any IPv4 address but the server's own bind addresses (loopback, all interfaces).
    (re.compile(r"\b(?!127\.0\.0\.1\b|0\.0\.0\.0\b)(?:\d{1,3}\.){3}\d{1,3}\b"), "[ip]"),
    # IPv6, full or compressed ("2001:db8::1"); a clock time such as 08:00:00 is left alone.
    (re.compile(r"\b(?:[0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}\b"), "[ip]"),
    (re.compile(r"(?<![\w:])(?:[0-9a-fA-F]{1,4}(?::[0-9a-fA-F]{1,4})*)?::(?:[0-9a-fA-F]{1,4}(?::[0-9a-fA-F]{1,4})*)?(?![\w:])"), "[ip]"),
]
_STD = set(vars(logging.LogRecord("x", 0, "", 0, "", None, None))) | {"message", "asctime"}


def redact(text: str) -> str:
    for pattern, repl in _REDACTIONS:
        text = pattern.sub(repl, text)
    return text


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "time": clock.rfc3339(clock.now()),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        for key, value in vars(record).items():
            if key not in _STD and not key.startswith("_") and key not in {"color_message"}:
                doc[key] = redact(str(value)) if isinstance(value, str) else value
        if record.exc_info and record.exc_info[0] is not None:
            # The type only: a traceback's locals and messages can hold case text.
            doc["error_type"] = record.exc_info[0].__name__
        return json.dumps(doc, default=str)


def configure(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        lg = logging.getLogger(name)
        lg.handlers[:] = []
        lg.propagate = True
    logging.getLogger("alembic").setLevel("WARNING")
    access = logging.getLogger("uvicorn.access")
    access.handlers[:] = []
    access.propagate = False
    access.disabled = True


access_log = logging.getLogger("safeshare.access")

SECURITY_HEADERS = [
    (b"content-security-policy",
     b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
     b"frame-ancestors 'none'; base-uri 'none'"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), interest-cohort=()"),
    (b"cache-control", b"no-store"),
]
# The interactive API docs (Swagger UI, served from this site): its script fetches the OpenAPI
# document and sends "Try it out" requests to this site, and its components set style attributes.
DOCS_CSP = (
    b"default-src 'none'; script-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'; "
    b"img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
# Sent on https responses only (a browser ignores it over http): two years, this host only, since
# the organisation's other hosts are not this service's to decide for.
HSTS = (b"strict-transport-security", b"max-age=63072000")


class SecurityAndAccessLog:
    """Security headers on every response and one log line per request.

    Outside Starlette's error and body-limit middleware, so their responses get the headers too.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500
        path = scope.get("path", "")
        # Behind a trusted proxy uvicorn has already put the browser's scheme in the scope.
        https = scope.get("scheme") == "https"
        replacing = False

        async def send_wrapper(message: Message) -> None:
            nonlocal status, replacing
            if message["type"] == "http.response.start":
                status = message["status"]
                raw = message.get("headers", [])
                ctype = next((v for k, v in raw if k.lower() == b"content-type"), b"")
                if status >= 400 and not ctype.startswith((b"application/problem+json", b"text/html")):
                    # Starlette answered by itself (plain text): say the same as a problem document.
                    replacing = True
                    await _send_problem(send, status, _security_headers(path, https))
                    return
                # A response may set a stricter policy of its own (a download's sandbox): it is kept.
                own_csp = [(k, v) for k, v in raw if k.lower() == b"content-security-policy"]
                headers = [(k, v) for k, v in raw if k.lower() not in _SECURITY_NAMES]
                extra = _security_headers(path, https)
                if own_csp:
                    extra = [(k, v) for k, v in extra if k != b"content-security-policy"] + own_csp[:1]
                message = {**message, "headers": headers + extra}
            elif replacing:
                return  # the original plain-text body is dropped
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            # A health check comes every few seconds: only its failures are worth a line.
            quiet = path == "/readyz" and status == 200
            access_log.log(
                logging.DEBUG if quiet else logging.INFO,
                "request",
                extra={
                    "method": scope.get("method"),
                    "route": getattr(route, "path", None) or "(unmatched)",
                    "status": status,
                    "ms": round((time.perf_counter() - start) * 1000, 1),
                },
            )


_SECURITY_NAMES = {k for k, _ in SECURITY_HEADERS} | {HSTS[0]}


def _security_headers(path: str, https: bool) -> list[tuple[bytes, bytes]]:
    out = []
    for k, v in SECURITY_HEADERS:
        if k == b"content-security-policy" and path == "/docs":
            v = DOCS_CSP
        out.append((k, v))
    if https:
        out.append(HSTS)
    return out


async def _send_problem(send: Send, status: int, headers: list[tuple[bytes, bytes]]) -> None:
    from http import HTTPStatus

    title = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    detail = {413: "The request body is too large.", 500: "Something went wrong on our side. Nothing was saved."}
    slug = {413: "content-too-large", 500: "server-error"}.get(status)
    body = json.dumps(
        {"type": problem_type(slug), "title": title, "status": status, "detail": detail.get(status, title)}
    ).encode()
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", b"application/problem+json"),
            (b"content-length", str(len(body)).encode()),
            *headers,
        ],
    })
    await send({"type": "http.response.body", "body": body})
