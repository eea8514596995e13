"""Throttling of failed sign-ins and receipts, and the rate of new reports, shared through the database.

Back-off buckets and rate windows: docs/operations.md, "Failed sign-ins", and docs/reporters.md.
A client is its address (IPv6 by /64) under a daily key: never stored, unlinkable across days.
Counters commit in transactions of their own, so a failure counts even when the request rolls back.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from limits import RateLimitItem
from limits.storage import Storage
from limits.strategies import FixedWindowRateLimiter
from sqlalchemy import Index, LargeBinary, case, delete, literal, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.sql import Executable

from app import clock, dialect
from app.crypto.keyring import KeyRing
from app.db import Base, UTCDateTime, separately, table_of
from app.errors import TooManyRequests


class ThrottleBucket(Base):
    __tablename__ = "throttle_buckets"
    __table_args__ = (Index("ix_throttle_buckets_expires_at", "expires_at"),)

    bucket: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    count: Mapped[int] = mapped_column(default=0)
    last_at: Mapped[datetime]  # the last failure (back-off) or hit (rate window)
    expires_at: Mapped[datetime]  # when the count is forgotten


# --- who is counted -------------------------------------------------------------------------------


def client_network(client_host: str | None) -> str:
    """The unit a client is counted by: an IPv4 address, or an IPv6 /64 (else 2^64 fresh buckets)."""
    if not client_host:
        return "unknown"
    try:
        ip = ipaddress.ip_address(client_host)
    except ValueError:
        return client_host
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def client_bucket(ring: KeyRing, scope: str, client_host: str | None) -> bytes:
    """The client's own bucket for one purpose: a keyed hash of its network, re-keyed daily."""
    day = clock.today().isoformat()
    return ring.lookup_hash(f"throttle-client:{day}", f"{scope}:{client_network(client_host)}")


def key_bucket(ring: KeyRing, scope: str, value: str) -> bytes:
    """A bucket for a named thing (an account's e-mail address, a device cookie)."""
    return ring.lookup_hash("throttle", f"{scope}:key:{value}")


class Attempt(NamedTuple):
    """One counted attempt and each bucket's times before it, so `forgive` never extends a back-off."""

    at: datetime
    before: dict[bytes, tuple[datetime, datetime]]


class Bucket(NamedTuple):
    """A back-off bucket and how many failures it may make before it has to wait."""

    key: bytes
    free: int


# --- back-off -------------------------------------------------------------------------------------

FIRST_DELAY_SECONDS = 1
GARBAGE_EVERY = 32


def delay_after(failures: int, *, free: int, longest: int) -> int:
    """Seconds to wait after `failures`: none within the allowance, then 1 s doubling up to `longest`."""
    if failures < free:
        return 0
    doubled: int = FIRST_DELAY_SECONDS << min(failures - free, 40)
    return min(longest, doubled)


