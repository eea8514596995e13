"""One transaction per request: the session dependency, committed before the response is sent.

`get_session` gives each request one session; `CommitInThreadRoute` commits a sync endpoint's
session in the endpoint's own worker thread. Every router of the API and the pages uses both.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import Request
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One session and one transaction per request: commit on success, roll back on any error.

    Used with `Depends(..., scope="function")` so the commit happens before the response is
    sent: a client never hears 201 for something that was not stored. Creating a session does
    no I/O; commit, rollback and close run in the thread pool, never on the event loop.
    """
    makers = request.app.state.sessionmaker
    assert isinstance(makers, sessionmaker)
    session = makers()
    try:
        yield session
    except BaseException:
        await run_in_threadpool(_end, session, commit=False)
        raise
    if session.in_transaction():
        await run_in_threadpool(_end, session, commit=True)
    else:  # already committed in the endpoint's thread (CommitInThreadRoute): closing does no I/O
        session.close()


def _end(session: Session, *, commit: bool) -> None:
    """Commit (or roll back) and close, in one trip to the thread pool."""
    try:
        if commit:
            session.commit()
        else:
            session.rollback()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


# --- committing in the endpoint's own thread ------------------------------------------------------


class CommitInThreadRoute(APIRoute):
    """Commits a sync endpoint's session in the endpoint's own worker thread, as it returns.

    Without this the commit waits for a hop back to the event loop, the response's
    serialisation and another hop into the thread pool, and on SQLite the write lock is held
    all that time. `get_session` still rolls back on any error and closes the session; its own
    commit then finds nothing left to do. The session is found by its dependency (`DbSession`),
    whatever the parameter is called.
    """

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        name = _session_parameter(endpoint)
        if name is not None and not inspect.iscoroutinefunction(endpoint):
            endpoint = _committing(endpoint, name)
        super().__init__(path, endpoint, **kwargs)


def _session_parameter(endpoint: Callable[..., Any]) -> str | None:
    """The endpoint's parameter that receives the request's session (`Depends(get_session)`)."""
    hints = typing.get_type_hints(endpoint, include_extras=True)
    for name, param in inspect.signature(endpoint).parameters.items():
        metadata = list(getattr(hints.get(name), "__metadata__", ())) + [param.default]
        if any(getattr(m, "dependency", None) is get_session for m in metadata):
            return name
    return None


def _committing(endpoint: Callable[..., Any], session_param: str) -> Callable[..., Any]:
    @functools.wraps(endpoint)
    def call(*args: Any, **kwargs: Any) -> Any:
        result = endpoint(*args, **kwargs)
        kwargs[session_param].commit()
        return result

    return call
