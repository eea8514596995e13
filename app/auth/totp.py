"""Two-factor codes (RFC 6238 with `pyotp`), recovery codes, and the secret sealed at rest.

The secret's key comes from the key ring, never the database: a database copy cannot mint codes.
"""

from __future__ import annotations

import hmac
import re
import secrets
import uuid
from datetime import datetime

import pyotp

from app.crypto import envelope
from app.crypto.keyring import KeyRing

STEP_SECONDS = 30
DIGITS = 6
DRIFT_STEPS = 1
ISSUER = "Safe Share"

RECOVERY_CODES = 10
# Crockford base 32 (no I, L, O, U), 16 characters = 80 bits, written in four groups of four.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_RECOVERY_LENGTH = 16
_TRANSLATE = str.maketrans({"O": "0", "I": "1", "L": "1"})
_CODE = re.compile(r"\d{6}")


def new_secret() -> str:
    """160 random bits in base 32, as authenticator apps expect (RFC 4226's recommended length)."""
    return pyotp.random_base32()


def provisioning_uri(secret: str, *, email: str, issuer: str = ISSUER) -> str:
    """The `otpauth://` URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(name=email, issuer_name=issuer)


def grouped(secret: str) -> str:
    """The secret in groups of four, easier to type by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def matching_step(secret: str, code: str, at: datetime) -> int | None:
    """The time step whose code this is, within one step of `at`, or None."""
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)
    now = totp.timecode(at)
    for step in (now, now - DRIFT_STEPS, now + DRIFT_STEPS):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


# --- the shape of what a person types ---------------------------------------------------------------


def as_totp(text: str) -> str | None:
    """Six digits (spaces allowed, as apps show `123 456`), or None."""
    cleaned = "".join(text.split())
    return cleaned if _CODE.fullmatch(cleaned) else None


def as_recovery_code(text: str) -> str | None:
    """The canonical form of a typed recovery code (any case, spaces and dashes), or None."""
    cleaned = "".join(ch for ch in text.upper() if ch not in " -\t").translate(_TRANSLATE)
    if len(cleaned) != _RECOVERY_LENGTH or any(ch not in _ALPHABET for ch in cleaned):
        return None
    return cleaned


def is_code_shaped(text: str) -> bool:
    return as_totp(text) is not None or as_recovery_code(text) is not None


def new_recovery_codes() -> list[str]:
    codes = []
    for _ in range(RECOVERY_CODES):
        chars = "".join(secrets.choice(_ALPHABET) for _ in range(_RECOVERY_LENGTH))
        codes.append("-".join(chars[i : i + 4] for i in range(0, _RECOVERY_LENGTH, 4)))
    return codes


def recovery_hash(ring: KeyRing, user_id: uuid.UUID, canonical: str) -> bytes:
    """Keyed hash of a recovery code: 80 random bits cannot be searched without the key ring."""
    return ring.lookup_hash("recovery-code", f"{user_id}:{canonical}")


def recovery_hashes(ring: KeyRing, user_id: uuid.UUID, canonical: str) -> list[bytes]:
    """`recovery_hash` under every lookup key, the active one first: codes issued before `rotate-key`
    are hashed under a retired key (they cannot be re-hashed: only their holder has them)."""
    return ring.lookup_hashes("recovery-code", f"{user_id}:{canonical}")


TOTP_PURPOSE = "users.totp_secret"


# --- the secret at rest -----------------------------------------------------------------------------


def _ad(user_id: uuid.UUID) -> bytes:
    return f"safeshare:v1:users:totp_secret_ct:{user_id}".encode()


def seal_secret(ring: KeyRing, user_id: uuid.UUID, secret: str) -> bytes:
    return envelope.seal(ring.subkey(TOTP_PURPOSE), secret.encode(), _ad(user_id))


def open_secret(ring: KeyRing, user_id: uuid.UUID, sealed: bytes) -> str:
    return envelope.open_any(ring.subkeys(TOTP_PURPOSE), sealed, _ad(user_id)).decode()
