"""Keys only people hold (issue 27): each case-reading person's X25519 key pair, and case keys
wrapped to people.

- A person's private key is stored twice, never in clear: sealed under a key derived from their
  password (argon2id, its parameters stored beside it) and sealed under their recovery key (a
  random 130-bit code shown once; HKDF is enough for a key that was never chosen by a person).
- At sign-in it is unsealed with the password and kept with the staff session, sealed under a key
  derived from the session token, which the server never stores (only its SHA-256): the database
  and the key ring alone open no private key.
- A case's data key is wrapped to a person's public key (ephemeral X25519, HKDF-SHA256,
  AES-256-GCM): anyone may wrap to a person, only the person's private key unwraps.

Pure functions; the tables are written in `app.crypto.holders`.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import uuid
from dataclasses import dataclass

from argon2.low_level import Type, hash_secret_raw
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from app.crypto.envelope import DecryptionError, open_, seal

RAW = serialization.Encoding.Raw
_PUB = serialization.PublicFormat.Raw
_PRIV = serialization.PrivateFormat.Raw
_NOENC = serialization.NoEncryption()

# Crockford base 32: the recovery key is read from paper, like a receipt.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
RECOVERY_CHARS = 26  # 130 bits
_TRANSLATE = str.maketrans({"O": "0", "I": "1", "L": "1"})


@dataclass(frozen=True)
class Argon2Params:
    time_cost: int
    memory_kib: int
    parallelism: int


def _hkdf(secret: bytes, info: bytes, salt: bytes | None = None) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(secret)


def public_bytes(private: X25519PrivateKey) -> bytes:
    return private.public_key().public_bytes(RAW, _PUB)


def private_bytes(private: X25519PrivateKey) -> bytes:
    return private.private_bytes(RAW, _PRIV, _NOENC)


def _ad(user_id: uuid.UUID, under: str, public: bytes) -> bytes:
    return f"safeshare:v1:person_keys:{under}:{user_id}:".encode() + public


# --- under the password ---------------------------------------------------------------------------------

def new_kdf_spec(params: Argon2Params) -> str:
    """The argon2id parameters and a fresh salt, stored beside what they seal."""
    return f"argon2id$t={params.time_cost}$m={params.memory_kib}$p={params.parallelism}${os.urandom(16).hex()}"


def password_key(password: str, spec: str) -> bytes:
    name, t, m, p, salt = spec.split("$")
    if name != "argon2id":
        raise ValueError(f"unknown key derivation {name!r}")
    return hash_secret_raw(password.encode(), bytes.fromhex(salt), time_cost=int(t[2:]), memory_cost=int(m[2:]),
                           parallelism=int(p[2:]), hash_len=32, type=Type.ID)


@dataclass(frozen=True)
class Sealed:
    """A private key sealed under a password-derived key (`spec` says how to derive it again)."""

    public: bytes
    by_password: bytes
    spec: str


def seal_under_password(user_id: uuid.UUID, private: X25519PrivateKey, password: str, params: Argon2Params) -> Sealed:
    spec = new_kdf_spec(params)
    public = public_bytes(private)
    return Sealed(public, seal(password_key(password, spec), private_bytes(private), _ad(user_id, "password", public)), spec)


def open_under_password(user_id: uuid.UUID, public: bytes, blob: bytes, spec: str, password: str) -> X25519PrivateKey | None:
    """The private key, or None when the password does not open it."""
    try:
        raw = open_(password_key(password, spec), blob, _ad(user_id, "password", public))
    except DecryptionError:
        return None
    return X25519PrivateKey.from_private_bytes(raw)


# --- under the recovery key -----------------------------------------------------------------------------

def new_recovery_key() -> str:
    chars = "".join(secrets.choice(_ALPHABET) for _ in range(RECOVERY_CHARS))
    return "-".join(chars[i:i + 5] for i in range(0, RECOVERY_CHARS, 5))


def normalise_recovery_key(text: str) -> str:
    return "".join(ch for ch in text.upper().translate(_TRANSLATE) if ch in _ALPHABET)


def seal_under_recovery(user_id: uuid.UUID, private: X25519PrivateKey, recovery: str) -> bytes:
    public = public_bytes(private)
    key = _hkdf(normalise_recovery_key(recovery).encode(), b"safeshare:recovery-key:" + user_id.bytes)
    return seal(key, private_bytes(private), _ad(user_id, "recovery", public))


def open_under_recovery(user_id: uuid.UUID, public: bytes, blob: bytes, recovery: str) -> X25519PrivateKey | None:
    key = _hkdf(normalise_recovery_key(recovery).encode(), b"safeshare:recovery-key:" + user_id.bytes)
    try:
        return X25519PrivateKey.from_private_bytes(open_(key, blob, _ad(user_id, "recovery", public)))
    except DecryptionError:
        return None


# --- for one staff session ------------------------------------------------------------------------------

def _session_key(token: str) -> bytes:
    # The server keeps only SHA-256(token) (app.auth.service.token_hash): this key is not derivable from it.
    return _hkdf(token.encode(), b"safeshare:session-person-key")


def seal_for_session(token: str, user_id: uuid.UUID, private: X25519PrivateKey) -> bytes:
    return seal(_session_key(token), private_bytes(private), _ad(user_id, "session", b""))


def open_for_session(token: str, user_id: uuid.UUID, blob: bytes) -> X25519PrivateKey | None:
    try:
        return X25519PrivateKey.from_private_bytes(open_(_session_key(token), blob, _ad(user_id, "session", b"")))
    except DecryptionError:
        return None


def seal_text_for_session(token: str, user_id: uuid.UUID, text: str) -> bytes:
    """Something to show the session's owner once (a new recovery key), readable only with the token."""
    return seal(_session_key(token), text.encode(), _ad(user_id, "session-text", b""))


