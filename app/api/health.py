"""`/readyz`: is this process ready to serve? For load balancers and container health checks.

Outside `/api/v1` and the OpenAPI document (it is the operators', not the clients'). 200 when the
database answers a real query (the migrated schema's version row), 503 with `Retry-After`
otherwise: a container whose database is down is not healthy, whatever its pages say.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.engine import Engine

from app.errors import ServiceUnavailable

router = APIRouter(include_in_schema=False)
log = logging.getLogger("safeshare.health")


@router.get("/readyz")
def readyz(request: Request) -> JSONResponse:
    """200 `{"status": "ready"}` when the database answers; 503 problem otherwise."""
    engine: Engine = request.app.state.engine
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT version_num FROM alembic_version")).first()
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready"; the type says why, never the text
        log.warning("not ready: the database does not answer", extra={"error_type": type(exc).__name__})
        raise ServiceUnavailable("The service is running but its database does not answer.", retry_after=5) from None
    return JSONResponse({"status": "ready"})
