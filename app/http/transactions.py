"""One transaction per request, committed before the response is sent.

On SQLite a writer holds the write lock, so commits and rollbacks happen in the worker thread that
did the work: waiting for a free pool thread while every thread waits for the lock would stall
everything (docs/operations.md, "Reads, writes and SQLite's lock").
"""

from __future__ import annotations

import functools
import inspect
import logging
import typing
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Annotated, Any

import anyio.to_thread
import fastapi.routing
from anyio import CapacityLimiter
from fastapi import Depends, Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from app import db, dialect, flows
from app.audit import service as audit
from app.auth import service as auth
from app.cases import access
from app.errors import IntegrityFailure, ServiceUnavailable

log = logging.getLogger("safeshare.db")

# Methods whose requests only read: their transactions are read-only (see app.db).
READ_METHODS = frozenset({"GET", "HEAD"})


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One session and one transaction per request: commit on success, roll back on any error.

    With `scope="function"` the commit precedes the response: no 201 for what was not stored. Busy or
    unreachable database: 503 with `Retry-After`.
    """
    makers = request.app.state.sessionmaker
    assert isinstance(makers, sessionmaker)
    session = db.read_only_session(makers) if request.method in READ_METHODS else makers()
    try:
        try:
            yield session
        except BaseException:
            if session.in_transaction():
                # Not rolled back where it failed (an async route, or a dependency that holds no
                # session of its own): in threads of their own, so the rollback never waits
                # behind requests that wait for the lock it is about to release.
                limiter = request.app.state.ending_limiter
                assert isinstance(limiter, CapacityLimiter)
                await anyio.to_thread.run_sync(functools.partial(_end, session, commit=False), limiter=limiter)
            raise
        if session.in_transaction():
            await run_in_threadpool(_end, session, commit=True)
    except Exception as exc:
        if isinstance(exc, IntegrityFailure):
            await run_in_threadpool(_record_integrity_failure, request, makers, exc)
        if isinstance(exc, access.CaseRefused):
            # A request that writes records it on its own session (its connection, on SQLite, is
            # the one that may write); a read-only one in a transaction of its own.
            await run_in_threadpool(record_refusal, makers, exc, None if db.is_read_only(session) else session)
        if dialect.is_unavailable(exc):
            log.warning("database unavailable", extra={"error_type": type(exc).__name__})
            raise ServiceUnavailable() from exc
        raise
    finally:
        session.close()  # no I/O: the transaction has ended, one way or the other


def record_refusal(makers: sessionmaker[Session], refused: access.CaseRefused, session: Session | None = None) -> None:
    """Audit a refused attempt on a case in a transaction of its own, after the request's rolled back."""
    if session is not None:
        audit.record(session, auth.actor(refused.user), "case.refused", case_id=refused.case_id, target=refused.how)
        flows.commit(session)
        return
    with db.separately(makers) as s:
        audit.record(s, auth.actor(refused.user), "case.refused", case_id=refused.case_id, target=refused.how)


def _end(session: Session, *, commit: bool) -> None:
    """Commit (or roll back) and close, in one trip to the thread pool."""
    try:
        if commit:
            flows.commit(session)
        else:
            session.rollback()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def _record_integrity_failure(request: Request, makers: sessionmaker[Session], exc: IntegrityFailure) -> None:
    """Audit a read that met an integrity failure, in a transaction of its own."""
    viewer = getattr(request.state, "viewer", None)
    actor = audit.Actor(label=viewer.email, user_id=viewer.id) if viewer is not None else audit.REPORTER
    case_id = exc.case_id if isinstance(exc.case_id, uuid.UUID) else None
    try:
        with db.separately(makers) as session:
            audit.record(session, actor, "integrity.failure", case_id=case_id, target=exc.where)
    except Exception as failure:  # noqa: BLE001 - the alert is logged either way; this must not hide it
        log.error("could not audit an integrity failure", extra={"error_type": type(failure).__name__})


def make_ending_limiter() -> CapacityLimiter:
    """The threads that roll back a session that failed outside a sync route's own threads."""
    return CapacityLimiter(4)


# --- committing and rolling back in the thread that did the work -------------------------------------


class CommitInThreadRoute(APIRoute):
    """Commits a sync endpoint's session in its own worker thread as it returns, and rolls back in
    the thread that raised (the endpoint's, or a sync dependency's).

    Otherwise the commit waits for two thread hops and serialisation, holding SQLite's write lock.
    """

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        name = _session_parameter(endpoint)
        if name is not None and not inspect.iscoroutinefunction(endpoint):
            endpoint = _committing(endpoint, name)
        super().__init__(path, endpoint, **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        # Called for the route itself and again for each router that includes it, with that
        # inclusion's dependant (its own dependencies added) in FastAPI's context variable.
        context = getattr(fastapi.routing, "_effective_route_context_var", None)
        effective = context.get() if context is not None else None
        if effective is not None and effective.original_route is self and effective.dependant is not None:
            _roll_back_in_thread(effective.dependant)
        _roll_back_in_thread(self.dependant)
        return super().get_route_handler()


def _session_parameter(call: Callable[..., Any]) -> str | None:
    """The parameter of a function that receives the request's session (`Depends(get_session)`)."""
    if not inspect.isfunction(call):
        return None
    hints = typing.get_type_hints(call, include_extras=True)
    for name, param in inspect.signature(call).parameters.items():
        metadata = list(getattr(hints.get(name), "__metadata__", ())) + [param.default]
        if any(getattr(m, "dependency", None) is get_session for m in metadata):
            return name
    return None


def _committing(endpoint: Callable[..., Any], session_param: str) -> Callable[..., Any]:
    @functools.wraps(endpoint)
    def call(*args: Any, **kwargs: Any) -> Any:
        session = kwargs[session_param]
        try:
            result = endpoint(*args, **kwargs)
            flows.commit(session)
        except BaseException:
            session.rollback()
            raise
        return result

    return call


# One wrapper per dependency function, shared by every route: FastAPI caches a dependency's
# result per request by the identity of its callable.
_ROLLING_BACK: dict[Callable[..., Any], Callable[..., Any]] = {}


def _roll_back_in_thread(dependant: Dependant) -> None:
    """Make each sync dependency that takes the session roll it back, in its own thread, if it raises."""
    for sub in dependant.dependencies:
        _roll_back_in_thread(sub)
        call = sub.call
        if call is None or call in _ROLLING_BACK.values() or inspect.iscoroutinefunction(call) \
                or inspect.isgeneratorfunction(call) or inspect.isasyncgenfunction(call):
            continue
        name = _session_parameter(call)
        if name is not None:
            sub.call = _ROLLING_BACK.setdefault(call, _rolling_back(call, name))


def _rolling_back(call: Callable[..., Any], session_param: str) -> Callable[..., Any]:
    @functools.wraps(call)
    def guarded(**kwargs: Any) -> Any:
        try:
            return call(**kwargs)
        except BaseException:
            kwargs[session_param].rollback()
            raise

    return guarded


DbSession = Annotated[Session, Depends(get_session, scope="function")]
"""The request's session: one transaction, committed before the response (`get_session`)."""
