"""Files chosen in a page's form, cleaned through the API's own service (a browser cannot keep a
chosen file across pages, so the names to choose again come back).
"""

from __future__ import annotations

from fastapi import UploadFile

from app.attachments import clean
from app.attachments import service as attachments
from app.attachments.models import Attachment
from app.config import Settings
from app.errors import AppError
from app.web.pages import FormErrors

FIELD = "attachments"
ACCEPT = "image/jpeg,image/png,image/heic,image/heif,.heic,.heif,application/pdf,text/plain,.txt"


def chosen(files: list[UploadFile] | None) -> list[UploadFile]:
    """The files actually chosen (a file box left empty still sends a part with no name)."""
    return [f for f in files or [] if f.filename]


def names(files: list[UploadFile]) -> list[str]:
    return [clean.display_name(f.filename or "") for f in files]


def prepare(files: list[UploadFile], settings: Settings, errors: FormErrors, *, field: str = FIELD
            ) -> tuple[list[attachments.Prepared], int]:
    """Clean every chosen file (slow: outside the transaction); on any refusal nothing is kept."""
    if len(files) > attachments.PER_MESSAGE:
        errors.add(field, f"Choose at most {attachments.PER_MESSAGE} files at a time. You chose {len(files)}.")
        return [], 422
    prepared: list[attachments.Prepared] = []
    refusals: list[AppError] = []
    for upload in files:
        try:
            prepared.append(attachments.prepare(upload.file, filename=upload.filename or "", size=upload.size,
                                                settings=settings))
        except AppError as exc:
            refusals.append(exc)
    if refusals:
        discard(prepared)
        errors.add(field, " ".join(r.detail for r in refusals) + (
            " Nothing was sent: choose the files again." if len(files) > 1 else " Nothing was sent."))
        return [], refusals[0].status
    return prepared, 200


def discard(prepared: list[attachments.Prepared]) -> None:
    for p in prepared:
        p.discard()


def removed_summary(rows: list[Attachment], names_by_id: dict[object, str]) -> list[tuple[str, list[str]]]:
    """(file name, what was removed) for each file just stored: what the person is told."""
    return [(names_by_id.get(r.id, ""), list(r.removed or [])) for r in rows]


def human_size(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / 1024 / 1024:.1f} MB"