class Throttle:

    def __init__(self, sessions: sessionmaker[Session], *, max_delay_seconds: int, window_seconds: int) -> None:
        self.sessions = sessions
        self.longest = max_delay_seconds
        self.window = timedelta(seconds=window_seconds)

    def _waits(self, rows: Sequence[ThrottleBucket], buckets: Sequence[Bucket], now: datetime) -> list[float]:
        free = {b.key: b.free for b in buckets}
        waits = []
        for row in rows:
            delay = delay_after(row.count, free=free[row.bucket], longest=self.longest)
            if row.expires_at <= now or delay == 0:
                continue  # forgotten, or still within the free allowance
            until = row.last_at + timedelta(seconds=delay)
            if until > now:
                waits.append((until - now).total_seconds())
        return waits

    def check(self, buckets: Sequence[Bucket], *, session: Session | None = None) -> None:
        """Raise 429 with Retry-After if any bucket must still wait; counts nothing."""
        keys = [b.key for b in buckets]
        query = select(ThrottleBucket).where(ThrottleBucket.bucket.in_(keys))
        now = clock.now()
        if session is not None:
            waits = self._waits(session.scalars(query).all(), buckets, now)
        else:
            with self.sessions() as s:
                waits = self._waits(s.scalars(query).all(), buckets, now)
        if waits:
            raise TooManyRequests(retry_after=math.ceil(max(waits)))

    def attempt(self, buckets: Sequence[Bucket]) -> Attempt:
        """Check and count one attempt atomically, in a transaction of its own.

        Counting before the slow hash stops a burst of parallel guesses all passing the check; `forgive`
        gives back what turns out not to be a failure.
        """
        return self._count(buckets)

    def fail(self, buckets: Sequence[Bucket]) -> None:
        """Count one failure in each bucket, in a transaction of its own (one upsert each)."""
        now = clock.now()
        t = table_of(ThrottleBucket)
        when = literal(now, UTCDateTime())
        with separately(self.sessions) as s:
            for bucket in buckets:
                ins = dialect.insert(s, ThrottleBucket).values(bucket=bucket.key, count=1, last_at=now,
                                                               expires_at=now + self.window)
                s.execute(ins.on_conflict_do_update(
                    index_elements=["bucket"],
                    set_={
                        "count": case((t.c.expires_at <= when, 1), else_=t.c.count + 1),
                        "last_at": when,
                        "expires_at": literal(now + self.window, UTCDateTime()),
                    },
                ))
            self._collect_garbage(s, now)

    def _collect_garbage(self, s: Session, now: datetime) -> None:
        # Now and then, not on every failure: forgotten rows only take space.
        if secrets.randbelow(GARBAGE_EVERY) == 0:
            s.execute(delete(ThrottleBucket).where(ThrottleBucket.expires_at < now - self.window))

    def _count(self, buckets: Sequence[Bucket]) -> Attempt:
        now = clock.now()
        keys = [b.key for b in buckets]
        t = table_of(ThrottleBucket)
        with separately(self.sessions) as s:
            # Make sure every row exists, then lock them: concurrent attempts take turns.
            for key in keys:
                s.execute(
                    dialect.insert(s, ThrottleBucket)
                    .values(bucket=key, count=0, last_at=now, expires_at=now)
                    .on_conflict_do_nothing(index_elements=["bucket"])
                )
            rows = s.scalars(dialect.for_update(select(ThrottleBucket).where(ThrottleBucket.bucket.in_(keys)), s)).all()
            waits = self._waits(rows, buckets, now)
            if waits:
                raise TooManyRequests(retry_after=math.ceil(max(waits)))  # rolls back: nothing counted
            before = {row.bucket: (row.last_at, row.expires_at) for row in rows}
            when = literal(now, UTCDateTime())
            s.execute(
                update(ThrottleBucket)
                .where(ThrottleBucket.bucket.in_(keys))
                .values(
                    count=case((t.c.expires_at <= when, 1), else_=t.c.count + 1),
                    last_at=now,
                    expires_at=now + self.window,
                )
                .execution_options(synchronize_session=False)
            )
            self._collect_garbage(s, now)
        return Attempt(now, before)

    def forgive(self, keys: Sequence[bytes], *, session: Session | None = None, attempt: Attempt | None = None) -> None:
        """Give back an attempt that was not a failure, restoring the bucket's times unless a later
        failure moved them.
        """
        t = table_of(ThrottleBucket)
        for key in keys:
            values: dict[str, Any] = {"count": ThrottleBucket.count - 1}
            prior = attempt.before.get(key) if attempt is not None else None
            if attempt is not None and prior is not None:
                at = literal(attempt.at, UTCDateTime())
                values["last_at"] = case((t.c.last_at == at, literal(prior[0], UTCDateTime())), else_=t.c.last_at)
                values["expires_at"] = case(
                    (t.c.last_at == at, literal(max(prior[1], prior[0]), UTCDateTime())), else_=t.c.expires_at)
            stmt = (
                update(ThrottleBucket)
                .where(ThrottleBucket.bucket == key, ThrottleBucket.count > 0)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            self._run(stmt, session)

    def clear(self, keys: Sequence[bytes], *, session: Session | None = None) -> None:
        """Forget these buckets' failures (a device's own, after it signed in)."""
        self._run(delete(ThrottleBucket).where(ThrottleBucket.bucket.in_(keys)), session)

    def _run(self, stmt: Executable, session: Session | None) -> None:
        if session is not None:
            session.execute(stmt)
            return
        with separately(self.sessions) as s:
            s.execute(stmt)


# --- rate windows (the `limits` library over this table) -------------------------------------------


class DatabaseStorage(Storage):
    """A `limits` storage in `throttle_buckets`, so every process and host shares the limit."""

    STORAGE_SCHEME = None

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        super().__init__()
        self.sessions = sessions

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return SQLAlchemyError

    @staticmethod
    def _bucket(key: str) -> bytes:
        return hashlib.sha256(b"limits:" + key.encode()).digest()

    def _row(self, key: str) -> ThrottleBucket | None:
        with self.sessions() as s:
            row = s.get(ThrottleBucket, self._bucket(key))
            return row if row is not None and row.expires_at > clock.now() else None

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        with separately(self.sessions) as s:
            return self.incr_in(s, key, expiry, amount)

    @classmethod
    def incr_in(cls, s: Session, key: str, expiry: int, amount: int = 1) -> int:
        now = clock.now()
        bucket = cls._bucket(key)
        t = table_of(ThrottleBucket)
        when = literal(now, UTCDateTime())
        ends = now + timedelta(seconds=expiry)
        ins = dialect.insert(s, ThrottleBucket).values(bucket=bucket, count=amount, last_at=now, expires_at=ends)
        s.execute(ins.on_conflict_do_update(
            index_elements=["bucket"],
            set_={
                # A window that has ended starts again.
                "count": case((t.c.expires_at <= when, amount), else_=t.c.count + amount),
                "expires_at": case((t.c.expires_at <= when, literal(ends, UTCDateTime())), else_=t.c.expires_at),
                "last_at": when,
            },
        ))
        return int(s.scalar(select(ThrottleBucket.count).where(ThrottleBucket.bucket == bucket)) or 0)

    def get(self, key: str) -> int:
        row = self._row(key)
        return row.count if row is not None else 0

    def get_expiry(self, key: str) -> float:
        row = self._row(key)
        return (row.expires_at if row is not None else clock.now()).timestamp()

    def check(self) -> bool:
        return True

    def reset(self) -> int | None:
        return None  # never wipes the other counters that share the table

    def clear(self, key: str) -> None:
        with separately(self.sessions) as s:
            s.execute(delete(ThrottleBucket).where(ThrottleBucket.bucket == self._bucket(key)))


class RateLimit:
    """At most `item` hits per client, e.g. `SAFESHARE_REPORT_RATE` new reports; None = no limit."""

    def __init__(self, sessions: sessionmaker[Session], item: RateLimitItem | None) -> None:
        self.item = item
        self.limiter = FixedWindowRateLimiter(DatabaseStorage(sessions))

    def hit(self, bucket: bytes, *, detail: str) -> None:
        """Count one hit for this client; 429 with Retry-After (the end of the window) past the limit."""
        if self.item is None:
            return
        if not self.limiter.hit(self.item, bucket.hex()):
            reset, _ = self.limiter.get_window_stats(self.item, bucket.hex())
            raise TooManyRequests(retry_after=math.ceil(reset - clock.now().timestamp()), detail=detail)

    def count(self, session: Session, bucket: bytes, *, detail: str) -> TooManyRequests | None:
        """`hit` in the caller's short transaction (the Idempotency-Key's claim); the 429 to raise after it
        commits, or None.
        """
        if self.item is None:
            return None
        key = self.item.key_for(bucket.hex())
        if DatabaseStorage.incr_in(session, key, self.item.get_expiry()) <= self.item.amount:
            return None
        ends = session.scalar(select(ThrottleBucket.expires_at).where(ThrottleBucket.bucket == DatabaseStorage._bucket(key)))
        reset = (ends or clock.now()).timestamp()
        return TooManyRequests(retry_after=math.ceil(reset - clock.now().timestamp()), detail=detail)
