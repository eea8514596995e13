"""A stored file, or a case's hand-off PDF, as a download: for the API and the pages alike."""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import chain
from urllib.parse import quote

from fastapi.responses import Response, StreamingResponse
from sqlalchemy.orm import Session, sessionmaker

from app.attachments import service as attachments
from app.config import Settings
from app.crypto.stream import StreamDecryptionError
from app.errors import integrity_log
from app.handoff import service as handoff

# Downloads: never rendered by the browser in our origin, nor allowed to run anything if they were.
SANDBOX_CSP = "default-src 'none'; sandbox; frame-ancestors 'none'"


def content_disposition(kind: str, filename: str) -> str:
    """RFC 6266: an ASCII fallback and the UTF-8 name."""
    fallback = re.sub(r'[^A-Za-z0-9._ -]', "_", filename) or "attachment"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def file_response(download: attachments.Download, makers: sessionmaker[Session], settings: Settings, *,
                  inline: bool = False) -> Response:
    """The file as a download (`inline` only for our own image preview). The first chunk is opened here,
    so an integrity failure is a 500 problem, not a cut-off download.
    """
    chunks = download.chunks(makers, settings.attachment_dir)
    first = next(chunks)  # StreamDecryptionError here: the app's integrity handler answers
    row = download.row

    def rest() -> Iterator[bytes]:
        try:
            yield from chain([first], chunks)
        except StreamDecryptionError as exc:
            # Headers are sent: the only honest thing left is to stop (the client sees a short body).
            integrity_log.error("integrity alert: stored data failed its integrity check",
                                extra={"alert": "integrity", "where": exc.where, "case_id": str(row.case_id)})
            return

    headers = {
        "Content-Disposition": content_disposition("inline" if inline else "attachment", download.filename),
        "Content-Length": str(row.size),
        "Content-Security-Policy": SANDBOX_CSP,
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",
    }
    return StreamingResponse(rest(), media_type=row.content_type, headers=headers)


def pdf_response(made: handoff.Export) -> Response:
    """The hand-off as a download, never cached (the case page's link answers the same)."""
    return Response(made.content, media_type="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{made.filename}"', "Cache-Control": "no-store"})
