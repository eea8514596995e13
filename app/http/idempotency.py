"""Idempotency-Key for the report routes (the header's key, or the form's hidden id)."""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, Form, Header, Request
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from app.db import separately
from app.errors import AppError, Conflict, Invalid, raises
from app.http.state import keyring_of, sessions_of
from app.reports import idempotency

log = logging.getLogger("safeshare.api")


class Idempotency:
    """The request's Idempotency-Key, if any: claimed before the work, released if the request fails."""

    def __init__(self, makers: sessionmaker[Session], key: idempotency.IdempotencyKey | None) -> None:
        self.sessions = makers
        self.key = key
        self.claimed = False
        self.abandoned = False

    def claim(self, data: Any, *, count: Callable[[Session], AppError | None] | None = None) -> dict[str, Any] | None:
        """None if this request should do the work; the stored response if it is a replay.

        `count` runs in the claim's own short transaction; its refusal is raised after that commits.
        """
        if self.key is None:
            return None
        refused = None
        with separately(self.sessions) as s:
            replay = idempotency.claim_in(s, self.key, fingerprint=self.key.fingerprint(data))
            if replay is None and count is not None:
                refused = count(s)
                if refused is not None:
                    idempotency.unclaim(s, self.key)
        if refused is not None:
            raise refused
        self.claimed = replay is None
        return replay

    def abandon(self) -> None:
        """Release the key once the transaction has ended, for a request that answers without the work."""
        self.abandoned = True


@asynccontextmanager
async def _guard(makers: sessionmaker[Session], key: idempotency.IdempotencyKey | None) -> AsyncIterator[Idempotency]:
    # async: no thread hop for the common case of no key; the clean-up's DB work goes to the pool.
    guard = Idempotency(makers, key)
    try:
        yield guard
    except BaseException:
        # Entered before the request's session, so this runs after its rollback: nothing of the
        # failed request remains, and the released key lets the client's retry start afresh.
        if guard.claimed and key is not None:
            await _release(guard.sessions, key)
        raise
    if guard.claimed and guard.abandoned and key is not None:
        await _release(guard.sessions, key)


async def _release(makers: sessionmaker[Session], key: idempotency.IdempotencyKey) -> None:
    try:
        await run_in_threadpool(idempotency.release, makers, key)
    except Exception as exc:  # noqa: BLE001 - the request's own answer stands
        # The database is out of reach (a restart): keep trying for a while after the answer has
        # gone, so the client's retry is not told "still running" for long.
        log.warning("could not release an Idempotency-Key", extra={"error_type": type(exc).__name__})
        _keep(asyncio.get_running_loop().create_task(_release_later(makers, key)))


@raises(AppError, Conflict, Invalid)  # AppError: a malformed header is a 400
async def _idempotency(
    request: Request,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            description="Optional; 16 to 255 visible ASCII characters (a random UUID is ideal). A retry with "
            "the same key and body gets the first answer again; another body is 422; a retry while the "
            "first is still running is 409. Kept for 24 hours.",
        ),
    ] = None,
) -> AsyncIterator[Idempotency]:
    # The ring and the sessions read here, not as sub-dependencies (see app.http.bodies.intake_body_limit).
    keys, makers = keyring_of(request), sessions_of(request)
    key = idempotency.IdempotencyKey.derive(keys, idempotency.parse_header(idempotency_key)) if idempotency_key else None
    async with _guard(makers, key) as guard:
        yield guard


# The report form's own key: a random id in a hidden field, made when the form is shown.
FORM_ID_FIELD = "form_id"
_FORM_ID = re.compile(r"[A-Za-z0-9_-]{43}")


def new_form_id() -> str:
    return secrets.token_urlsafe(32)


async def _form_idempotency(
    request: Request, form_id: Annotated[str, Form(alias=FORM_ID_FIELD)] = ""
) -> AsyncIterator[Idempotency]:
    keys, makers = keyring_of(request), sessions_of(request)
    # A form without a well-formed id goes without a key, and the route shows it back unsent.
    key = idempotency.IdempotencyKey.derive(keys, "report-form:" + form_id) if _FORM_ID.fullmatch(form_id) else None
    async with _guard(makers, key) as guard:
        yield guard


_RELEASING: set[asyncio.Task[None]] = set()


def _keep(task: asyncio.Task[None]) -> None:
    _RELEASING.add(task)
    task.add_done_callback(_RELEASING.discard)


async def _release_later(makers: sessionmaker[Session], key: idempotency.IdempotencyKey) -> None:
    """Release a claim once the database is back (retried for a minute; then it goes stale)."""
    for _ in range(60):
        await asyncio.sleep(1)
        try:
            await run_in_threadpool(idempotency.release, makers, key)
            return
        except Exception:  # noqa: BLE001, S112 - still out of reach; try again
            continue


IdempotencyGuard = Annotated[Idempotency, Depends(_idempotency, scope="function")]
FormIdempotencyGuard = Annotated[Idempotency, Depends(_form_idempotency, scope="function")]
