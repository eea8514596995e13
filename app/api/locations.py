"""The locations list (contract section 6): anyone reads it, admins edit it, like the themes."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.paging import Paged
from app.auth.service import actor
from app.http.transactions import CommitInThreadRoute, DbSession
from app.http.users import Admin
from app.locations import service
from app.locations.schemas import LocationCreate, LocationRead, LocationUpdate

router = APIRouter(prefix="/api/v1", tags=["locations"], route_class=CommitInThreadRoute)


@router.get("/locations", response_model=list[LocationRead])
def list_locations(session: DbSession, paging: Paged) -> list[LocationRead]:
    """Every location (station, department, team or watch), active or retired, in display order
    (no sign-in needed: the report form offers the active ones)."""
    return [LocationRead.of(loc) for loc in paging.window(service.list_locations(session))]


@router.post("/locations", response_model=LocationRead, status_code=201,
             responses={409: {"description": "A location with this slug already exists."}})
def create_location(body: LocationCreate, admin: Admin, session: DbSession) -> LocationRead:
    """Add a location (admin). `headcount`, if given, lets the statistics suppress a location
    so small that a count could single a reporter out."""
    return LocationRead.of(service.create_location(
        session, slug=body.slug, name=body.name, kind=body.kind, headcount=body.headcount, by=actor(admin)))


@router.patch("/locations/{slug}", response_model=LocationRead, responses={404: {}})
def update_location(slug: str, body: LocationUpdate, admin: Admin, session: DbSession) -> LocationRead:
    """Rename, re-kind, re-count or retire a location (admin). Only the fields given change;
    `"headcount": null` forgets the headcount. A retired location stays on old cases and in
    the statistics; reporters and triage can no longer choose it."""
    changes = {name: getattr(body, name) for name in body.model_fields_set}
    return LocationRead.of(service.update_location(session, slug=slug, changes=changes, by=actor(admin)))
