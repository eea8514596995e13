"""Attachments of a case: upload, list, download and withdraw (docs/attachments.md).

A file is cleaned outside the request's transaction, then sealed and stored in it; a refusal stores
nothing. Downloads are authenticated chunk by chunk, never rendered in place, always audited.
"""

from __future__ import annotations

import logging
import re
import uuid
from typing import Annotated

from fastapi import APIRouter, File, UploadFile
from fastapi.responses import Response

from app.api.paging import Paged
from app.attachments import service as attachments
from app.attachments.schemas import AttachmentCreated, AttachmentRead
from app.cases import access
from app.config import Settings
from app.db import end_reads
from app.enums import Sender, Status
from app.errors import Conflict
from app.http.cases import VisibleCase, WorkCase
from app.http.files import file_response
from app.http.reporter import CurrentReporterCase
from app.http.state import CurrentSettings, Keys, Sessions
from app.http.transactions import CommitInThreadRoute, DbSession
from app.http.users import CaseWorker

router = APIRouter(prefix="/api/v1", tags=["attachments"], route_class=CommitInThreadRoute)
log = logging.getLogger("safeshare.attachments")

# The transport ceiling of an upload route (SAFESHARE_ATTACHMENT_MAX_MB may be up to 100);
# app.limits applies the configured size, before the body is read when it is declared.
UPLOAD_CEILING = 101 * 1024 * 1024
API_UPLOADS = re.compile(r"^/api/v1/(reporter|cases/[^/]+)/attachments$")

UPLOAD_RESPONSES: dict[int | str, dict[str, object]] = {
    409: {"description": "The case is closed (a reporter) or erased."},
    413: {"description": "The file is over `SAFESHARE_ATTACHMENT_MAX_MB`, an image has more pixels than "
                         "`SAFESHARE_ATTACHMENT_MAX_MEGAPIXELS`, or the case would hold more than "
                         "`SAFESHARE_ATTACHMENT_CASE_TOTAL_MB`."},
    415: {"description": "Not a type we take (decided from the content): photos (JPEG, PNG, HEIC), PDF and plain "
                         "text. Word documents are refused: save them as PDF."},
    422: {"description": "No file, or one of an allowed type that cannot be cleaned (damaged, password-protected)."},
}
FILE_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {"description": "The stored (cleaned) bytes, as an attachment to save, never to render in place.",
          "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}},
    404: {"description": "No such file, one withdrawn, or one the caller may not open."},
}
FileField = Annotated[UploadFile, File(description="The file. Its type is decided from its content.")]


def upload_limit(settings: Settings) -> int:
    """Bytes an API upload may send: one file of the largest size, and the form's envelope."""
    return settings.attachment_max_bytes + 64 * 1024


# --- the reporter ---------------------------------------------------------------------------------


@router.post("/reporter/attachments", status_code=201, response_model=AttachmentCreated,
             max_body_size=UPLOAD_CEILING, responses=UPLOAD_RESPONSES)
def upload_reporter_attachment(
    file: FileField, case: CurrentReporterCase, session: DbSession, keys: Keys, settings: CurrentSettings,
) -> AttachmentCreated:
    """Attach a file to your case (`multipart/form-data`, field `file`). It belongs to the case at
    once; send it with a message by putting its `id` in the message's `attachment_ids`.

    Before it is stored it is cleaned: photos lose their location, camera, time taken and every
    other detail (and HEIC photos become JPEG); PDFs lose their author, properties, scripts, links
    and embedded files. `removed` says what was taken out. 409 once the case is closed."""
    if case.status is Status.CLOSED:
        raise Conflict("This case is closed, so files can no longer be sent. You can raise a new concern.")
    case_id = case.id
    end_reads(session)  # cleaning is slow: no transaction (nor SQLite's write lock) is held meanwhile
    prepared = attachments.prepare(file.file, filename=file.filename or "", size=file.size, settings=settings)
    try:
        case = attachments.reporter_case_locked(session, case_id)
        row = attachments.store(session, keys, settings, case=case, prepared=prepared, sender=Sender.REPORTER)
    finally:
        prepared.discard()
    return AttachmentCreated.of(row, prepared.filename)


