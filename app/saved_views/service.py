"""Saved views: a staff user's own named queues, audited without name or words.

The search words are sealed to the owner's own public key (for an owner without one, under a
ring key), so neither the database nor the ring opens them.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.audit.service import Actor
from app.auth import keys as person_keys
from app.crypto import envelope, holders, people
from app.crypto.keyring import KeyRing
from app.errors import Conflict, NotFound
from app.saved_views.models import SavedView

MAX_VIEWS = 50
PURPOSE = "saved_views.search"


def _ad(view_id: uuid.UUID) -> bytes:
    return f"safeshare:v1:saved_views:search:{view_id}".encode()


def _owner_ad(view_id: uuid.UUID) -> bytes:
    return f"safeshare:v1:saved_views:search-to-owner:{view_id}".encode()


def _open(session: Session, ring: KeyRing, row: SavedView) -> str | None:
    """The view's search words, or None when sealed to a key pair this session does not hold."""
    if row.search_ct is None:
        return None
    if row.search_to is None:
        return envelope.open_any(ring.subkeys(PURPOSE), row.search_ct, _ad(row.id)).decode()
    holding = holders.held(session)
    if holding is None or holding.user_id != row.user_id or people.public_bytes(holding.private) != row.search_to:
        return None
    return people.open_sealed(holding.private, row.search_ct, _owner_ad(row.id)).decode()


def _seal(session: Session, ring: KeyRing, row: SavedView, words: str) -> None:
    public = person_keys.public_key(session, row.user_id)
    if public is None:
        row.search_ct, row.search_to = envelope.seal(ring.subkey(PURPOSE), words.encode(), _ad(row.id)), None
    else:
        row.search_ct, row.search_to = people.seal_to(public, words.encode(), _owner_ad(row.id)), public


def seal_to_owners(session: Session, ring: KeyRing) -> int:
    """Seal every view's words still under the ring's key to its owner's public key; how many."""
    rows = session.scalars(select(SavedView).where(SavedView.search_ct.is_not(None), SavedView.search_to.is_(None))
                           .order_by(SavedView.id)).all()
    moved = 0
    for row in rows:
        if person_keys.public_key(session, row.user_id) is None:
            continue
        words = _open(session, ring, row)
        assert words is not None
        _seal(session, ring, row, words)
        moved += 1
    session.flush()
    return moved


def list_views(session: Session, ring: KeyRing, *, user_id: uuid.UUID) -> list[tuple[SavedView, str | None]]:
    """The user's own views, by name, each with its search words (opened)."""
    rows = session.scalars(select(SavedView).where(SavedView.user_id == user_id).order_by(SavedView.name, SavedView.id))
    return [(r, _open(session, ring, r)) for r in rows]


def get(session: Session, ring: KeyRing, *, user_id: uuid.UUID, view_id: uuid.UUID) -> tuple[SavedView, str | None]:
    """One of the user's own views (404 for anyone else's, as for none)."""
    row = session.get(SavedView, view_id)
    if row is None or row.user_id != user_id:
        raise NotFound("No such saved view.")
    return row, _open(session, ring, row)


def create(
    session: Session, ring: KeyRing, *, user_id: uuid.UUID, name: str, filters: dict[str, Any], q: str | None,
    default: bool, by: Actor,
) -> SavedView:
    """Save a view (409 for a name in use, or past `MAX_VIEWS`); a new default replaces the old one."""
    if session.scalar(select(SavedView.id).where(SavedView.user_id == user_id, SavedView.name == name)):
        raise Conflict("You already have a saved view with this name.")
    if (session.scalar(select(func.count()).where(SavedView.user_id == user_id)) or 0) >= MAX_VIEWS:
        raise Conflict(f"You have {MAX_VIEWS} saved views: remove one first.")
    if default:
        session.execute(update(SavedView).where(SavedView.user_id == user_id).values(is_default=False))
    row = SavedView(id=uuid.uuid4(), user_id=user_id, name=name, filters=filters, is_default=default)
    if q:
        _seal(session, ring, row, q)
    session.add(row)
    session.flush()
    audit.record(session, by, "saved_view.create", target=str(row.id))  # never its name or words
    return row


def delete(session: Session, ring: KeyRing, *, user_id: uuid.UUID, view_id: uuid.UUID, by: Actor) -> None:
    row, _ = get(session, ring, user_id=user_id, view_id=view_id)
    session.delete(row)
    session.flush()
    audit.record(session, by, "saved_view.delete", target=str(view_id))


def reseal_under_ring(session: Session, ring: KeyRing) -> int:
    """`rotate-key`: the searches still sealed under the ring (not yet to their owner's key pair)
    sealed again under its active lookup key; how many."""
    rows = session.scalars(select(SavedView).where(SavedView.search_ct.is_not(None), SavedView.search_to.is_(None))).all()
    for row in rows:
        assert row.search_ct is not None
        words = envelope.open_any(ring.subkeys(PURPOSE), row.search_ct, _ad(row.id))
        row.search_ct = envelope.seal(ring.subkey(PURPOSE), words, _ad(row.id))
    session.flush()
    return len(rows)
