"""The JSON API under /api/v1: one router per area, over the domains' services and `app.flows`."""

from __future__ import annotations

from fastapi import APIRouter

from app.api import audit, auth, cases, checkins, equality, reports, stats, themes

ROUTERS: list[APIRouter] = [
    auth.router,
    audit.router,
    themes.router,
    reports.router,
    cases.router,
    checkins.router,
    stats.router,
    equality.router,
]
