"""Saved views: a staff user's own named queues. The words of a search are sealed under a key of
the ring (AES-GCM, bound to the row), like two-factor secrets: never in clear in the database.
Audited without name or words."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.audit.service import Actor
from app.crypto import envelope
from app.crypto.keyring import KeyRing
from app.errors import Conflict, NotFound
from app.saved_views.models import SavedView

MAX_VIEWS = 50
PURPOSE = "saved_views.search"


def _ad(view_id: uuid.UUID) -> bytes:
    return f"safeshare:v1:saved_views:search:{view_id}".encode()


def _open(ring: KeyRing, row: SavedView) -> str | None:
    return None if row.search_ct is None else envelope.open_(ring.subkey(PURPOSE), row.search_ct, _ad(row.id)).decode()


def list_views(session: Session, ring: KeyRing, *, user_id: uuid.UUID) -> list[tuple[SavedView, str | None]]:
    """The user's own views, by name, each with its search words (opened)."""
    rows = session.scalars(select(SavedView).where(SavedView.user_id == user_id).order_by(SavedView.name, SavedView.id))
    return [(r, _open(ring, r)) for r in rows]


def get(session: Session, ring: KeyRing, *, user_id: uuid.UUID, view_id: uuid.UUID) -> tuple[SavedView, str | None]:
    """One of the user's own views (404 for anyone else's, as for none)."""
    row = session.get(SavedView, view_id)
    if row is None or row.user_id != user_id:
        raise NotFound("No such saved view.")
    return row, _open(ring, row)


def default_view(session: Session, ring: KeyRing, *, user_id: uuid.UUID) -> tuple[SavedView, str | None] | None:
    row = session.scalar(select(SavedView).where(SavedView.user_id == user_id, SavedView.is_default.is_(True)))
    return None if row is None else (row, _open(ring, row))


def create(
    session: Session, ring: KeyRing, *, user_id: uuid.UUID, name: str, filters: dict[str, Any], q: str | None,
    default: bool, by: Actor,
) -> SavedView:
    """Save a view for `user_id` (409 for a name they already use, or past `MAX_VIEWS`). A new
    default replaces the user's earlier one."""
    if session.scalar(select(SavedView.id).where(SavedView.user_id == user_id, SavedView.name == name)):
        raise Conflict("You already have a saved view with this name.")
    if (session.scalar(select(func.count()).where(SavedView.user_id == user_id)) or 0) >= MAX_VIEWS:
        raise Conflict(f"You have {MAX_VIEWS} saved views: remove one first.")
    if default:
        session.execute(update(SavedView).where(SavedView.user_id == user_id).values(is_default=False))
    row = SavedView(id=uuid.uuid4(), user_id=user_id, name=name, filters=filters, is_default=default)
    if q:
        row.search_ct = envelope.seal(ring.subkey(PURPOSE), q.encode(), _ad(row.id))
    session.add(row)
    session.flush()
    audit.record(session, by, "saved_view.create", target=str(row.id))  # never its name or words
    return row


def delete(session: Session, ring: KeyRing, *, user_id: uuid.UUID, view_id: uuid.UUID, by: Actor) -> None:
    row, _ = get(session, ring, user_id=user_id, view_id=view_id)
    session.delete(row)
    session.flush()
    audit.record(session, by, "saved_view.delete", target=str(view_id))
