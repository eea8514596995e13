from __future__ import annotations

import time
import weakref

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from app import db
from app.audit import service as audit
from app.audit.service import Actor
from app.errors import Conflict, Invalid, NotFound
from app.schemas import text_problem
from app.themes.models import Theme


def list_themes(session: Session, *, active_only: bool = False) -> list[Theme]:
    q = select(Theme).order_by(Theme.position, Theme.slug)
    if active_only:
        q = q.where(Theme.active.is_(True))
    return list(session.scalars(q).all())


# The administrators' words change seldom and only steer suggestions, which a person confirms:
# each process keeps them for WORDS_TTL seconds rather than reading them for every report. A change
# made through this process is seen at once; one made through another worker within WORDS_TTL.
WORDS_TTL = 60.0
_held: weakref.WeakKeyDictionary[Engine, tuple[float, dict[str, list[str]]]] = weakref.WeakKeyDictionary()


def _engine(session: Session) -> Engine:
    bind = session.get_bind()
    return bind if isinstance(bind, Engine) else bind.engine


def admin_words(session: Session) -> dict[str, list[str]]:
    """The words administrators gave active themes, for the suggester (`suggest_themes(extra=...)`).
    Shared between requests: read only."""
    engine, now = _engine(session), time.monotonic()
    held = _held.get(engine)
    if held is not None and held[0] > now:
        return held[1]
    # Read apart from the request's transaction: a report reads these before its write lock.
    rows = db.read_apart(session, select(Theme.slug, Theme.words).where(Theme.active.is_(True)))
    words = {slug: list(words) for slug, words in rows if words}
    _held[engine] = (now + WORDS_TTL, words)
    return words


def create_theme(session: Session, *, slug: str, name: str, description: str, by: Actor,
                 words: list[str] | None = None) -> Theme:
    if session.get(Theme, slug) is not None:
        raise Conflict("A theme with this slug already exists.")
    position = (session.scalar(select(func.max(Theme.position))) or 0) + 1
    theme = Theme(slug=slug, name=name, description=description, active=True, position=position,
                  words=list(dict.fromkeys(words or [])))
    session.add(theme)
    session.flush()
    _held.pop(_engine(session), None)
    audit.record(session, by, "theme.create", target=slug)
    return theme


def update_theme(
    session: Session, *, slug: str, name: str | None, description: str | None, active: bool | None, by: Actor,
    words: list[str] | None = None,
) -> Theme:
    """Rename, describe or retire a theme. Retired themes stay on old cases and in statistics."""
    theme = session.get(Theme, slug)
    if theme is None:
        raise NotFound("No such theme.")
    if name is not None:
        theme.name = name
    if description is not None:
        theme.description = description
    if active is not None:
        theme.active = active
    if words is not None:
        theme.words = list(dict.fromkeys(words))
    session.flush()
    _held.pop(_engine(session), None)
    audit.record(session, by, "theme.update", target=slug)
    return theme


def require_known(session: Session, slugs: list[str], *, field: str, active: bool = True) -> list[str]:
    """Check every slug names a theme (an active one, for new input); keeps the caller's order, drops repeats."""
    wanted = list(dict.fromkeys(slugs))
    if not wanted:
        return []
    unreadable = [s for s in wanted if text_problem(s, free_text=False) is not None]
    if unreadable:  # no query with them: PostgreSQL refuses NUL in text
        raise Invalid("Unknown theme: it holds characters no theme has.", field=field)
    q = select(Theme.slug).where(Theme.slug.in_(wanted))
    if active:
        q = q.where(Theme.active.is_(True))
    known = set(session.scalars(q).all())
    unknown = [s for s in wanted if s not in known]
    if unknown:
        raise Invalid(f"Unknown theme: {', '.join(unknown)}.", field=field)
    return wanted
