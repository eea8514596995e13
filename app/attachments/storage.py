"""Where sealed files live: `attachment_chunks` (the default) or one file each under
`SAFESHARE_ATTACHMENT_DIR`; only ciphertext either way.

Directory files follow the request's transaction (removed on rollback, or once a withdrawal or
erasure commits); `sweep` removes any file no row names.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from sqlalchemy import delete, event, insert, select
from sqlalchemy.orm import Session, sessionmaker

from app.attachments.models import Attachment, AttachmentChunk
from app.crypto.stream import SEALED_CHUNK
from app.db import read_only_session, table_of

DATABASE = "database"
DIRECTORY = "directory"
_WRITTEN = "safeshare.attachments.written"
_UNLINK = "safeshare.attachments.unlink"
# Chunks inserted per statement: a few MB at a time, whatever the file's size.
_BATCH = 8
# Chunks read per query of a download: 1 MB, and a quarter of the round trips.
_READ_AHEAD = 4


def path_of(root: Path, attachment_id: uuid.UUID) -> Path:
    name = attachment_id.hex
    return root / name[:2] / name


def write(session: Session, *, root: Path | None, attachment_id: uuid.UUID, sealed: IO[bytes]) -> str:
    """Store the sealed chunks read from `sealed`; returns where (`database` or `directory`)."""
    sealed.seek(0)
    if root is None:
        table = table_of(AttachmentChunk)
        seq = 0
        while True:
            rows = []
            for _ in range(_BATCH):
                block = sealed.read(SEALED_CHUNK)
                if not block:
                    break
                rows.append({"attachment_id": attachment_id, "seq": seq, "data": block})
                seq += 1
            if not rows:
                return DATABASE
            session.execute(insert(table), rows)
    target = path_of(root, attachment_id)
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, partial = tempfile.mkstemp(dir=target.parent, prefix=".part-")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as fh:
            while block := sealed.read(1024 * 1024):
                fh.write(block)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(partial, target)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
    session.info.setdefault(_WRITTEN, []).append(target)
    return DIRECTORY


def read(makers: sessionmaker[Session], root: Path | None, row: Attachment) -> Iterator[bytes]:
    """The sealed chunks of a file, each read in a short transaction of its own, so a download holds
    no transaction while the client reads.
    """
    if row.stored_in == DIRECTORY:
        if root is None:
            raise FileNotFoundError("SAFESHARE_ATTACHMENT_DIR is not set but this file is kept there")
        with open(path_of(root, row.id), "rb") as fh:
            while block := fh.read(SEALED_CHUNK):
                yield block
        return
    for first in range(0, row.chunks, _READ_AHEAD):
        with read_only_session(makers) as session:
            blocks = session.scalars(
                select(AttachmentChunk.data)
                .where(AttachmentChunk.attachment_id == row.id, AttachmentChunk.seq >= first,
                       AttachmentChunk.seq < first + _READ_AHEAD)
                .order_by(AttachmentChunk.seq)
            ).all()
            session.rollback()
        yield from blocks
        if len(blocks) < min(_READ_AHEAD, row.chunks - first):
            return  # withdrawn or erased meanwhile: the stream ends short and fails to authenticate


def drop(session: Session, *, root: Path | None, rows: list[Attachment]) -> None:
    """Delete the sealed content of these files (their chunks now, their files once this commits)."""
    ids = [r.id for r in rows]
    if not ids:
        return
    session.execute(delete(AttachmentChunk).where(AttachmentChunk.attachment_id.in_(ids)))
    if root is not None:
        session.info.setdefault(_UNLINK, []).extend(path_of(root, r.id) for r in rows if r.stored_in == DIRECTORY)


def sweep(session: Session, root: Path, *, older_than: float = 3600.0) -> int:
    """Remove files under `root` that no row names (left by a crash), older than `older_than` seconds."""
    import time

    if not root.is_dir():
        return 0
    known = {i.hex for i in session.scalars(select(Attachment.id).where(Attachment.stored_in == DIRECTORY))}
    removed = 0
    cutoff = time.time() - older_than
    for path in root.glob("*/*"):
        name = path.name.removeprefix(".part-")
        if (name not in known or path.name.startswith(".part-")) and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            removed += 1
    return removed


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    session.info.pop(_WRITTEN, None)
    for path in session.info.pop(_UNLINK, []):
        Path(path).unlink(missing_ok=True)


@event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session: Session, previous: object) -> None:
    if session.in_transaction():
        return  # a savepoint: the outer transaction decides
    session.info.pop(_UNLINK, None)
    for path in session.info.pop(_WRITTEN, []):
        Path(path).unlink(missing_ok=True)
