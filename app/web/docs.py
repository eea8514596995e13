"""The interactive API documentation at `/docs`: Swagger UI from `fastapi-offline`, served here.

Started by our own script file under a strict CSP: nothing from a CDN. ReDoc is not offered (it
needs inline styles and blob: workers).
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from app.web.pages import templates

ASSETS_DIR = Path(fastapi_offline.__file__).parent / "static"
ASSETS_PATH = "/docs/assets"

router = APIRouter(include_in_schema=False)


@router.get("/docs", response_class=HTMLResponse)
def docs(request: Request) -> HTMLResponse:
    """Swagger UI over `/openapi.json`, with an Authorize button for either kind of bearer token."""
    return templates.TemplateResponse(request, "docs.html", {"assets": ASSETS_PATH, "openapi_url": "/openapi.json"})
