"""The key ring: master keys with ids, the lookup-hash key, and the retention chain of day keys.

It lives outside the database (`SAFESHARE_KEY_FILE`), so a database copy reveals no case text.
Each day's key is the SHA-256 of the day before's: purge destroys past days by storing today's
value, and no hash runs backwards (docs/operations.md, "retention keys"). `rotate-key` replaces the
lookup key (the old one kept, retired: it only finds and opens) and the chain (the old one kept
until nothing names it): docs/operations.md, "Keys over time".
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
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
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
# How long a retention chain `rotate-key` replaced stays in the ring at least (see `KeyRing.forget_chains`).
CHAIN_SETTLES = timedelta(minutes=10)


@dataclass(frozen=True)
class RetentionChain:
    """The chain value of day `start`; every later day's follows from it (see the module's text).

    `chain_id` tells chains apart after `rotate-key` made a new one: None for a ring's first chain
    (its day keys are `retain-YYYY-MM-DD`), else its day keys are `retain-YYYY-MM-DD~<chain_id>`.
    """

    start: date
    value: bytes
    destroyed_before: date | None = None
    chain_id: str | None = None
    retired_at: datetime | None = None  # when `rotate-key` replaced it (see `KeyRing.forget_chains`)

    def key(self, day: date) -> bytes:
        if day < self.start:
            raise KeyDestroyed(f"the retention key of {day.isoformat()} is not in the key ring")
        return _retention_key(self.value, self.start, day)

    def kek_id(self, day: date) -> str:
        return retention_kek_id(day, self.chain_id)

    def advanced_to(self, day: date) -> RetentionChain:
        if day <= self.start:
            return self
        return replace(self, start=day, value=_chain_value(self.value, self.start, day), destroyed_before=day)

    def doc(self) -> dict[str, str | None]:
        doc = {"from": self.start.isoformat(), "value": _b64(self.value),
               "destroyed_before": self.destroyed_before.isoformat() if self.destroyed_before else None}
        if self.chain_id is not None:
            doc["id"] = self.chain_id
        if self.retired_at is not None:
            doc["retired_at"] = self.retired_at.isoformat()
        return doc

    @classmethod
    def of(cls, raw: dict[str, str | None]) -> RetentionChain:
        value, start, destroyed, chain_id = raw["value"], raw["from"], raw.get("destroyed_before"), raw.get("id")
        retired = raw.get("retired_at")
        if not isinstance(value, str) or not isinstance(start, str):
            raise ValueError("malformed retention chain")
        chain = cls(date.fromisoformat(start), _unb64(value), date.fromisoformat(destroyed) if destroyed else None,
                    str(chain_id) if chain_id else None, datetime.fromisoformat(retired) if retired else None)
        if len(chain.value) != 32:
            raise ValueError("malformed retention chain")
        return chain

    @classmethod
    def fresh(cls, start: date, *, after: RetentionChain | None = None) -> RetentionChain:
        """A new chain from `start`; `after`: the one it replaces (`rotate-key`), whose purged days stay purged."""
        if after is None:
            return cls(start, secrets.token_bytes(32))
        return cls(after.start, secrets.token_bytes(32), after.destroyed_before, secrets.token_hex(3))


def retention_kek_id(day: date, chain_id: str | None = None) -> str:
    return RETAIN_PREFIX + day.isoformat() + (f"~{chain_id}" if chain_id else "")


def retention_day(kek_id: str) -> date | None:
    """The day of a `retain-YYYY-MM-DD[~chain]` key id; None for a master key's id."""
    found = _retention_id(kek_id)
    return None if found is None else found[0]


def retention_chain(kek_id: str) -> str | None:
    """The chain id of a retention day key's id (None: a ring's first chain, or not a day key)."""
    found = _retention_id(kek_id)
    return None if found is None else found[1]


