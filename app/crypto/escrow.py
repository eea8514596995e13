"""The escrow key (issue 27, off by default): an X25519 key pair whose private key is split at a
two-person ceremony into two shares (2-of-2: one is random, the other the private key XOR it), so
neither person alone holds anything. Each share names its half (A or B), the escrow key it belongs
to (the first 4 bytes of its public key's SHA-256) and ends in a checksum, so a mistyped share, two
copies of one half, or halves of different ceremonies are told apart before anything is opened.

Pure functions; the public key and the wraps are written in `app.crypto.holders`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from app.crypto import people

_RFC = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_TO_CROCKFORD = str.maketrans(_RFC, _CROCKFORD)
_FROM_CROCKFORD = str.maketrans(_CROCKFORD, _RFC)
_BODY = 64  # characters: key id (4 bytes), share (32), checksum (4) = 320 bits
HALVES = ("A", "B")


class ShareError(ValueError):
    """A share that cannot be used; the message says why, in one line for the operator."""


def key_id(public: bytes) -> bytes:
    return hashlib.sha256(public).digest()[:4]


def _checksum(half: str, body: bytes) -> bytes:
    return hashlib.sha256(b"safeshare:escrow-share:" + half.encode() + body).digest()[:4]


def _encode(half: str, public: bytes, share: bytes) -> str:
    body = key_id(public) + share
    chars = base64.b32encode(body + _checksum(half, body)).decode().translate(_TO_CROCKFORD)
    return half + "-" + "-".join(chars[i:i + 4] for i in range(0, len(chars), 4))


@dataclass(frozen=True)
class Ceremony:
    public: bytes
    share_a: str
    share_b: str


def new_escrow_key() -> Ceremony:
    """A fresh key pair, its private key only as two printed shares."""
    private = X25519PrivateKey.generate()
    raw = people.private_bytes(private)
    pad = os.urandom(32)
    other = bytes(x ^ y for x, y in zip(raw, pad, strict=True))
    public = people.public_bytes(private)
    return Ceremony(public, _encode("A", public, pad), _encode("B", public, other))


@dataclass(frozen=True)
class Share:
    half: str
    key_id: bytes
    share: bytes


def parse_share(text: str, *, which: str) -> Share:
    """A typed share, checked (ShareError naming `which` share when it is mistyped)."""
    clean = people.normalise_recovery_key(text)
    if len(clean) != 1 + _BODY or clean[0] not in HALVES:
        raise ShareError(f"{which} share is not a share (it should start with A- or B- and have {_BODY} more "
                         "characters): check it and type it again")
    half = clean[0]
    raw = base64.b32decode(clean[1:].translate(_FROM_CROCKFORD))
    body, check = raw[:-4], raw[-4:]
    if not hmac.compare_digest(check, _checksum(half, body)):
        raise ShareError(f"{which} share is mistyped (its checksum does not match): check it and type it again")
    return Share(half, body[:4], body[4:])


def join(first: Share, second: Share, public: bytes) -> X25519PrivateKey:
    """The escrow private key from share A and share B (either order), checked against the stored
    public key (ShareError otherwise)."""
    if first.half == second.half:
        raise ShareError(f"mismatched shares: both are share {first.half}; give share A and share B")
    if first.key_id != second.key_id:
        raise ShareError("mismatched shares: they come from two different escrow ceremonies")
    if first.key_id != key_id(public):
        raise ShareError(f"wrong shares: they are of another escrow key, not this deployment's "
                         f"({people.fingerprint(public)})")
    private = X25519PrivateKey.from_private_bytes(bytes(x ^ y for x, y in zip(first.share, second.share, strict=True)))
    if people.public_bytes(private) != public:
        raise ShareError("wrong shares: together they do not rebuild this deployment's escrow key")
    return private
