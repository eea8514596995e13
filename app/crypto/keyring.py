"""The key ring: master key-encryption keys (KEKs) with ids, and the key for keyed lookup hashes.

It lives in a file outside the database (`SAFESHARE_KEY_FILE`, mode 0600), so a copy of the
database alone reveals no case text and cannot be searched for a receipt.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import secrets
import tempfile
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from app import clock

log = logging.getLogger("safeshare.crypto")


class KeyRingError(Exception):
    """The key ring cannot be read or is malformed."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode(), validate=True)


@dataclass
class KeyRing:
    path: Path
    active_id: str
    keks: dict[str, bytes]
    lookup_key: bytes
    created: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    # The file's identity when last read: `safeshare rotate-key` replaces the file, and every
    # running worker must then wrap new data keys under the new master key, not the retired one.
    _stamp: tuple[int, int] | None = field(default=None, repr=False)

    # -- loading and saving -------------------------------------------------------------------
    @classmethod
    def load(cls, path: Path) -> KeyRing:
        try:
            raw = json.loads(Path(path).read_text())
            keks = {k: _unb64(v["key"]) for k, v in raw["keks"].items()}
            ring = cls(
                path=Path(path),
                active_id=raw["active"],
                keks=keks,
                lookup_key=_unb64(raw["lookup_key"]),
                created={k: v.get("created_at", "") for k, v in raw["keks"].items()},
            )
        except OSError as exc:
            raise KeyRingError(f"cannot read {path}: {exc.strerror or exc}") from None
        except (ValueError, KeyError, TypeError, AttributeError):
            raise KeyRingError(f"{path} is not a Safe Share key ring") from None
        if ring.active_id not in ring.keks or any(len(k) != 32 for k in ring.keks.values()):
            raise KeyRingError(f"{path} is not a Safe Share key ring") from None
        if len(ring.lookup_key) < 32:
            raise KeyRingError(f"{path} is not a Safe Share key ring") from None
        ring._stamp = _stamp(ring.path)
        return ring

    @classmethod
    def load_or_create(cls, path: Path) -> KeyRing:
        path = Path(path)
        if path.exists():
            return cls.load(path)
        kek_id = _new_kek_id()
        ring = cls(
            path=path,
            active_id=kek_id,
            keks={kek_id: secrets.token_bytes(32)},
            lookup_key=secrets.token_bytes(32),
            created={kek_id: clock.rfc3339(clock.now()) or ""},
        )
        try:
            ring.save()
            ring._stamp = _stamp(path)
        except OSError as exc:
            raise KeyRingError(f"cannot create {path}: {exc.strerror or exc}") from None
        log.warning(
            "created a new key ring at %s: back it up now and keep it apart from database backups; "
            "without it no case can ever be read again",
            path,
        )
        return ring

    def save(self) -> None:
        """Write atomically with mode 0600: a crash never leaves a half-written key ring."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        doc = {
            "version": 1,
            "active": self.active_id,
            "keks": {k: {"key": _b64(v), "created_at": self.created.get(k, "")} for k, v in self.keks.items()},
            "lookup_key": _b64(self.lookup_key),
        }
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".keys-", suffix=".tmp")
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w") as fh:
                json.dump(doc, fh, indent=2)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    # -- keys -------------------------------------------------------------------------------
    def _reload(self) -> None:
        with self._lock:
            fresh = KeyRing.load(self.path)
            self.keks, self.active_id, self.created = fresh.keks, fresh.active_id, fresh.created
            self._stamp = fresh._stamp

    def kek(self, kek_id: str) -> bytes:
        """The master key with this id; re-reads the file once if another process rotated."""
        key = self.keks.get(kek_id)
        if key is None:
            self._reload()
            key = self.keks.get(kek_id)
        if key is None:
            raise KeyRingError(f"master key {kek_id} is not in the key ring")
        return key

    @property
    def active_kek(self) -> tuple[str, bytes]:
        """The master key new data keys are wrapped under; follows a rotation by another process."""
        try:
            changed = _stamp(self.path) != self._stamp
        except OSError:
            changed = False  # keep serving with the keys in memory; reads fail loudly elsewhere
        if changed:
            self._reload()
        return self.active_id, self.keks[self.active_id]

    def add_kek(self) -> str:
        kek_id = _new_kek_id()
        self.keks[kek_id] = secrets.token_bytes(32)
        self.created[kek_id] = clock.rfc3339(clock.now()) or ""
        self.active_id = kek_id
        self.save()
        self._stamp = _stamp(self.path)
        return kek_id

    def subkey(self, purpose: str) -> bytes:
        """A key for one purpose (receipt lookup, idempotency, throttling) derived by HKDF."""
        return _derive_subkey(self.lookup_key, purpose)

    def lookup_hash(self, purpose: str, value: str | bytes) -> bytes:
        data = value.encode() if isinstance(value, str) else value
        return hmac.new(self.subkey(purpose), data, hashlib.sha256).digest()


@lru_cache(maxsize=256)
def _derive_subkey(lookup_key: bytes, purpose: str) -> bytes:
    # Cached: lookup_hash runs on every submission and redemption, and the HKDF would otherwise
    # run each time. Keyed by the lookup key itself, so a different key ring never shares an entry.
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"safeshare:" + purpose.encode()).derive(lookup_key)


def _stamp(path: Path) -> tuple[int, int]:
    st = os.stat(path)
    return st.st_ino, st.st_mtime_ns


def _new_kek_id() -> str:
    return "kek-" + secrets.token_hex(4)