def open_text_for_session(token: str, user_id: uuid.UUID, blob: bytes) -> str | None:
    try:
        return open_(_session_key(token), blob, _ad(user_id, "session-text", b"")).decode()
    except DecryptionError:
        return None


# --- case keys wrapped to a person ----------------------------------------------------------------------

CASE_PART = "case"
SAFEGUARDING_PART = "safeguarding"


def _wrap_ad(case_id: uuid.UUID, recipient: bytes, part: str) -> bytes:
    # The case key's wraps keep the label of before; the safeguarding-only key's have their own, so
    # a wrap of one cannot be passed off as the other.
    label = "wrapped" if part == CASE_PART else part
    return f"safeshare:v1:case_key_wraps:{label}:{case_id}:".encode() + recipient


def wrap_to(recipient: bytes, case_id: uuid.UUID, dek: bytes, part: str = CASE_PART) -> bytes:
    """`dek` wrapped to the holder of the X25519 public key `recipient`: the ephemeral public key
    (32 bytes) then the AES-GCM ciphertext. `part`: which of the case's keys (`case`, or
    `safeguarding`: the key of what only the safeguarding team reads)."""
    ephemeral = X25519PrivateKey.generate()
    eph_pub = public_bytes(ephemeral)
    shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(recipient))
    key = _hkdf(shared, b"safeshare:case-key-wrap:v1", salt=eph_pub + recipient)
    return eph_pub + seal(key, dek, _wrap_ad(case_id, recipient, part))


def unwrap_with(private: X25519PrivateKey, case_id: uuid.UUID, blob: bytes, part: str = CASE_PART) -> bytes:
    """The data key, or DecryptionError (another person's wrap, another case's, another part, tampered)."""
    eph_pub, rest = blob[:32], blob[32:]
    recipient = public_bytes(private)
    try:
        shared = private.exchange(X25519PublicKey.from_public_bytes(eph_pub))
    except ValueError:
        raise DecryptionError("not a wrapped case key", where="case_key_wraps.wrapped") from None
    key = _hkdf(shared, b"safeshare:case-key-wrap:v1", salt=eph_pub + recipient)
    return open_(key, rest, _wrap_ad(case_id, recipient, part))


# --- small texts sealed to a person (their saved searches) -----------------------------------------------

def seal_to(recipient: bytes, plaintext: bytes, ad: bytes) -> bytes:
    """`plaintext` sealed to the holder of the X25519 public key `recipient` (ephemeral X25519,
    HKDF-SHA256, AES-256-GCM; `ad` binds it to its row): anyone may seal, only that person opens."""
    ephemeral = X25519PrivateKey.generate()
    eph_pub = public_bytes(ephemeral)
    shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(recipient))
    key = _hkdf(shared, b"safeshare:sealed-to-person:v1", salt=eph_pub + recipient)
    return eph_pub + seal(key, plaintext, ad + b":" + recipient)


def open_sealed(private: X25519PrivateKey, blob: bytes, ad: bytes) -> bytes:
    """What `seal_to` sealed, or DecryptionError (another person's key, another row, tampered)."""
    eph_pub, rest = blob[:32], blob[32:]
    recipient = public_bytes(private)
    try:
        shared = private.exchange(X25519PublicKey.from_public_bytes(eph_pub))
    except ValueError:
        raise DecryptionError("not a sealed text", where=None) from None
    key = _hkdf(shared, b"safeshare:sealed-to-person:v1", salt=eph_pub + recipient)
    return open_(key, rest, ad + b":" + recipient)


def fingerprint(public: bytes) -> str:
    """A short, readable name of a public key (the console shows it beside a grant)."""
    digest = hashlib.sha256(public).digest()
    return "-".join(digest[i:i + 2].hex() for i in range(0, 8, 2))


# --- the reporter: the case key under the receipt, and for one reporter session -------------------------

def _receipt_key(normalised_receipt: str, case_id: uuid.UUID) -> bytes:
    # A receipt has at least 115 random bits (app.crypto.receipts): HKDF is enough. The database keeps
    # only its keyed lookup hash, from which this key cannot be derived.
    return _hkdf(normalised_receipt.encode(), b"safeshare:reporter-case-key:" + case_id.bytes)


def _reporter_ad(case_id: uuid.UUID, under: str) -> bytes:
    return f"safeshare:v1:case_keys:reporter:{under}:{case_id}".encode()


def wrap_to_receipt(normalised_receipt: str, case_id: uuid.UUID, dek: bytes) -> bytes:
    return seal(_receipt_key(normalised_receipt, case_id), dek, _reporter_ad(case_id, "receipt"))


def unwrap_with_receipt(normalised_receipt: str, case_id: uuid.UUID, blob: bytes) -> bytes | None:
    try:
        return open_(_receipt_key(normalised_receipt, case_id), blob, _reporter_ad(case_id, "receipt"))
    except DecryptionError:
        return None


def seal_for_reporter_session(token: str, case_id: uuid.UUID, dek: bytes) -> bytes:
    return seal(_session_key(token), dek, _reporter_ad(case_id, "session"))


def open_for_reporter_session(token: str, case_id: uuid.UUID, blob: bytes) -> bytes | None:
    try:
        return open_(_session_key(token), blob, _reporter_ad(case_id, "session"))
    except DecryptionError:
        return None
