"""Attachments: cleaned before anything is stored, sealed under the case's key, listed and read
by who may see them, withdrawn by their sender while nobody else has opened them.

Storing is two steps so that the slow one holds no transaction: `prepare` (no database: type
from content, cleaning, sealing into a temporary file of ciphertext) and `store` (in the
request's transaction: the per-case total, the row, the chunks, the audit entry).

Who sees a file: staff who may see the case see its files, a file on a note as that note is
seen; the reporter sees their own files and those the team attached to a message to them. A file
on a safeguarding-only note has its name and file key sealed under the case's safeguarding-only
key (`seal_note_files`), which no HR contact holds (issue 27).
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from app import clock, dialect
from app.attachments import clean, storage
from app.attachments.models import Attachment
from app.audit import service as audit
from app.audit.models import AuditEvent
from app.auth.models import User
from app.auth.service import actor
from app.cases.models import Case, Message, Note
from app.cases.service import notes_seen_by
from app.config import Settings
from app.crypto import fields, keys
from app.crypto.envelope import CaseCipher, NoCaseKey
from app.crypto.keyring import KeyRing
from app.crypto.stream import SealingWriter, new_file_key, open_chunks, stream_ad
from app.enums import Sender
from app.errors import Conflict, Invalid, NotFound

PER_MESSAGE = 5
DOWNLOAD = "attachment.download"


@dataclass
class Prepared:
    """A cleaned file, sealed under its own key into a temporary file of ciphertext; not stored yet."""

    id: uuid.UUID
    key: bytes
    sealed: IO[bytes]
    chunks: int
    size: int
    content_type: str
    filename: str
    removed: list[str] = field(default_factory=list)

    def discard(self) -> None:
        self.sealed.close()


@dataclass(frozen=True)
class AttachmentView:
    """A file as listed: who sent it, its name (decrypted) and where it is shown."""

    row: Attachment
    filename: str

    @property
    def id(self) -> uuid.UUID:
        return self.row.id


def too_large(settings: Settings, size: int | None, filename: str) -> clean.FileTooLarge | None:
    """The refusal for a file over `SAFESHARE_ATTACHMENT_MAX_MB`, or None."""
    if size is not None and size > settings.attachment_max_bytes:
        return clean.FileTooLarge(
            f"{clean.display_name(filename)} is {size / 1024 / 1024:.1f} MB; the most we take is "
            f"{settings.attachment_max_mb} MB a file."
        )
    return None


def prepare(upload: IO[bytes], *, filename: str, size: int | None, settings: Settings) -> Prepared:
    """Check the size, decide the type from the content, clean and seal (no database; slow).
    Raises the refusal (413, 415, 422): then nothing is kept."""
    refusal = too_large(settings, size, filename)
    if refusal is not None:
        raise refusal
    attachment_id = uuid.uuid4()
    key = new_file_key()
    sealed: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=1024 * 1024)  # ciphertext only
    writer = SealingWriter(key, stream_ad("attachments", "content", attachment_id), sealed.write)
    try:
        cleaned = clean.clean(upload, filename=filename, max_pixels=settings.attachment_max_megapixels * 1_000_000,
                              out=writer)
        writer.finish()
        if writer.size > 2 * settings.attachment_max_bytes:
            raise clean.FileTooLarge(f"{clean.display_name(filename)} is too large once cleaned.")
    except BaseException:
        sealed.close()
        raise
    return Prepared(attachment_id, key, sealed, writer.chunks, writer.size, cleaned.kind.content_type,
                    cleaned.filename, cleaned.removed)


def case_total(session: Session, case_id: uuid.UUID) -> int:
    return int(session.scalar(
        select(func.coalesce(func.sum(Attachment.size), 0)).where(
            Attachment.case_id == case_id, Attachment.withdrawn_at.is_(None))
    ) or 0)


def store(
    session: Session, ring: KeyRing, settings: Settings, *, case: Case, prepared: Prepared, sender: Sender,
    author: User | None = None,
) -> Attachment:
    """Store a prepared file on the case (the case locked by the caller). 413 past the per-case total."""
    if case.purged_at is not None:
        raise Conflict("This case has been erased after its retention date.")
    limit = settings.attachment_case_total_mb * 1024 * 1024
    held = case_total(session, case.id)
    if held + prepared.size > limit:
        raise clean.FileTooLarge(
            f"{clean.display_name(prepared.filename)} would take this case past the {settings.attachment_case_total_mb} MB "
            f"it can hold in files ({held / 1024 / 1024:.0f} MB are used). Ask the safeguarding team about other ways "
            "to send it."
        )
    cipher = keys.case_cipher(session, ring, case.id)
    row = Attachment(
        id=prepared.id, case_id=case.id, sender=sender, author_id=author.id if author else None,
        filename_ct=cipher.encrypt(fields.ATTACHMENT_FILENAME, prepared.id, prepared.filename),
        content_type=prepared.content_type, size=prepared.size, chunks=prepared.chunks, removed=prepared.removed,
        key_ct=cipher.encrypt_bytes(fields.ATTACHMENT_FILE_KEY, prepared.id, prepared.key),
        stored_in=storage.DATABASE,
    )
    session.add(row)
    session.flush()
    row.stored_in = storage.write(session, root=settings.attachment_dir, attachment_id=row.id, sealed=prepared.sealed)
    session.flush()
    audit.record(session, actor(author) if author else audit.REPORTER, "attachment.create", case_id=case.id,
                 target=str(row.id))
    return row


def attach(
    session: Session, *, case: Case, ids: list[uuid.UUID], sender: Sender, author: User | None,
    message: Message | None = None, note: Note | None = None,
) -> list[Attachment]:
    """Show these files in place on a message or a note: the sender's own files on this case,
    not yet shown anywhere and not withdrawn (422 otherwise), at most `PER_MESSAGE`."""
    ids = list(dict.fromkeys(ids))
    if not ids:
        return []
    if len(ids) > PER_MESSAGE:
        raise Invalid(f"At most {PER_MESSAGE} files can go with one message or note.", field="attachment_ids")
    query = select(Attachment).where(
        Attachment.id.in_(ids), Attachment.case_id == case.id, Attachment.sender == sender,
        Attachment.withdrawn_at.is_(None), Attachment.message_id.is_(None), Attachment.note_id.is_(None),
    )
    if author is not None:
        query = query.where(Attachment.author_id == author.id)
    rows = {r.id: r for r in session.scalars(query)}
    if len(rows) != len(ids):
        raise Invalid("Each attachment id must be a file you attached to this case that is not yet on a "
                      "message or note.", field="attachment_ids")
    for row in rows.values():
        row.message_id = message.id if message is not None else None
        row.note_id = note.id if note is not None else None
    session.flush()
    return [rows[i] for i in ids]


# --- reading ------------------------------------------------------------------------------------


def _reporter_may_see() -> object:
    return or_(Attachment.sender == Sender.REPORTER, Attachment.message_id.is_not(None))


def _listed(session: Session, ring: KeyRing, case: Case, query: object, *, include_withdrawn: bool) -> list[AttachmentView]:
    if case.purged_at is not None:
        return []
    q = select(Attachment).where(Attachment.case_id == case.id, query).order_by(Attachment.created_at, Attachment.id)  # type: ignore[arg-type]
    if not include_withdrawn:
        q = q.where(Attachment.withdrawn_at.is_(None))
    rows = session.scalars(q).all()
    if not rows:
        return []
    found = []
    for r in rows:
        try:
            cipher = _cipher(session, ring, r)
        except NoCaseKey:
            if not r.under_sg_key:
                raise
            continue  # a safeguarding-only note's file, and a reader not granted that key yet
        found.append(AttachmentView(r, cipher.decrypt(fields.ATTACHMENT_FILENAME, r.id, r.filename_ct)
                                    if r.filename_ct is not None else ""))
    return found


def _cipher(session: Session, ring: KeyRing, row: Attachment) -> CaseCipher:
    return keys.sg_cipher(session, ring, row.case_id) if row.under_sg_key else keys.case_cipher(session, ring,
                                                                                                 row.case_id)


def seal_note_files(session: Session, ring: KeyRing, *, case_id: uuid.UUID) -> int:
    """The files on the case's safeguarding-only notes sealed under its safeguarding-only key (a
    file is uploaded under the case key, then put on a note; older notes' files move with their
    notes). Call only where those notes are already under that key. Returns how many moved."""
    rows = session.scalars(select(Attachment).where(
        Attachment.case_id == case_id, Attachment.under_sg_key.is_(False),
        Attachment.note_id.in_(select(Note.id).where(Note.case_id == case_id, Note.under_sg_key.is_(True))))).all()
    if not rows:
        return 0
    main, sg = keys.case_cipher(session, ring, case_id), keys.sg_cipher(session, ring, case_id)
    for row in rows:
        if row.filename_ct is not None:
            row.filename_ct = sg.encrypt(fields.ATTACHMENT_FILENAME, row.id,
                                         main.decrypt(fields.ATTACHMENT_FILENAME, row.id, row.filename_ct))
        if row.key_ct is not None:
            row.key_ct = sg.encrypt_bytes(fields.ATTACHMENT_FILE_KEY, row.id,
                                          main.decrypt_bytes(fields.ATTACHMENT_FILE_KEY, row.id, row.key_ct))
        row.under_sg_key = True
    session.flush()
    return len(rows)


def for_staff(session: Session, ring: KeyRing, *, user: User, case: Case, include_withdrawn: bool = False
              ) -> list[AttachmentView]:
    """The case's files for a member of staff who may see the case (the case loaded through
    `app.cases.access`). A note's files follow the note: a safeguarding-only note's files are never an HR contact's."""
    return _listed(session, ring, case, and_(Attachment.case_id == case.id, _staff_may_see(user)),
                   include_withdrawn=include_withdrawn)


