"""The attachments package's tables: each file's row and, when kept in the database, its sealed chunks."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, LargeBinary, String, false
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, IdMixin, TimestampMixin
from app.enums import Sender, db_enum


class Attachment(IdMixin, TimestampMixin, Base):
    """A file of a case, as stored: cleaned, then sealed in chunks (app.crypto.stream) under its own
    key (`key_ct`), itself sealed under the case's data key. The name is ciphertext too; withdrawing
    the file or erasing the case drops the key, the name and every chunk."""

    __tablename__ = "attachments"

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    sender: Mapped[Sender] = mapped_column(db_enum(Sender, "sender"))
    author_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    # Shown in place in the thread, or on an internal note (and seen by who may see that note).
    message_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"), index=True)
    note_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("notes.id", ondelete="SET NULL"), index=True)
    filename_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    chunks: Mapped[int] = mapped_column(Integer)
    # What cleaning took out, in the words shown to the person who attached it.
    removed: Mapped[list[str]] = mapped_column(JSON, default=list)
    key_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    # `database` (chunks below) or `directory` (one file under SAFESHARE_ATTACHMENT_DIR).
    stored_in: Mapped[str] = mapped_column(String(16))
    withdrawn_at: Mapped[datetime | None]
    # Issue 27: the name and file key are sealed under the case's safeguarding-only key (a file on
    # a safeguarding-only note), not the case key.
    under_sg_key: Mapped[bool] = mapped_column(default=False, server_default=false())


class AttachmentChunk(Base):
    """One sealed chunk of a file kept in the database."""

    __tablename__ = "attachment_chunks"

    attachment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("attachments.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    data: Mapped[bytes] = mapped_column(LargeBinary)
