"""The application factory: settings, database, key ring, routers, problem+json and headers."""

from __future__ import annotations

import logging

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from app import errors, logs
from app.audit.router import router as audit_router
from app.auth.passwords import Passwords
from app.auth.router import router as auth_router
from app.cases.router import router as cases_router
from app.checkins.router import router as checkins_router
from app.concurrency import make_limiter
from app.config import Settings, load_settings
from app.crypto.keyring import KeyRing
from app.db import make_engine, make_sessionmaker
from app.logs import SecurityAndAccessLog
from app.reports.router import router as reports_router
from app.stats.router import router as stats_router
from app.themes.router import router as themes_router
from app.throttle import Throttle
from app.web import STATIC_DIR
from app.web.router import router as web_router
from app.web.staff_router import router as staff_pages_router

log = logging.getLogger("safeshare")


class SafeShareAPI(FastAPI):
    """FastAPI with the security headers and access log wrapped around everything, including
    the framework's own error and body-limit middleware (which `add_middleware` cannot reach)."""

    def build_middleware_stack(self):  # type: ignore[no-untyped-def]
        return SecurityAndAccessLog(super().build_middleware_stack())


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
    )
    engine = make_engine(settings.database_url)
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)
    app.state.keyring = KeyRing.load_or_create(settings.key_file)
    app.state.passwords = Passwords(settings)
    app.state.slow_hash_limiter = make_limiter(settings.slow_hash_concurrency)
    app.state.login_throttle = Throttle(
        app.state.sessionmaker, limit=settings.login_max_failures, window_seconds=settings.throttle_window_seconds
    )
    app.state.receipt_throttle = Throttle(
        app.state.sessionmaker, limit=settings.receipt_max_failures, window_seconds=settings.throttle_window_seconds
    )

    errors.install(app)
    for router in _routers():
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


def _routers() -> list[APIRouter]:
    return [
        auth_router,
        audit_router,
        themes_router,
        reports_router,
        cases_router,
        checkins_router,
        stats_router,
        web_router,
        staff_pages_router,
    ]
