"""Keyed blind indexes: equality in SQL on a value the database must not hold in clear (an HMAC
under a ring key of its own purpose).
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Callable
from functools import partial

from app.crypto.keyring import KeyRing

EXCLUSION_PURPOSE = "exclusion-user"


def exclusion_key(ring: KeyRing) -> bytes:
    """The key of the exclusions' blind index: derived from the ring's lookup key for this purpose alone."""
    return ring.subkey(EXCLUSION_PURPOSE)


def exclusion_keys(ring: KeyRing) -> Callable[[], list[bytes]]:
    """For a sessionmaker: the exclusion key under every lookup key, the active one first, read when
    needed: a running service follows `rotate-key`, and matches rows a retired key wrote."""
    return partial(ring.subkeys, EXCLUSION_PURPOSE)


def exclusion_index(key: bytes, user_id: uuid.UUID) -> bytes:
    # Migration 0018_i27 computes the same formula (a revision does not import the application).
    return hmac.new(key, b"safeshare:exclusion:" + user_id.bytes, hashlib.sha256).digest()
