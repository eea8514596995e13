"""Signed values the server hands to a browser or API client during sign-in.

- The **device cookie** (OWASP's "device cookie" pattern): every successful sign-in sets one for
  that account, HttpOnly, long-lived and signed with a key from the key ring. A client that shows
  a valid one has signed in to the account before: it is throttled on its own failures only, so
  nobody can lock the owner out by failing sign-ins from elsewhere. One cookie per account
  (its name is a keyed hash of the e-mail address, so it says nothing about whose it is).
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

from app import clock
from app.crypto.keyring import KeyRing

DEVICE_COOKIE_PREFIX = "ss_device_"
DEVICE_COOKIE_DAYS = 365
PENDING_MINUTES = 5


def _sign(ring: KeyRing, purpose: str, payload: str) -> str:
    return base64.urlsafe_b64encode(ring.lookup_hash(purpose, payload)).decode().rstrip("=")


@dataclass(frozen=True)
class DeviceCookie:
    name: str
    value: str
    max_age: int


def device_cookie_name(ring: KeyRing, email: str) -> str:
    return DEVICE_COOKIE_PREFIX + ring.lookup_hash("device-cookie-name", email)[:8].hex()


def new_device_cookie(ring: KeyRing, email: str) -> DeviceCookie:
    """A fresh device cookie for this account (a new nonce each sign-in)."""
    payload = f"{secrets.token_urlsafe(16)}.{int(clock.now().timestamp())}"
    value = f"{payload}.{_sign(ring, 'device-cookie', f'{email}|{payload}')}"
    return DeviceCookie(device_cookie_name(ring, email), value, DEVICE_COOKIE_DAYS * 86400)


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