def _staff_may_see(user: User) -> ColumnElement[bool]:
    return or_(Attachment.note_id.is_(None), Attachment.note_id.in_(select(Note.id).where(notes_seen_by(user))))


def for_reporter(session: Session, ring: KeyRing, *, case: Case, include_withdrawn: bool = False) -> list[AttachmentView]:
    """The reporter's own files and those the team sent them on a message; never a note's."""
    return _listed(session, ring, case, _reporter_may_see(), include_withdrawn=include_withdrawn)


@dataclass(frozen=True)
class Download:
    """What a download needs once the request's transaction has ended: the row, the name and the key."""

    row: Attachment
    filename: str
    key: bytes

    def chunks(self, makers: sessionmaker[Session], root: Path | None) -> Iterator[bytes]:
        """The file's plaintext, one chunk at a time (each authenticated before it is sent)."""
        ad = stream_ad("attachments", "content", self.row.id)
        return open_chunks(self.key, ad, storage.read(makers, root, self.row), self.row.chunks)


def _open(session: Session, ring: KeyRing, *, case: Case, attachment_id: uuid.UUID, reporter: bool,
          user: User | None = None) -> Download:
    query = select(Attachment).where(Attachment.id == attachment_id, Attachment.case_id == case.id,
                                     Attachment.withdrawn_at.is_(None), Attachment.key_ct.is_not(None))
    if reporter:
        query = query.where(_reporter_may_see())  # type: ignore[arg-type]
    if user is not None:
        query = query.where(_staff_may_see(user))
    row = session.scalar(query) if case.purged_at is None else None
    if row is None or row.key_ct is None or row.filename_ct is None:
        raise NotFound("No such attachment.")
    cipher = _cipher(session, ring, row)
    return Download(row, cipher.decrypt(fields.ATTACHMENT_FILENAME, row.id, row.filename_ct),
                    cipher.decrypt_bytes(fields.ATTACHMENT_FILE_KEY, row.id, row.key_ct))


