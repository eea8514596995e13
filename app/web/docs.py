"""The interactive API documentation at `/docs`: Swagger UI, served by this site.

Its files come from the `fastapi-offline` package (Swagger UI 5, which reads OpenAPI 3.1), mounted
at `/docs/assets`; the page starts it with a script file of ours (`static/docs.js`), never inline
script, under a CSP that allows exactly that (`app.logs.DOCS_CSP`). Nothing is fetched from
elsewhere: no CDN, no validator badge. ReDoc (`/redoc`) is not offered: it needs inline styles and
blob: workers, and `/openapi.json` serves any other viewer.
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
