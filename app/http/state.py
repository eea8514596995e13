"""What the application holds, as typed dependencies: nothing else reads `request.app.state`.

Plain attribute reads are `async def`: a sync dependency costs a trip through the thread pool.
"""

from __future__ import annotations

from typing import Annotated, TypeVar

from anyio import CapacityLimiter
from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker

from app.auth.passwords import Passwords
from app.config import Settings
from app.crypto.keyring import KeyRing
from app.throttle import RateLimit, Throttle

T = TypeVar("T")


def held(request: Request, name: str, kind: type[T]) -> T:
    """What the application holds under `name` (app.main sets it up), checked for its type."""
    value = getattr(request.app.state, name)
    assert isinstance(value, kind), name
    return value


def settings_of(request: Request) -> Settings:
    return held(request, "settings", Settings)


async def _settings(request: Request) -> Settings:
    return settings_of(request)


def keyring_of(request: Request) -> KeyRing:
    return held(request, "keyring", KeyRing)


async def _keyring(request: Request) -> KeyRing:
    return keyring_of(request)


def sessions_of(request: Request) -> sessionmaker[Session]:
    return held(request, "sessionmaker", sessionmaker)


async def _sessionmaker(request: Request) -> sessionmaker[Session]:
    return sessions_of(request)


async def _passwords(request: Request) -> Passwords:
    return held(request, "passwords", Passwords)


async def _slow_hash_limiter(request: Request) -> CapacityLimiter:
    return held(request, "slow_hash_limiter", CapacityLimiter)


async def _throttle(request: Request) -> Throttle:
    return held(request, "throttle", Throttle)


def report_rate_of(request: Request) -> RateLimit:
    return held(request, "report_rate", RateLimit)


async def _report_rate(request: Request) -> RateLimit:
    return report_rate_of(request)


CurrentSettings = Annotated[Settings, Depends(_settings)]
Keys = Annotated[KeyRing, Depends(_keyring)]
Sessions = Annotated[sessionmaker[Session], Depends(_sessionmaker)]
Hasher = Annotated[Passwords, Depends(_passwords)]
SlowHashLimiter = Annotated[CapacityLimiter, Depends(_slow_hash_limiter)]
# One table of back-off buckets serves sign-ins and receipts; the names say what a route uses it for.
LoginThrottle = Annotated[Throttle, Depends(_throttle)]
ReceiptThrottle = Annotated[Throttle, Depends(_throttle)]
ReportRate = Annotated[RateLimit, Depends(_report_rate)]