@router.get("/reporter/attachments/{attachment_id}", response_class=Response, responses=FILE_RESPONSES)
def download_reporter_attachment(
    attachment_id: uuid.UUID, case: CurrentReporterCase, session: DbSession, keys: Keys, makers: Sessions,
    settings: CurrentSettings,
) -> Response:
    """One of your own files, or one the team sent you with a message (audited). 404 for anything else."""
    download = attachments.open_for_reporter(session, keys, case=case, attachment_id=attachment_id)
    return file_response(download, makers, settings)


@router.delete("/reporter/attachments/{attachment_id}", status_code=204,
               responses={404: {"description": "No such file of yours."},
                          409: {"description": "Someone has already opened the file."}})
def withdraw_reporter_attachment(
    attachment_id: uuid.UUID, case: CurrentReporterCase, session: DbSession, settings: CurrentSettings,
) -> Response:
    """Withdraw a file you sent by mistake, while nobody has opened it: its content is destroyed.
    409 once someone has opened it; 404 if it is not yours."""
    attachments.withdraw(session, settings, case=case, attachment_id=attachment_id, sender=Sender.REPORTER)
    return Response(status_code=204)


# --- staff ----------------------------------------------------------------------------------------


@router.post("/cases/{case_id}/attachments", status_code=201, response_model=AttachmentCreated,
             max_body_size=UPLOAD_CEILING, responses=UPLOAD_RESPONSES)
def upload_case_attachment(
    file: FileField, case: VisibleCase, user: CaseWorker, session: DbSession, keys: Keys, settings: CurrentSettings,
) -> AttachmentCreated:
    """Attach a file to the case (safeguarding, the assigned HR contact), cleaned as the reporter's
    are. Show it on a message to the reporter or on an internal note with `attachment_ids`; until
    then only staff who see the case see it. 409 once the case has been erased."""
    case_id = case.id
    end_reads(session)
    prepared = attachments.prepare(file.file, filename=file.filename or "", size=file.size, settings=settings)
    try:
        case = access.get_case(session, user, case_id, for_update=True)
        row = attachments.store(session, keys, settings, case=case, prepared=prepared, sender=Sender.STAFF, author=user)
    finally:
        prepared.discard()
    return AttachmentCreated.of(row, prepared.filename)


@router.get("/cases/{case_id}/attachments", response_model=list[AttachmentRead])
def list_case_attachments(
    case: VisibleCase, user: CaseWorker, session: DbSession, keys: Keys, paging: Paged
) -> list[AttachmentRead]:
    """The case's files, oldest first (withdrawn ones are not listed). Listing opens none of them."""
    return [AttachmentRead.of(v) for v in paging.window(attachments.for_staff(session, keys, user=user, case=case))]


@router.get("/cases/{case_id}/attachments/{attachment_id}", response_class=Response, responses=FILE_RESPONSES)
def download_case_attachment(
    attachment_id: uuid.UUID, case: VisibleCase, user: CaseWorker, session: DbSession, keys: Keys, makers: Sessions,
    settings: CurrentSettings,
) -> Response:
    """A file of the case, as stored after cleaning (audited `attachment.download`)."""
    download = attachments.open_for_staff(session, keys, user=user, case=case, attachment_id=attachment_id)
    return file_response(download, makers, settings)


@router.delete("/cases/{case_id}/attachments/{attachment_id}", status_code=204,
               responses={404: {"description": "No such file of yours on this case."},
                          409: {"description": "Someone else has already opened the file."}})
def withdraw_case_attachment(
    attachment_id: uuid.UUID, case: WorkCase, user: CaseWorker, session: DbSession, settings: CurrentSettings,
) -> Response:
    """Withdraw a file you attached by mistake, while nobody else has opened it. 404 for anyone else's file."""
    attachments.withdraw(session, settings, case=case, attachment_id=attachment_id, sender=Sender.STAFF, author=user)
    return Response(status_code=204)
