"""Throttling of logins and receipt redemption, shared by every server process via the database.

Counters live in their own table and are written in their own short transaction, so a failed
attempt is counted even though the request's own transaction rolls back. Bucket keys are keyed
hashes; a client's network address only ever contributes a 16-bit, daily re-keyed bucket number,
which cannot be turned back into an address.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import LargeBinary, case, delete, literal, select
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from app import clock, dialect
from app.crypto.keyring import KeyRing
from app.db import Base, UTCDateTime, separately, table_of
from app.errors import TooManyRequests


class ThrottleBucket(Base):
    __tablename__ = "throttle_buckets"

    bucket: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    window_start: Mapped[datetime]
    failures: Mapped[int] = mapped_column(default=0)


def client_bucket(ring: KeyRing, scope: str, client_host: str | None) -> bytes:
    """A coarse bucket for the client: 65,536 buckets, re-keyed daily; never the address itself."""
    day = clock.today().isoformat()
    digest = ring.lookup_hash(f"throttle-client:{day}", client_host or "unknown")
    return ring.lookup_hash("throttle", f"{scope}:client:{digest[:2].hex()}")


def key_bucket(ring: KeyRing, scope: str, value: str) -> bytes:
    return ring.lookup_hash("throttle", f"{scope}:key:{value}")


class Throttle:
    """Counts failures per bucket; `check` raises 429 once a bucket has used up its failures.

    On SQLite every transaction takes the write lock, so a request must not open a second
    transaction while its own is running: `check` and `succeed` take the request's session,
    and `fail` (which needs its own transaction, because the request's rolls back) must be
    called only after the request's session has ended its transaction (`app.db.end_reads`).
    """

    def __init__(self, sessions: sessionmaker[Session], *, limit: int, window_seconds: int) -> None:
        self.sessions = sessions
        self.limit = limit
        self.window = timedelta(seconds=window_seconds)

    def check(self, buckets: list[bytes], *, limits: list[int] | None = None, session: Session | None = None) -> None:
        """Raise 429 with Retry-After if any bucket has used up its failures in this window.

        `limits` gives each bucket its own limit (default: the throttle's limit for all).
        """
        now = clock.now()
        allowed = dict(zip(buckets, limits or [self.limit] * len(buckets), strict=True))
        if session is not None:
            rows = session.scalars(select(ThrottleBucket).where(ThrottleBucket.bucket.in_(buckets))).all()
        else:
            with self.sessions() as s:
                rows = s.scalars(select(ThrottleBucket).where(ThrottleBucket.bucket.in_(buckets))).all()
        waits = [
            (r.window_start + self.window - now).total_seconds()
            for r in rows
            if r.failures >= allowed.get(r.bucket, self.limit) and r.window_start + self.window > now
        ]
        if waits:
            raise TooManyRequests(retry_after=math.ceil(max(waits)))

    def fail(self, buckets: list[bytes]) -> None:
        """Count one failure in each bucket, atomically (an upsert), in its own transaction."""
        now = clock.now()
        expired_before = now - self.window
        with separately(self.sessions) as s:
            for bucket in buckets:
                ins = dialect.insert(s, ThrottleBucket).values(bucket=bucket, window_start=now, failures=1)
                t = table_of(ThrottleBucket)
                # A window that has run out starts again at 1; otherwise add one.
                restart = t.c.window_start < expired_before
                stmt = ins.on_conflict_do_update(
                    index_elements=["bucket"],
                    set_={
                        "failures": case((restart, 1), else_=t.c.failures + 1),
                        "window_start": case((restart, literal(now, UTCDateTime())), else_=t.c.window_start),
                    },
                )
                s.execute(stmt)
            s.execute(delete(ThrottleBucket).where(ThrottleBucket.window_start < expired_before - self.window))

    def succeed(self, buckets: list[bytes], *, session: Session | None = None) -> None:
        """Forget the failures of these buckets (in the caller's transaction when given one)."""
        stmt = delete(ThrottleBucket).where(ThrottleBucket.bucket.in_(buckets))
        if session is not None:
            session.execute(stmt)
            return
        with separately(self.sessions) as s:
            s.execute(stmt)