def _retention_id(kek_id: str) -> tuple[date, str | None] | None:
    if not kek_id.startswith(RETAIN_PREFIX):
        return None
    day, _, chain_id = kek_id[len(RETAIN_PREFIX):].partition("~")
    try:
        return date.fromisoformat(day), chain_id or None
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
    # Lookup keys `rotate-key` replaced, newest first: only ever used to find or open what was
    # written under them (a receipt's hash, a recovery code, an audit entry), never to write.
    retired_lookup: list[bytes] = field(default_factory=list)
    retired_at: list[str] = field(default_factory=list)
    # Retention chains `rotate-key` replaced, until the database no longer names their day keys.
    retired_chains: list[RetentionChain] = field(default_factory=list)
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
                retired_lookup=[_unb64(r["key"]) for r in raw.get("retired_lookup_keys", [])],
                retired_at=[str(r.get("retired_at", "")) for r in raw.get("retired_lookup_keys", [])],
                retired_chains=[RetentionChain.of(r) for r in raw.get("retired_retention", [])],
            )
        except OSError as exc:
            raise KeyRingError(f"cannot read {path}: {exc.strerror or exc}") from None
        except (ValueError, KeyError, TypeError, AttributeError):
            raise KeyRingError(f"{path} is not a Safe Share key ring") from None
        if ring.active_id not in ring.keks or any(len(k) != 32 for k in ring.keks.values()):
            raise KeyRingError(f"{path} is not a Safe Share key ring") from None
        if any(len(k) < 32 for k in ring.lookup_keys):
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
        if self.retired_lookup:
            doc["retired_lookup_keys"] = [{"key": _b64(k), "retired_at": at}
                                          for k, at in zip(self.retired_lookup, self.retired_at, strict=True)]
        if self.retired_chains:
            doc["retired_retention"] = [c.doc() for c in self.retired_chains]
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
            self.lookup_key, self.retired_lookup, self.retired_at = fresh.lookup_key, fresh.retired_lookup, fresh.retired_at
            self.retired_chains = fresh.retired_chains
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
        found = _retention_id(kek_id)
        if found is not None:
            self._follow_file()
            chain = self._chain(found[1])
            if chain is None:
                raise KeyRingError(f"master key {kek_id} is not in the key ring")
            return chain.key(found[0])
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
        return self.retention.kek_id(day), self.retention.key(day)

    def status(self, kek_id: str) -> str:
        """`present`, `destroyed` (purged on purpose) or `missing` (needed and absent), for start-up checks."""
        found = _retention_id(kek_id)
        if found is None:
            return "present" if kek_id in self.keks else "missing"
        day, chain = found[0], self._chain(found[1])
        if chain is None:
            return "missing"
        if day >= chain.start:
            return "present"
        destroyed = chain.destroyed_before
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
        # A chain `rotate-key` replaced is purged alike: a crash before its re-wrap committed left
        # closed cases under it.
        self.retired_chains = [c.advanced_to(day) for c in self.retired_chains]
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

    def _chain(self, chain_id: str | None) -> RetentionChain | None:
        for chain in ([self.retention] if self.retention is not None else []) + self.retired_chains:
            if chain.chain_id == chain_id:
                return chain
        return None

    # -- the lookup key and what derives from it --------------------------------------------------
    @property
    def lookup_keys(self) -> list[bytes]:
        """The active lookup key, then the retired ones, newest first."""
        return [self.lookup_key, *self.retired_lookup]

    def subkey(self, purpose: str) -> bytes:
        """A key for one purpose (receipt lookup, idempotency, throttling) derived by HKDF from the
        active lookup key: the one everything new is written under. Follows a rotation by another process."""
        self._follow_file()
        return _derive_subkey(self.lookup_key, purpose)

    def subkeys(self, purpose: str) -> list[bytes]:
        """The purpose's key under every lookup key, the active one first: to open or find what an
        older key wrote (`rotate-key`), never to write."""
        self._follow_file()
        return [_derive_subkey(k, purpose) for k in self.lookup_keys]

    def lookup_hash(self, purpose: str, value: str | bytes) -> bytes:
        data = value.encode() if isinstance(value, str) else value
        return hmac.new(self.subkey(purpose), data, hashlib.sha256).digest()

    def lookup_hashes(self, purpose: str, value: str | bytes) -> list[bytes]:
        """`lookup_hash` under every lookup key, the active one first (see `subkeys`)."""
        data = value.encode() if isinstance(value, str) else value
        return [hmac.new(k, data, hashlib.sha256).digest() for k in self.subkeys(purpose)]

    # -- rotating the ring's own keys (`rotate-key`) ----------------------------------------------
    def rotate_own_keys(self) -> None:
        """A new lookup key (the old one retired) and a new retention chain (the old one kept until
        the database no longer names it); written at once, atomically."""
        self._follow_file()
        self.retired_lookup = [self.lookup_key, *self.retired_lookup]
        self.retired_at = [clock.rfc3339(clock.now()) or "", *self.retired_at]
        self.lookup_key = secrets.token_bytes(32)
        if self.retention is not None:
            self.retired_chains = [replace(self.retention, retired_at=clock.now()), *self.retired_chains]
            self.retention = RetentionChain.fresh(self.retention.start, after=self.retention)
        self.save()
        self._stamp = _stamp(self.path)

    def forget_chains(self, keep: set[str | None]) -> int:
        """Drop the retired retention chains whose ids are not in `keep` (the database names none of
        their day keys) and that were retired at least `CHAIN_SETTLES` ago; how many were dropped.

        The wait: a closure that read the ring just before the rotation may commit, under the old
        chain, after the rotation's check of what the database names (`purge` drops it later)."""
        self._follow_file()
        settled = clock.now() - CHAIN_SETTLES
        kept = [c for c in self.retired_chains
                if c.chain_id in keep or c.retired_at is None or c.retired_at > settled]
        dropped = len(self.retired_chains) - len(kept)
        if dropped:
            self.retired_chains = kept
            self.save()
            self._stamp = _stamp(self.path)
        return dropped


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
