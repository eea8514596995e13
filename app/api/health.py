"""`/readyz` for load balancers (docs/operations.md, "Health"): 503 unless the database answers a
real query, whatever the pages say.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from app.errors import ServiceUnavailable
from app.http.transactions import CommitInThreadRoute, DbSession

router = APIRouter(include_in_schema=False, route_class=CommitInThreadRoute)
log = logging.getLogger("safeshare.health")


@router.get("/readyz")
def readyz(session: DbSession) -> JSONResponse:
    """200 `{"status": "ready"}` when the database answers; 503 problem otherwise."""
    try:
        # The request's own read-only transaction, as every GET: no write lock is ever taken.
        session.execute(text("SELECT version_num FROM alembic_version")).first()
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready"; the type says why, never the text
        log.warning("not ready: the database does not answer", extra={"error_type": type(exc).__name__})
        raise ServiceUnavailable("The service is running but its database does not answer.", retry_after=5) from None
    return JSONResponse({"status": "ready"})
