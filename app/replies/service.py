"""Reply templates: listed for the case team, kept by the safeguarding team (audited, never their text)."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.audit.service import Actor
from app.errors import Conflict, NotFound
from app.replies.models import ReplyTemplate


def list_templates(session: Session) -> list[ReplyTemplate]:
    return list(session.scalars(select(ReplyTemplate).order_by(ReplyTemplate.name, ReplyTemplate.id)))


def get(session: Session, template_id: uuid.UUID) -> ReplyTemplate:
    row = session.get(ReplyTemplate, template_id)
    if row is None:
        raise NotFound("No such reply template.")
    return row


def _require_unique(session: Session, name: str, *, other_than: uuid.UUID | None = None) -> None:
    q = select(ReplyTemplate.id).where(ReplyTemplate.name == name)
    if other_than is not None:
        q = q.where(ReplyTemplate.id != other_than)
    if session.scalar(q) is not None:
        raise Conflict("A reply template with this name already exists.")


def create(session: Session, *, name: str, body: str, by: Actor) -> ReplyTemplate:
    _require_unique(session, name)
    row = ReplyTemplate(id=uuid.uuid4(), name=name, body=body, created_by_id=by.user_id)
    session.add(row)
    session.flush()
    audit.record(session, by, "reply_template.create", target=str(row.id))
    return row


def update(session: Session, *, template_id: uuid.UUID, name: str | None, body: str | None, by: Actor) -> ReplyTemplate:
    row = get(session, template_id)
    if name is not None and name != row.name:
        _require_unique(session, name, other_than=row.id)
        row.name = name
    if body is not None:
        row.body = body
    session.flush()
    audit.record(session, by, "reply_template.update", target=str(row.id))
    return row


def delete(session: Session, *, template_id: uuid.UUID, by: Actor) -> None:
    row = get(session, template_id)
    session.delete(row)
    session.flush()
    audit.record(session, by, "reply_template.delete", target=str(template_id))


def render(body: str, *, reference: str, first_check_in: date | None) -> str:
    """The template's text for one case: each placeholder filled, nothing else touched."""
    when = f"{first_check_in.day} {first_check_in:%B %Y}" if first_check_in else "not booked yet"
    return body.replace("{reference}", reference).replace("{first_check_in}", when)
