"""The support directory: kept by administrators, read by the case team, and turned into one
message to a reporter (`compose`; `app.flows.signpost` sends it through the thread)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.audit.service import Actor
from app.errors import Conflict, Invalid, NotFound
from app.signposting.models import SupportEntry
from app.themes import service as themes

OPENING = "Here are organisations that may be able to help you:"


def list_entries(session: Session) -> list[SupportEntry]:
    return list(session.scalars(select(SupportEntry).order_by(SupportEntry.name, SupportEntry.id)))


def get(session: Session, entry_id: uuid.UUID) -> SupportEntry:
    row = session.get(SupportEntry, entry_id)
    if row is None:
        raise NotFound("No such entry in the support directory.")
    return row


def chosen(session: Session, ids: Sequence[uuid.UUID]) -> list[SupportEntry]:
    """The entries asked for, in the directory's order (422 naming the field if one is unknown)."""
    wanted = set(ids)
    rows = [r for r in list_entries(session) if r.id in wanted]
    if len(rows) != len(wanted):
        raise Invalid("One of the chosen organisations is no longer in the support directory.", field="entry_ids")
    return rows


def _require_unique(session: Session, name: str, *, other_than: uuid.UUID | None = None) -> None:
    q = select(SupportEntry.id).where(SupportEntry.name == name)
    if other_than is not None:
        q = q.where(SupportEntry.id != other_than)
    if session.scalar(q) is not None:
        raise Conflict("The support directory already has an entry with this name.")


def create(session: Session, *, name: str, helps_with: str, contact: str, theme_slugs: list[str],
           by: Actor) -> SupportEntry:
    _require_unique(session, name)
    slugs = themes.require_known(session, theme_slugs, field="themes")
    row = SupportEntry(id=uuid.uuid4(), name=name, helps_with=helps_with, contact=contact, themes=slugs)
    session.add(row)
    session.flush()
    audit.record(session, by, "support_entry.create", target=str(row.id))
    return row


def update(session: Session, *, entry_id: uuid.UUID, name: str | None, helps_with: str | None, contact: str | None,
           theme_slugs: list[str] | None, by: Actor) -> SupportEntry:
    row = get(session, entry_id)
    if name is not None and name != row.name:
        _require_unique(session, name, other_than=row.id)
        row.name = name
    if helps_with is not None:
        row.helps_with = helps_with
    if contact is not None:
        row.contact = contact
    if theme_slugs is not None:
        kept = [s for s in theme_slugs if s in row.themes]  # a theme retired since may stay
        new = themes.require_known(session, [s for s in theme_slugs if s not in row.themes], field="themes")
        row.themes = list(dict.fromkeys(kept + new))
    session.flush()
    audit.record(session, by, "support_entry.update", target=str(row.id))
    return row


def delete(session: Session, *, entry_id: uuid.UUID, by: Actor) -> None:
    session.delete(get(session, entry_id))
    session.flush()
    audit.record(session, by, "support_entry.delete", target=str(entry_id))


def compose(entries: Sequence[SupportEntry], *, message: str | None) -> str:
    """The message the reporter reads: the sender's own line (if any), then each organisation."""
    blocks = [message.strip()] if message and message.strip() else []
    blocks.append(OPENING)
    blocks += [f"{e.name}\n{e.helps_with}\n{e.contact}" for e in entries]
    return "\n\n".join(blocks)


def record_sent(session: Session, *, by: Actor, case_id: uuid.UUID, entries: Sequence[SupportEntry]) -> None:
    """The audit entry of a signposting message: how many organisations, never which."""
    audit.record(session, by, "case.signpost", case_id=case_id, target=str(len(entries)))