def open_for_staff(session: Session, ring: KeyRing, *, user: User, case: Case, attachment_id: uuid.UUID) -> Download:
    """A file of a case this user may see, for download or preview (audited `attachment.download`)."""
    download = _open(session, ring, case=case, attachment_id=attachment_id, reporter=False, user=user)
    audit.record(session, actor(user), DOWNLOAD, case_id=case.id, target=str(attachment_id))
    return download


def open_for_reporter(session: Session, ring: KeyRing, *, case: Case, attachment_id: uuid.UUID) -> Download:
    """One of the reporter's own files, or one the team sent them (audited `attachment.download`)."""
    download = _open(session, ring, case=case, attachment_id=attachment_id, reporter=True)
    audit.record(session, audit.REPORTER, DOWNLOAD, case_id=case.id, target=str(attachment_id))
    return download


def opened_by_others(session: Session, row: Attachment) -> bool:
    """Whether anyone but its sender has downloaded or previewed the file (from the audit trail)."""
    someone_else = AuditEvent.actor_id.is_not(None) if row.sender is Sender.REPORTER else or_(
        AuditEvent.actor_id.is_(None), AuditEvent.actor_id != row.author_id)
    return bool(session.scalar(select(exists().where(and_(
        AuditEvent.case_id == row.case_id, AuditEvent.action == DOWNLOAD, AuditEvent.target == str(row.id),
        someone_else)))))


