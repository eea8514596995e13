"""Limits that keep one process serving under load and slow clients (docs/operations.md,
"Load, slow clients and timeouts"): requests at once, body and header deadlines, upload size.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from app.config import load_settings
from app.errors import problem_type

_BUSY = "The service is handling as many requests as it can. Please try again in a moment."
_SLOW = "The request took too long to arrive."
_TOO_MUCH = "The upload is larger than we take: files may be at most {mb} MB each, {files} on one message."
_TOO_MUCH_PAGE = (
    "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Too much was sent - Safe Share</title>"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"></head><body><main>"
    "<h1>Too much was sent</h1><p>The files you chose are larger than we can take: at most {files} files of up to "
    "{mb} MB each. Nothing was sent. Go back, choose fewer or smaller files, and send again.</p>"
    "<p>Use your browser's Back button: what you typed is still there.</p></main></body></html>"
)
# (method, path, content type) -> the most bytes its body may have, or None where the routes' own limits apply.
UploadLimit = Callable[[str, str, str], int | None]


def _problem(status: int, title: str, detail: str, slug: str) -> bytes:
    return json.dumps({"type": problem_type(slug), "title": title, "status": status,
                       "detail": detail}).encode()


async def _answer(send: Send, status: int, body: bytes, extra: list[tuple[bytes, bytes]]) -> None:
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode()),
                    *extra],
    })
    await send({"type": "http.response.body", "body": body})


class RequestLimits:
    """Bounded concurrency and a deadline for request bodies (see the module's docstring)."""

    def __init__(self, app: ASGIApp, *, max_requests: int, body_timeout: float, retry_after: int = 1,
                 upload_limit: UploadLimit | None = None, upload_words: tuple[int, int] = (5, 10)) -> None:
        self.app = app
        self.max_requests = max_requests
        self.body_timeout = body_timeout
        self.retry_after = retry_after
        self.upload_limit = upload_limit
        self.upload_words = upload_words
        self.in_flight = 0  # one event loop per process: no lock needed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.max_requests:
            body = _problem(503, "Service Unavailable", _BUSY, "unavailable")
            await _answer(send, 503, body, [(b"retry-after", str(self.retry_after).encode())])
            return
        limit = self.upload_limit(scope.get("method", ""), scope.get("path", ""), _header(scope, b"content-type")
                                  ) if self.upload_limit else None
        if limit is not None and _declared_length(scope) > limit:
            await self._too_much(scope, send)
            return
        self.in_flight += 1
        try:
            await self.app(scope, *self._deadline(receive, send, scope, limit))
        finally:
            self.in_flight -= 1

    async def _too_much(self, scope: Scope, send: Send) -> None:
        if str(scope.get("path", "")).startswith("/api/"):
            files, mb = self.upload_words
            detail = _TOO_MUCH.format(files=files, mb=mb)
            await _answer(send, 413, _problem(413, "Content Too Large", detail, "content-too-large"),
                          [(b"connection", b"close")])
            return
        files, mb = self.upload_words
        body = _TOO_MUCH_PAGE.format(files=files, mb=mb).encode()
        await send({"type": "http.response.start", "status": 413, "headers": [
            (b"content-type", b"text/html; charset=utf-8"), (b"content-length", str(len(body)).encode()),
            (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})

    def _deadline(self, receive: Receive, send: Send, scope: Scope | None = None, limit: int | None = None
                  ) -> tuple[Receive, Send]:
        """`receive` with the body's deadline and size limit, and a `send` that drops what follows a 408/413."""
        deadline = anyio.current_time() + self.body_timeout
        state: dict[str, Any] = {"started": False, "timed_out": False, "received": 0}

        async def timed_receive() -> Message:
            if state["timed_out"]:
                return {"type": "http.disconnect"}
            if state.get("body_done"):
                return await receive()  # waiting for a disconnect while answering: no deadline
            try:
                with anyio.fail_after(max(0.0, deadline - anyio.current_time())):
                    message = await receive()
                if message["type"] != "http.request" or not message.get("more_body", False):
                    state["body_done"] = True
                if limit is not None and message["type"] == "http.request":
                    state["received"] += len(message.get("body", b""))
                    if state["received"] > limit:
                        state["timed_out"] = True  # the app sees a client that went away
                        if not state["started"]:
                            state["started"] = True
                            assert scope is not None
                            await self._too_much(scope, send)
                        return {"type": "http.disconnect"}
                return message
            except TimeoutError:
                state["timed_out"] = True
                if not state["started"]:
                    body = _problem(408, "Request Timeout", _SLOW, "request-timeout")
                    state["started"] = True
                    await _answer(send, 408, body, [(b"connection", b"close")])
                # The application sees a client that went away, and stops.
                return {"type": "http.disconnect"}

        async def guarded_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                if state["started"]:
                    state["dropping"] = True
                    return
                state["started"] = True
            elif state.get("dropping"):
                return
            await send(message)

        return timed_receive, guarded_send


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key == name:
            return bytes(value).decode("latin-1")
    return ""


def _declared_length(scope: Scope) -> int:
    try:
        return int(_header(scope, b"content-length") or 0)
    except ValueError:
        return 0


class TimelyHttpToolsProtocol(HttpToolsProtocol):
    """Uvicorn's httptools protocol with a deadline for each request's headers (uvicorn has none).

    The timeout is read in each worker process: uvicorn hands the class to its workers by name.
    """

    header_timeout: float | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None
        if self.header_timeout is None:
            type(self).header_timeout = load_settings().header_timeout_seconds

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_timer()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._header_timer is None:
            self._arm_header_timer()

    def on_headers_complete(self) -> None:
        self._disarm_header_timer()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_timer()
        super().connection_lost(exc)

    def on_response_complete(self) -> None:
        # Between requests uvicorn's keep-alive timer applies, not ours.
        self._disarm_header_timer()
        super().on_response_complete()

    def _arm_header_timer(self) -> None:
        self._disarm_header_timer()
        assert self.header_timeout is not None
        self._header_timer = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def _disarm_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            return  # a request is being served (its headers arrived): not ours to end
        body = _problem(408, "Request Timeout", _SLOW, "request-timeout")
        self.transport.write(
            b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/problem+json\r\n"
            b"content-length: " + str(len(body)).encode() + b"\r\nconnection: close\r\n\r\n" + body
        )
        self.transport.close()

