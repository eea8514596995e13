"""The crypto layer's own tables: each case's data key, wrapped by a master key; the ring the
database belongs to."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base


class CaseKey(Base):
    """The case's data key, wrapped by a master key. Destroying it shreds the case."""

    __tablename__ = "case_keys"

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    kek_id: Mapped[str] = mapped_column(String(32), index=True)
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    destroyed_at: Mapped[datetime | None]
    # Issue 27: the key under a key derived from the case's receipt, which only the reporter holds
    # (app.crypto.people.wrap_to_receipt): their session opens the case with it.
    reporter_wrapped: Mapped[bytes | None] = mapped_column(LargeBinary)
    # Issue 27: the case's second key, for what only the safeguarding team reads (safeguarding-only
    # notes and their files), made at the first such note: wrapped only to safeguarding users
    # (`case_key_wraps.part` `safeguarding`), never to the HR contact nor the reporter.
    # `sg_created_at`: it exists; `sg_wrapped_key`: its master wrap, under the same master key as
    # `wrapped_key` and only while that one has its own (before `seal-cases`).
    sg_wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    sg_created_at: Mapped[datetime | None]


class RingIdentity(Base):
    """The id of the key ring this database belongs to (one row), recorded when `migrate` or
    `serve` first meet a ring: a ring with another id is refused at start-up."""

    __tablename__ = "key_ring_identity"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    ring_id: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime]


class PersonKey(Base):
    """A case-reading person's X25519 key pair (issue 27, app.crypto.people): the public key, and the
    private key only sealed, under a key derived from their password and under their recovery key.
    `certified_at`: an existing holder (or the bootstrap) vouched for it; intake wraps new cases to
    certified keys only, and only when `certification` (a MAC under a key derived from the ring,
    over the user's id and this public key) verifies: someone who can write to the database but has
    no ring cannot plant a key of their own and have new cases wrapped to it."""

    __tablename__ = "person_keys"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary(32))
    by_password: Mapped[bytes] = mapped_column(LargeBinary)
    password_kdf: Mapped[str] = mapped_column(String(128))
    by_recovery: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]
    certified_at: Mapped[datetime | None]
    certified_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    certification: Mapped[bytes | None] = mapped_column(LargeBinary(32))


class CaseKeyWrap(Base):
    """A case's data key wrapped to one person's public key. The person is named by a keyed blind
    index of their id (`holder`, app.crypto.holders), so the database alone does not say whose
    wrap is missing from a case (an excluded person's). `part`: `case` (the case's key) or
    `safeguarding` (its safeguarding-only key, wrapped to safeguarding users only)."""

    __tablename__ = "case_key_wraps"

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    holder: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True, index=True)
    part: Mapped[str] = mapped_column(String(16), primary_key=True, default="case", server_default="case")
    wrapped: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]


class CaseKeySeal(Base):
    """One row once `safeshare seal-cases` ran: no case key is wrapped by the ring's master key any
    more, and intake makes no master wrap."""

    __tablename__ = "case_key_seal"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    sealed_at: Mapped[datetime]
    sealed_by: Mapped[str] = mapped_column(String(320))


class DormantKey(Base):
    """A key pair set aside by a reset someone else made (issue 27): its public key and its private
    key sealed under the owner's recovery key only. Its case keys wait under a blind index of their
    own until the owner's recovery key moves them to the account's new key pair
    (`app.crypto.holders.restore`); nobody else can use them."""

    __tablename__ = "dormant_keys"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary(32))
    by_recovery: Mapped[bytes] = mapped_column(LargeBinary)
    certified_at: Mapped[datetime | None]
    set_aside_at: Mapped[datetime]


class EscrowKey(Base):
    """The escrow key's public half (one row while escrow is on; issue 27, docs/operations.md): every
    case key is also wrapped to it (a `case_key_wraps` row under `holders.escrow_index`). Its private
    key exists only as two shares two people keep offline (`safeshare escrow create`)."""

    __tablename__ = "escrow_key"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    public_key: Mapped[bytes] = mapped_column(LargeBinary(32))
    created_at: Mapped[datetime]
