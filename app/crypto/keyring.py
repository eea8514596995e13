"""The key ring: master keys with ids, the lookup-hash key, and the retention chain of day keys.

It lives outside the database (`SAFESHARE_KEY_FILE`), so a database copy reveals no case text.
Each day's key is the SHA-256 of the day before's: purge destroys past days by storing today's
value, and no hash runs backwards (docs/operations.md, "retention keys").
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
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from app import clock

log = logging.getLogger("safeshare.crypto")


class KeyRingError(Exception):
    """The key ring cannot be read or is malformed."""


class KeyDestroyed(KeyRingError):
    """The key was destroyed on purpose (a retention day that has passed): what it wrapped is gone."""


RETAIN_PREFIX = "retain-"


@dataclass(frozen=True)
class RetentionChain:
    """The chain value of day `start`; every later day's follows from it (see the module's text)."""

    start: date
    value: bytes
    destroyed_before: date | None = None

    def key(self, day: date) -> bytes:
        if day < self.start:
            raise KeyDestroyed(f"the retention key of {day.isoformat()} is not in the key ring")
        return _retention_key(self.value, self.start, day)

    def advanced_to(self, day: date) -> RetentionChain:
        if day <= self.start:
            return self
        return RetentionChain(day, _chain_value(self.value, self.start, day), day)

    def doc(self) -> dict[str, str | None]:
        return {"from": self.start.isoformat(), "value": _b64(self.value),
                "destroyed_before": self.destroyed_before.isoformat() if self.destroyed_before else None}

    @classmethod
    def of(cls, raw: dict[str, str | None]) -> RetentionChain:
        value, start, destroyed = raw["value"], raw["from"], raw.get("destroyed_before")
        if not isinstance(value, str) or not isinstance(start, str):
            raise ValueError("malformed retention chain")
        chain = cls(date.fromisoformat(start), _unb64(value), date.fromisoformat(destroyed) if destroyed else None)
        if len(chain.value) != 32:
            raise ValueError("malformed retention chain")
        return chain

    @classmethod
    def fresh(cls, start: date) -> RetentionChain:
        return cls(start, secrets.token_bytes(32))


def retention_kek_id(day: date) -> str:
    return RETAIN_PREFIX + day.isoformat()


def retention_day(kek_id: str) -> date | None:
    """The day of a `retain-YYYY-MM-DD` key id; None for a master key's id."""
    if not kek_id.startswith(RETAIN_PREFIX):
        return None
    try:
        return date.fromisoformat(kek_id[len(RETAIN_PREFIX):])
    except ValueError:
        return None


_STEP = b"safeshare:retention:next-day"
_KEY = b"safeshare:retention:key"


@lru_cache(maxsize=64)
def _chain_value(value: bytes, start: date, day: date) -> bytes:
    # A few thousand SHA-256 steps at most (retention is years, not centuries); cached per day.
    for _ in range((day - start).days):
        value = hashlib.sha256(_STEP + value).digest()
    return value


@lru_cache(maxsize=1024)
def _retention_key(value: bytes, start: date, day: date) -> bytes:
    # The key is not the chain value itself: a leaked day key gives neither that day's nor later days' values.
    return hmac.new(_chain_value(value, start, day), _KEY, hashlib.sha256).digest()


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
    retention: RetentionChain | None = None
    # A random id made with the ring and kept by every newer version of it (rotations, purges):
    # the database records it (`key_ring_identity`) and refuses any other ring. None for a ring
    # made before ids existed, until a command gives it one (`ensure_ring_id`).
    ring_id: str | None = None
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
                retention=RetentionChain.of(raw["retention"]) if raw.get("retention") else None,
                ring_id=str(raw["ring_id"]) if raw.get("ring_id") else None,
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
            retention=RetentionChain.fresh(clock.today()),
            ring_id=new_ring_id(),
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
        doc: dict[str, Any] = {
            "version": 1,
            "active": self.active_id,
            "keks": {k: {"key": _b64(v), "created_at": self.created.get(k, "")} for k, v in self.keks.items()},
            "lookup_key": _b64(self.lookup_key),
        }
        if self.ring_id is not None:
            doc["ring_id"] = self.ring_id
        if self.retention is not None:
            doc["retention"] = self.retention.doc()
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
            self.retention = fresh.retention
            self.ring_id = fresh.ring_id
            self._stamp = fresh._stamp

    def _follow_file(self) -> None:
        """Re-read the file if another process replaced it (a rotation, a purge)."""
        try:
            changed = _stamp(self.path) != self._stamp
        except OSError:
            changed = False  # keep serving with the keys in memory; reads fail loudly elsewhere
        if changed:
            self._reload()

    def kek(self, kek_id: str) -> bytes:
        """The master key with this id, or a retention day's key; re-reads the file once after a rotation."""
        day = retention_day(kek_id)
        if day is not None:
            self._follow_file()
            if self.retention is None:
                raise KeyRingError(f"master key {kek_id} is not in the key ring")
            return self.retention.key(day)
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
        self._follow_file()
        return self.active_id, self.keks[self.active_id]

    def retention_kek(self, day: date) -> tuple[str, bytes] | None:
        """The key for data keys kept until `day`; None when the ring has no chain covering it."""
        self._follow_file()
        if self.retention is None or day < self.retention.start:
            return None
        return retention_kek_id(day), self.retention.key(day)

    def status(self, kek_id: str) -> str:
        """`present`, `destroyed` (purged on purpose) or `missing` (needed and absent), for start-up checks."""
        day = retention_day(kek_id)
        if day is None:
            return "present" if kek_id in self.keks else "missing"
        if self.retention is None:
            return "missing"
        if day >= self.retention.start:
            return "present"
        destroyed = self.retention.destroyed_before
        return "destroyed" if destroyed is not None and day < destroyed else "missing"

    def ensure_ring_id(self) -> str:
        """The ring's id, giving a ring made by an older version one (written to the file)."""
        if self.ring_id is None:
            self.ring_id = new_ring_id()
            self.save()
            self._stamp = _stamp(self.path)
        return self.ring_id

    def ensure_retention_chain(self) -> bool:
        """Give an older ring its retention chain (starting today); whether it was added."""
        if self.retention is not None:
            return False
        self.retention = RetentionChain.fresh(clock.today())
        self.save()
        self._stamp = _stamp(self.path)
        return True

    def destroy_retention_before(self, day: date) -> int:
        """Destroy the retention keys before `day` (an atomic rewrite); how many days."""
        self._follow_file()
        if self.retention is None or day <= self.retention.start:
            return 0
        destroyed = (day - self.retention.start).days
        self.retention = self.retention.advanced_to(day)
        self.save()
        self._stamp = _stamp(self.path)
        return destroyed

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


def new_ring_id() -> str:
    return "ring-" + secrets.token_hex(16)


def _new_kek_id() -> str:
    return "kek-" + secrets.token_hex(4)
