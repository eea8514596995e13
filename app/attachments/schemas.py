"""Shapes of the attachment routes (contract section 7, "Attachments")."""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.attachments.models import Attachment
from app.attachments.service import AttachmentView
from app.schemas import FileRef, Timestamp


class AttachmentCreated(BaseModel):
    """A file just stored: what it is now, and what cleaning removed (to tell the person)."""

    id: uuid.UUID
    filename: str = Field(description="The name it is stored under: the extension is that of the stored type, and a "
                          "name that recorded when a photo was taken is replaced.")
    content_type: str = Field(description="Decided from the content (`image/jpeg`, `image/png`, `application/pdf`, "
                              "`text/plain; charset=utf-8`); HEIC photos are stored as JPEG.")
    size: int = Field(description="Bytes, as stored (after cleaning).")
    removed: list[str] = Field(description="What cleaning took out, in words to show the person (e.g. `location (GPS)`).")
    created_at: Timestamp

    @classmethod
    def of(cls, row: Attachment, filename: str) -> AttachmentCreated:
        return cls(id=row.id, filename=filename, content_type=row.content_type, size=row.size,
                   removed=list(row.removed or []), created_at=row.created_at)


class AttachmentRead(BaseModel):
    model_config = ConfigDict(serialize_by_alias=True)

    id: uuid.UUID
    filename: str
    content_type: str
    size: int
    created_at: Timestamp
    from_: Literal["reporter", "staff"] = Field(alias="from", description="Who attached it.")
    message_id: uuid.UUID | None = Field(description="The message it is shown on, if any.")
    note_id: uuid.UUID | None = Field(description="The internal note it is on, if any (never shown to the reporter).")

    @classmethod
    def of(cls, view: AttachmentView) -> AttachmentRead:
        row = view.row
        return cls.model_validate({
            "id": row.id, "filename": view.filename, "content_type": row.content_type, "size": row.size,
            "created_at": row.created_at, "from": row.sender.value, "message_id": row.message_id,
            "note_id": row.note_id,
        })


def ref(view: AttachmentView) -> FileRef:
    row = view.row
    return FileRef(id=row.id, filename=view.filename, content_type=row.content_type,
                   size=row.size if row.withdrawn_at is None else 0, withdrawn=row.withdrawn_at is not None)


def by_message(views: list[AttachmentView]) -> dict[uuid.UUID, list[FileRef]]:
    out: dict[uuid.UUID, list[FileRef]] = defaultdict(list)
    for view in views:
        if view.row.message_id is not None:
            out[view.row.message_id].append(ref(view))
    return out


def by_note(views: list[AttachmentView]) -> dict[uuid.UUID, list[FileRef]]:
    out: dict[uuid.UUID, list[FileRef]] = defaultdict(list)
    for view in views:
        if view.row.note_id is not None:
            out[view.row.note_id].append(ref(view))
    return out

