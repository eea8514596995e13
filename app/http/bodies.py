"""Request bodies: the transport ceiling of the intake routes and `SAFESHARE_MAX_REPORT_BODY_BYTES`."""

from __future__ import annotations

from fastapi import Request

from app.config import Settings
from app.errors import AppError, raises
from app.http.state import settings_of

# --- request bodies -------------------------------------------------------------------------------

# The transport ceiling of the intake routes (a reporter's concern, a staff-recorded contact, the
# report form), above the app's 64 KiB: a 20,000-character description can be 120 KB of JSON
# once escaped, and ~240 KB form-encoded. `intake_body_limit` then applies
# SAFESHARE_MAX_REPORT_BODY_BYTES, which a module-level route cannot read because each app has
# its own settings.
INTAKE_CEILING = 1024 * 1024


class ContentTooLarge(AppError):
    status, title, slug = 413, "Content Too Large", "content-too-large"


def body_too_large(request: Request, settings: Settings) -> bool:
    """Whether the declared body is over `SAFESHARE_MAX_REPORT_BODY_BYTES`."""
    declared = request.headers.get("content-length", "")
    return declared.isdigit() and int(declared) > settings.max_report_body_bytes


@raises(ContentTooLarge)
async def intake_body_limit(request: Request) -> None:
    """Apply `SAFESHARE_MAX_REPORT_BODY_BYTES` to an intake route (413 problem above it). The settings
    are read here, not as a sub-dependency: FastAPI rebuilds each dependency's bookkeeping on every
    request, and this runs on the busiest route."""
    settings = settings_of(request)
    if body_too_large(request, settings) or len(await request.body()) > settings.max_report_body_bytes:
        raise ContentTooLarge("The request body is too large.")
