"""Throttling of logins and receipt redemption, shared by every server process via the database.

Counters live in their own table and are written in their own short transaction, so a failed
attempt is counted even though the request's own transaction rolls back. Bucket keys are keyed
hashes; a client's network address only ever contributes a 16-bit, daily re-keyed bucket number,
which cannot be turned back into an address.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import LargeBinary, case, delete, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from app import clock
from app.crypto.keyring import KeyRing
from app.db import Base, UTCDateTime
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
    def __init__(self, sessions: sessionmaker[Session], *, limit: int, window_seconds: int) -> None:
        self.sessions = sessions
        self.limit = limit
        self.window = timedelta(seconds=window_seconds)

    def check(self, buckets: list[bytes]) -> None:
        """Raise 429 with Retry-After if any bucket has used up its failures in this window."""
        now = clock.now()
        with self.sessions() as s:
            rows = s.scalars(select(ThrottleBucket).where(ThrottleBucket.bucket.in_(buckets))).all()
        waits = [
            (r.window_start + self.window - now).total_seconds()
            for r in rows
            if r.failures >= self.limit and r.window_start + self.window > now
        ]
        if waits:
            raise TooManyRequests(retry_after=int(max(waits)) + 1)

    def fail(self, buckets: list[bytes]) -> None:
        """Count one failure in each bucket, atomically (an upsert), in its own transaction."""
        now = clock.now()
        expired_before = now - self.window
        with self.sessions() as s, s.begin():
            dialect = s.get_bind().dialect.name
            ins_mod = postgresql if dialect == "postgresql" else sqlite
            for bucket in buckets:
                ins = ins_mod.insert(ThrottleBucket).values(bucket=bucket, window_start=now, failures=1)
                t = ThrottleBucket.__table__
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
        """Forget the failures of these buckets. Pass the request's session when it already holds
        a transaction: on SQLite (BEGIN IMMEDIATE) a second writer would wait for it forever."""
        if session is not None:
            session.execute(delete(ThrottleBucket).where(ThrottleBucket.bucket.in_(buckets)))
            return
        with self.sessions() as s, s.begin():
            s.execute(delete(ThrottleBucket).where(ThrottleBucket.bucket.in_(buckets)))
