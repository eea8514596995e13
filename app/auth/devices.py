"""Signed values the server hands to a browser or API client during sign-in.

- The **device cookie** (OWASP's "device cookie" pattern): every successful sign-in sets one for
  that account, HttpOnly, long-lived and signed with a key from the key ring. It is also a
  record on the server (`device_cookies`, only a SHA-256 of its random nonce), at most
  `MAX_DEVICES` per account (the oldest goes), deleted by a password change or reset, a 2FA
  reset, deactivation and "sign out everywhere". A client that shows a valid one with its record
  has signed in to the account before: it is throttled on its own failures only, so nobody can
  lock the owner out by failing sign-ins from elsewhere. A revoked or unknown cookie counts like
  no cookie at all. One cookie per account and browser (its name is a keyed hash of the e-mail
  address, so it says nothing about whose it is).
- The **pending sign-in** of the sign-in page: after a right password for an account with
  two-factor sign-in, the page asks for the code next. The password is not sent again; a
  five-minute token names the user and is bound to their current password hash, so a password
  change ends it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from app import clock
from app.auth.models import DeviceRecord, User
from app.crypto.keyring import KeyRing

DEVICE_COOKIE_PREFIX = "ss_device_"
DEVICE_COOKIE_DAYS = 365
PENDING_MINUTES = 5
MAX_DEVICES = 5


def _sign(ring: KeyRing, purpose: str, payload: str) -> str:
    return base64.urlsafe_b64encode(ring.lookup_hash(purpose, payload)).decode().rstrip("=")


@dataclass(frozen=True)
class DeviceCookie:
    name: str
    value: str
    max_age: int


def device_cookie_name(ring: KeyRing, email: str) -> str:
    return DEVICE_COOKIE_PREFIX + ring.lookup_hash("device-cookie-name", email)[:8].hex()


def _nonce_hash(nonce: str) -> bytes:
    return hashlib.sha256(nonce.encode()).digest()


def new_device_cookie(session: Session, ring: KeyRing, user: User, *, shown: str | None = None) -> DeviceCookie:
    """The device cookie for this sign-in: the one the client showed (`shown`, a known device's
    nonce) again, or a fresh one recorded on the server; an account keeps its `MAX_DEVICES`
    newest, the oldest records go."""
    now = clock.now()
    if shown is not None:
        session.execute(update(DeviceRecord).where(DeviceRecord.nonce_hash == _nonce_hash(shown))
                        .values(last_used_at=now).execution_options(synchronize_session=False))
        nonce = shown
    else:
        nonce = secrets.token_urlsafe(16)
        session.add(DeviceRecord(user_id=user.id, nonce_hash=_nonce_hash(nonce), created_at=now, last_used_at=now))
        session.flush()
        keep = select(DeviceRecord.id).where(DeviceRecord.user_id == user.id).order_by(
            DeviceRecord.created_at.desc(), DeviceRecord.id).limit(MAX_DEVICES)
        session.execute(delete(DeviceRecord).where(DeviceRecord.user_id == user.id, DeviceRecord.id.not_in(keep))
                        .execution_options(synchronize_session=False))
    payload = f"{nonce}.{int(now.timestamp())}"
    value = f"{payload}.{_sign(ring, 'device-cookie', f'{user.email}|{payload}')}"
    return DeviceCookie(device_cookie_name(ring, user.email), value, DEVICE_COOKIE_DAYS * 86400)


def forget_devices(session: Session, *, user_id: uuid.UUID) -> None:
    """Revoke every device cookie of the account: each then counts like no cookie at all."""
    session.execute(delete(DeviceRecord).where(DeviceRecord.user_id == user_id)
                    .execution_options(synchronize_session=False))


def known_device(session: Session, ring: KeyRing, email: str, cookies: dict[str, str]) -> str | None:
    """The nonce of a valid device cookie for this account whose record the server still
    keeps, or None (no cookie, a forged or expired one, or one revoked)."""
    nonce = device_nonce(ring, email, cookies)
    if nonce is None:
        return None
    found = session.scalar(
        select(DeviceRecord.id).join(User, User.id == DeviceRecord.user_id)
        .where(DeviceRecord.nonce_hash == _nonce_hash(nonce), User.email == email)
    )
    return nonce if found is not None else None


def device_nonce(ring: KeyRing, email: str, cookies: dict[str, str]) -> str | None:
    """The nonce of a valid device cookie for this account among the client's cookies, or None."""
    value = cookies.get(device_cookie_name(ring, email), "")
    parts = value.split(".")
    if len(parts) != 3 or not parts[1].isdigit():
        return None
    nonce, issued, signature = parts
    if not hmac.compare_digest(signature, _sign(ring, "device-cookie", f"{email}|{nonce}.{issued}")):
        return None
    if int(issued) + DEVICE_COOKIE_DAYS * 86400 < clock.now().timestamp():
        return None
    return nonce


def _password_binding(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode()).hexdigest()


def new_pending_sign_in(ring: KeyRing, user_id: uuid.UUID, password_hash: str) -> str:
    expires = int((clock.now() + timedelta(minutes=PENDING_MINUTES)).timestamp())
    payload = f"{user_id}.{expires}"
    return f"{payload}.{_sign(ring, 'pending-sign-in', f'{payload}|{_password_binding(password_hash)}')}"


def pending_user_id(token: str) -> uuid.UUID | None:
    """The user a pending sign-in names (not yet verified: see `pending_is_valid`)."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        return uuid.UUID(parts[0])
    except ValueError:
        return None


def pending_is_valid(ring: KeyRing, token: str, *, password_hash: str) -> bool:
    parts = token.split(".")
    if len(parts) != 3 or not parts[1].isdigit():
        return False
    payload = f"{parts[0]}.{parts[1]}"
    expected = _sign(ring, "pending-sign-in", f"{payload}|{_password_binding(password_hash)}")
    return hmac.compare_digest(parts[2], expected) and int(parts[1]) > clock.now().timestamp()
