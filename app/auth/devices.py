"""Signed values handed to a client during sign-in: the device cookie and the pending sign-in.

Why and how the device cookie works: docs/operations.md, "Failed sign-ins".
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
    """The device cookie for this sign-in: the one shown again, or a fresh one (the oldest records go)."""
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
    """The nonce of a valid, unrevoked device cookie for this account, or None."""
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
