"""The JSON API under /api/v1: one router per area, over the domains' services and `app.flows`."""

from __future__ import annotations

from fastapi import APIRouter

from app.api import (
    attachments,
    audit,
    auth,
    cases,
    checkins,
    equality,
    health,
    locations,
    referrals,
    replies,
    reports,
    saved_views,
    stats,
    stats_referrals,
    support,
    themes,
)

# In the order requests are matched, route by route: the reporters' first, the busiest
# (a submission went through some 80 routes before it; no path of theirs overlaps another).
ROUTERS: list[APIRouter] = [
    reports.router,
    auth.router,
    audit.router,
    themes.router,
    locations.router,
    cases.router,
    attachments.router,
    checkins.router,
    referrals.router,
    replies.router,
    saved_views.router,
    support.router,
    stats.router,
    stats_referrals.router,
    equality.router,
    health.router,
]
