"""The application factory: settings, database, key ring, routers, problem+json and headers."""

from __future__ import annotations

import ipaddress
import logging

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.telemetry import TelemetryConfig
from starlette.types import ASGIApp, Receive, Scope, Send

from app import api, dialect, errors, limits, logs
from app.api import attachments as attachments_api
from app.api import openapi
from app.api.parameters import check_parameters
from app.attachments.service import PER_MESSAGE
from app.audit import service as audit
from app.auth.passwords import Passwords
from app.concurrency import make_limiter
from app.config import Settings, load_settings
from app.crypto import blind
from app.crypto.keyring import KeyRing
from app.db import make_engine, make_sessionmaker
from app.http.transactions import make_ending_limiter
from app.logs import SecurityAndAccessLog
from app.throttle import RateLimit, Throttle
from app.web import STATIC_DIR, docs, pages, problems
from app.web.reporter.routes import router as reporter_pages
from app.web.staff import admin, case, checkins, queue, replies, support
from app.web.staff.account import router as account_pages
from app.web.staff.routes import router as staff_pages

log = logging.getLogger("safeshare")


NO_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False, "operation_spans": False,
                                  "auto_configure": False}


class SafeShareAPI(FastAPI):
    """FastAPI with headers and access log around everything, the framework's own middleware included
    (which `add_middleware` cannot reach), and the proxy-headers middleware outermost.
    """

    def build_middleware_stack(self) -> ASGIApp:
        settings = self.state.settings
        assert isinstance(settings, Settings)
        guarded = limits.RequestLimits(
            super().build_middleware_stack(),
            max_requests=settings.concurrency_limit,
            body_timeout=settings.body_timeout_seconds,
            upload_limit=upload_limit(settings),
            upload_words=(PER_MESSAGE, settings.attachment_max_mb),
        )
        app: ASGIApp = SecurityAndAccessLog(pages.FormAtPage(guarded))
        trusted = settings.forwarded_allow_ips.strip()
        if trusted:
            # Only a peer in SAFESHARE_FORWARDED_ALLOW_IPS may set the client address and scheme
            # (X-Forwarded-For / X-Forwarded-Proto); from anyone else the headers are ignored.
            # In the app, not in `uvicorn.run`, so every server (and the tests) behaves the same.
            hosts = [h.strip() for h in trusted.split(",") if h.strip()]
            app = TrustedProxies(app, hosts)
        return app


class TrustedProxies:
    """The client's address and scheme as the trusted reverse proxies saw them (docs/operations.md,
    "Behind a reverse proxy"). An entry that is not an IP address is ignored, so made-up values
    never become throttle buckets.
    """

    def __init__(self, app: ASGIApp, trusted: list[str]) -> None:
        self.app = app
        self.any_peer = "*" in trusted
        self.networks = [ipaddress.ip_network(t, strict=False) for t in trusted if t != "*"]

    def _trusted(self, host: str) -> bool:
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in n for n in self.networks)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            peer = scope.get("client")
            if peer is not None and (self.any_peer or self._trusted(peer[0])):
                headers = dict(scope["headers"])
                scope = dict(scope)
                proto = headers.get(b"x-forwarded-proto", b"").decode("latin-1").strip().lower()
                if proto in ("http", "https"):
                    scope["scheme"] = proto if scope["type"] == "http" else ("wss" if proto == "https" else "ws")
                client = self._client(headers.get(b"x-forwarded-for", b"").decode("latin-1"))
                if client is not None:
                    scope["client"] = (client, 0)
        await self.app(scope, receive, send)

    def _client(self, forwarded: str) -> str | None:
        entries = [e.strip() for e in forwarded.split(",") if e.strip()]
        if not entries:
            return None
        if self.any_peer:
            chosen = entries[-1]
        else:
            chosen = next((e for e in reversed(entries) if not self._trusted(e)), entries[0])
        try:
            return str(ipaddress.ip_address(chosen))
        except ValueError:
            return None


def upload_limit(settings: Settings) -> limits.UploadLimit:
    """The body size of each route that takes files, from the settings (see app.limits)."""
    one_file = attachments_api.upload_limit(settings)
    form = PER_MESSAGE * settings.attachment_max_bytes + pages.FORM_ENVELOPE

    def limit(method: str, path: str, content_type: str) -> int | None:
        if method != "POST":
            return None
        if attachments_api.API_UPLOADS.match(path):
            return one_file
        if pages.FORM_UPLOADS.match(path):
            # Only a multipart form carries files; a URL-encoded one keeps the intake's ceiling.
            return form if content_type.lower().startswith("multipart/") else pages.FORM_ENVELOPE
        return None

    return limit


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()
    if not logging.getLogger().handlers:
        # A uvicorn worker process (`serve --workers N`) starts with bare logging: make it ours.
        logs.configure(settings.log_level)
    app = SafeShareAPI(
        title="Safe Share",
        version="1.0",
        description=(
            "Confidential concern reporting for staff. Errors are RFC 9457 problem documents; "
            "times are RFC 3339 in UTC. Staff use a bearer token from `/api/v1/auth/login`; "
            "reporters use a bearer token from `/api/v1/reporter/session`. The two never mix."
        ),
        max_body_size=settings.max_body_bytes,
        # /docs is ours (app.web.docs: Swagger UI from a package, no CDN); no ReDoc.
        docs_url=None,
        redoc_url=None,
        dependencies=[Depends(check_parameters)],
        generate_unique_id_function=openapi.operation_id,
        # FastAPI's native OpenTelemetry off, whatever the environment configures: its spans and
        # logs can carry request bodies and exception messages, and nothing of a concern may leave.
        telemetry=NO_TELEMETRY,
    )
    # What the dependencies of app.http.state hand to routes (nothing else reads app.state).
    engine = make_engine(settings.database_url, lock_timeout=settings.lock_timeout_seconds)
    app.state.settings = settings
    app.state.engine = engine
    app.state.keyring = KeyRing.load_or_create(settings.key_file)
    app.state.sessionmaker = make_sessionmaker(engine, audit_key=audit.chain_keys(app.state.keyring),
                                               exclusion_key=blind.exclusion_keys(app.state.keyring))
    app.state.passwords = Passwords(settings)
    app.state.slow_hash_limiter = make_limiter(settings.slow_hash_concurrency)
    app.state.ending_limiter = make_ending_limiter()
    app.state.throttle = Throttle(
        app.state.sessionmaker, max_delay_seconds=settings.throttle_max_delay_seconds,
        window_seconds=settings.throttle_window_seconds,
    )
    app.state.report_rate = RateLimit(app.state.sessionmaker, settings.report_limit)

    errors.install(app, page_error=pages.page_error, unavailable=dialect.is_unavailable)
    for router in [*api.ROUTERS, reporter_pages, staff_pages, account_pages, docs.router, problems.router, queue.router,
                   case.router, checkins.router, admin.router, replies.router,
                   support.router]:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.mount(docs.ASSETS_PATH, StaticFiles(directory=docs.ASSETS_DIR), name="docs-assets")
    openapi.install(app)  # every route's problems and bearer scheme, derived from its dependencies
    return app
