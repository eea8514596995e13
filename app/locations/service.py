"""The locations list; sole writer of `locations`. Retired locations stay on old cases and in statistics."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.audit.service import Actor
from app.enums import LocationKind
from app.errors import Conflict, Invalid, NotFound
from app.locations.models import Location
from app.locations.schemas import PREFER_NOT_TO_SAY
from app.schemas import text_problem


def list_locations(session: Session, *, active_only: bool = False) -> list[Location]:
    q = select(Location).order_by(Location.position, Location.slug)
    if active_only:
        q = q.where(Location.active.is_(True))
    return list(session.scalars(q).all())


def create_location(
    session: Session, *, slug: str, name: str, kind: LocationKind, headcount: int | None, by: Actor
) -> Location:
    if session.get(Location, slug) is not None:
        raise Conflict("A location with this slug already exists.")
    position = (session.scalar(select(func.max(Location.position))) or 0) + 1
    location = Location(slug=slug, name=name, kind=kind, headcount=headcount, active=True, position=position)
    session.add(location)
    session.flush()
    audit.record(session, by, "location.create", target=slug)
    return location


def update_location(
    session: Session, *, slug: str, changes: dict[str, object], by: Actor
) -> Location:
    """Change only the keys in `changes`; `headcount: None` forgets it."""
    location = session.get(Location, slug)
    if location is None:
        raise NotFound("No such location.")
    for field in ("name", "kind", "active"):
        if field in changes and changes[field] is None:
            raise Invalid("Leave the field out instead of sending null.", field=field)
    for field in ("name", "kind", "headcount", "active"):
        if field in changes:
            setattr(location, field, changes[field])
    session.flush()
    audit.record(session, by, "location.update", target=slug)
    return location


def resolve(session: Session, choice: str | None, *, field: str = "location", current: str | None = None) -> str | None:
    """The slug to store for a location choice (None for no answer); the case's `current` may stay."""
    if choice is None or choice == PREFER_NOT_TO_SAY:
        return None
    if choice == current:
        return choice
    if text_problem(choice, free_text=False) is not None:  # no query with it: PostgreSQL refuses NUL in text
        raise Invalid("Unknown location: it holds characters no location has.", field=field)
    active = session.scalar(select(Location.active).where(Location.slug == choice))
    if active is None:
        raise Invalid(f"Unknown location: {choice}.", field=field)
    if not active:
        raise Invalid(f"This location is no longer in use: {choice}.", field=field)
    return choice
