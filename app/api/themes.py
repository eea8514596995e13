"""The theme list (contract section 4): anyone reads it, admins edit it."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.paging import Paged
from app.auth.service import actor
from app.http.transactions import CommitInThreadRoute, DbSession
from app.http.users import Admin
from app.themes import service
from app.themes.schemas import ThemeCreate, ThemeRead, ThemeUpdate

router = APIRouter(prefix="/api/v1", tags=["themes"], route_class=CommitInThreadRoute)


@router.get("/themes", response_model=list[ThemeRead])
def list_themes(session: DbSession, paging: Paged) -> list[ThemeRead]:
    """Every theme, active or retired, in display order (no sign-in needed)."""
    return [ThemeRead.of(t) for t in paging.window(service.list_themes(session))]


@router.post("/themes", response_model=ThemeRead, status_code=201,
             responses={409: {"description": "A theme with this slug already exists."}})
def create_theme(body: ThemeCreate, admin: Admin, session: DbSession) -> ThemeRead:
    """Add a theme (admin). `words`: words and phrases that suggest it for new concerns."""
    return ThemeRead.of(
        service.create_theme(session, slug=body.slug, name=body.name, description=body.description, by=actor(admin),
                             words=body.words)
    )


@router.patch("/themes/{slug}", response_model=ThemeRead, responses={404: {}})
def update_theme(slug: str, body: ThemeUpdate, admin: Admin, session: DbSession) -> ThemeRead:
    """Rename, describe or retire a theme (admin)."""
    return ThemeRead.of(
        service.update_theme(
            session, slug=slug, name=body.name, description=body.description, active=body.active, by=actor(admin),
            words=body.words,
        )
    )
