"""Staff users and sessions. Services flush, never commit; the request's session commits."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app import clock, dialect
from app.audit import service as audit
from app.audit.service import Actor
from app.auth.models import StaffSession, User, UserRole
from app.auth.passwords import Passwords
from app.crypto.keyring import KeyRing
from app.db import end_reads
from app.enums import Role
from app.errors import Conflict, NotFound, Unauthorized
from app.throttle import Throttle, client_bucket, key_bucket

STAFF_PREFIX = "sst_"


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def actor(user: User) -> Actor:
    return Actor(label=user.email, user_id=user.id)


def normalise_email(email: str) -> str:
    return email.strip().lower()


def user_for_token(session: Session, token: str) -> User | None:
    """The active user behind a live staff token. Reporter tokens never match (other prefix, other table)."""
    if not token.startswith(STAFF_PREFIX):
        return None
    row = session.scalar(
        select(StaffSession).where(
            StaffSession.token_hash == token_hash(token),
            StaffSession.revoked_at.is_(None),
            StaffSession.expires_at > clock.now(),
        )
    )
    if row is None:
        return None
    user = session.get(User, row.user_id)
    return user if user is not None and user.active else None


def authenticate(session: Session, passwords: Passwords, *, email: str, password: str) -> User | None:
    """The user if the password is right, else None; unknown e-mails take as long as wrong passwords.

    The slow hash runs with no transaction open: on SQLite an open transaction holds the write
    lock (BEGIN IMMEDIATE), and every other request would wait for the hash to finish.
    """
    row = session.execute(
        select(User.id, User.password_hash).where(User.email == normalise_email(email))
    ).first()
    end_reads(session)
    ok = passwords.verify(row.password_hash if row else None, password)
    if not ok or row is None:
        return None
    user = session.get(User, row.id)
    if user is None or not user.active:
        return None
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash(password)
    return user


# A client bucket is shared by everyone behind one address (an office, a VPN): it allows more.
CLIENT_LIMIT_FACTOR = 4


def login(
    session: Session,
    passwords: Passwords,
    throttle: Throttle,
    ring: KeyRing,
    *,
    email: str,
    password: str,
    client_host: str | None,
    minutes: int,
) -> tuple[User, str, datetime]:
    """Check the password under the login throttle and open a staff session.

    Raises TooManyRequests (429) after repeated failures for this e-mail address or client, and
    Unauthorized (401, the same whether or not the e-mail exists) for a wrong password. Used by
    the API and the sign-in page alike.
    """
    email = normalise_email(email)
    buckets = [key_bucket(ring, "login", email), client_bucket(ring, "login", client_host)]
    throttle.check(buckets, limits=[throttle.limit, throttle.limit * CLIENT_LIMIT_FACTOR], session=session)
    user = authenticate(session, passwords, email=email, password=password)
    if user is None:
        # The counter is stored in a transaction of its own, after ours has ended (see end_reads).
        end_reads(session)
        throttle.fail(buckets)
        raise Unauthorized("The e-mail address or password is not right.")
    throttle.succeed(buckets[:1], session=session)
    token, expires = start_session(session, user=user, minutes=minutes)
    return user, token, expires


def start_session(session: Session, *, user: User, minutes: int) -> tuple[str, datetime]:
    token = STAFF_PREFIX + secrets.token_urlsafe(32)
    expires = clock.now() + timedelta(minutes=minutes)
    session.add(StaffSession(token_hash=token_hash(token), user_id=user.id, expires_at=expires))
    audit.record(session, actor(user), "auth.login", target=str(user.id))
    session.flush()
    return token, expires


def end_session(session: Session, *, user: User, token: str) -> None:
    session.execute(
        update(StaffSession)
        .where(StaffSession.token_hash == token_hash(token), StaffSession.revoked_at.is_(None))
        .values(revoked_at=clock.now())
    )
    audit.record(session, actor(user), "auth.logout", target=str(user.id))


def list_users(session: Session, *, role: Role | None = None) -> list[User]:
    q = select(User).order_by(User.name, User.email)
    if role is not None:
        q = q.where(User.id.in_(select(UserRole.user_id).where(UserRole.role == role)))
    return list(session.scalars(q).all())


def create_user(
    session: Session,
    passwords: Passwords,
    *,
    email: str,
    name: str,
    roles: list[Role],
    password: str,
    by: Actor,
) -> User:
    email = normalise_email(email)
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict("A user with this e-mail address already exists.")
    user = User(email=email, name=name, password_hash=passwords.hash(password))
    user.set_roles(roles)
    session.add(user)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict("A user with this e-mail address already exists.") from None
    audit.record(session, by, "user.create", target=str(user.id))
    return user


ADMIN_CHANGES_LOCK = 7302152


def _active_admins(session: Session) -> int:
    return session.scalar(
        select(func.count())
        .select_from(User)
        .join(UserRole, UserRole.user_id == User.id)
        .where(User.active.is_(True), UserRole.role == Role.ADMIN)
    ) or 0


def update_user(
    session: Session,
    *,
    user_id: uuid.UUID,
    roles: list[Role] | None,
    active: bool | None,
    name: str | None,
    by: Actor,
) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("No such user.")
    was_admin = user.active and user.has(Role.ADMIN)
    if roles is not None:
        user.set_roles(roles)
    if active is not None:
        user.active = active
    if name is not None:
        user.name = name
    session.flush()
    demoted = was_admin and not (user.active and user.has(Role.ADMIN))
    if demoted:
        # Two admins demoting each other at once must not both see the other still in place.
        dialect.serialise(session, ADMIN_CHANGES_LOCK)
    if demoted and _active_admins(session) == 0:
        raise Conflict("This would leave no active administrator.")
    if active is False:
        # A deactivated account is signed out everywhere at once.
        session.execute(
            update(StaffSession)
            .where(StaffSession.user_id == user.id, StaffSession.revoked_at.is_(None))
            .values(revoked_at=clock.now())
        )
    audit.record(session, by, "user.update", target=str(user.id))
    return user
