"""Slow hashing off the event loop and out of the shared thread pool.

Password routes run in worker threads behind their own CapacityLimiter
(`SAFESHARE_SLOW_HASH_CONCURRENCY`): a burst of logins waits for a slot without filling the pool
every other request needs.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import anyio.to_thread
from anyio import CapacityLimiter

T = TypeVar("T")


def make_limiter(slots: int) -> CapacityLimiter:
    return CapacityLimiter(slots)


async def run_slow(limiter: CapacityLimiter, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run `fn(*args, **kwargs)` in a thread reserved for slow hashing."""
    return await anyio.to_thread.run_sync(functools.partial(fn, *args, **kwargs), limiter=limiter)