def opened_ids(session: Session, rows: list[Attachment]) -> set[uuid.UUID]:
    """Which of these files someone other than their sender has opened."""
    return {r.id for r in rows if opened_by_others(session, r)}


# --- withdrawing and erasing --------------------------------------------------------------------


def withdraw(session: Session, settings: Settings, *, case: Case, attachment_id: uuid.UUID, sender: Sender,
             author: User | None = None) -> Attachment:
    """A file sent by mistake, taken back by its sender while nobody else has opened it: its key,
    name and content are destroyed; a message it was on says a file was withdrawn. 404 for a file
    that is not the caller's own; 409 once someone else has opened it."""
    query = select(Attachment).where(Attachment.id == attachment_id, Attachment.case_id == case.id,
                                     Attachment.sender == sender, Attachment.withdrawn_at.is_(None))
    if author is not None:
        query = query.where(Attachment.author_id == author.id)
    row = session.scalar(query)
    if row is None:
        raise NotFound("No such attachment of yours.")
    if opened_by_others(session, row):
        raise Conflict("This file has already been opened, so it can no longer be withdrawn. "
                       "Send a message to explain instead.")
    storage.drop(session, root=settings.attachment_dir, rows=[row])
    row.key_ct = None
    row.filename_ct = None
    row.removed = []
    row.withdrawn_at = clock.now()
    session.flush()
    audit.record(session, actor(author) if author else audit.REPORTER, "attachment.withdraw", case_id=case.id,
                 target=str(row.id))
    return row


def erase(session: Session, *, case_id: uuid.UUID, root: Path | None) -> int:
    """The attachments' part of erasing a case: every file's content, key and name go, and the rows
    with them (the files under `root`, SAFESHARE_ATTACHMENT_DIR, once the erasure commits)."""
    rows = list(session.scalars(select(Attachment).where(Attachment.case_id == case_id)))
    storage.drop(session, root=root, rows=rows)
    for row in rows:
        session.delete(row)
    session.flush()
    return len(rows)


def sweep(session: Session, settings: Settings) -> int:
    """Remove files under `SAFESHARE_ATTACHMENT_DIR` that no row names (see `storage.sweep`)."""
    return storage.sweep(session, settings.attachment_dir) if settings.attachment_dir is not None else 0


def reporter_case_locked(session: Session, case_id: uuid.UUID) -> Case:
    """The reporter's case again, locked, after the slow cleaning ran outside the transaction
    (404 if it was erased meanwhile)."""
    case = session.scalar(dialect.for_update(select(Case).where(Case.id == case_id, Case.purged_at.is_(None)),
                                             session, of=Case))
    if case is None:
        raise NotFound("No such case.")
    return case
