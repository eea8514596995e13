"""The crypto layer's own tables."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String, false
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
    # The case's lock (app.crypto.keys): a random secret wrapped by a master key while the case is
    # open and by its retention day's key once closed. Every wrap to a person, the escrow or the
    # receipt holds the case's keys masked by it, so once `purge` destroys that day no copy of the
    # database opens the case, whoever's private key comes with it. NULL: a case from before locks.
    lock_kek_id: Mapped[str | None] = mapped_column(String(32))
    lock_wrapped: Mapped[bytes | None] = mapped_column(LargeBinary)
    # A case given its lock later (`seal-cases`, app.crypto.keys.give_lock): its receipt wrap could
    # not be re-made (the server never holds the receipt), so it still holds the key itself until the
    # reporter's next visit re-makes it masked.
    reporter_unmasked: Mapped[bool] = mapped_column(server_default=false())  # no Python default: intake inserts by SELECT


class RingIdentity(Base):
    """The key ring this database belongs to: a ring with another id is refused at start-up."""

    __tablename__ = "key_ring_identity"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    ring_id: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime]


class PersonKey(Base):
    """A case-reading person's X25519 key pair, the private key only sealed (password, recovery key).

    Intake wraps new cases only to a certified key whose `certification` (a MAC under a ring key)
    verifies: a database writer without the ring cannot plant a key of their own.
    """

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
    """A case key (`part`) wrapped to one person, named by a keyed blind index of their id."""

    __tablename__ = "case_key_wraps"

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    holder: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True, index=True)
    part: Mapped[str] = mapped_column(String(16), primary_key=True, default="case", server_default="case")
    wrapped: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]


class CaseKeySeal(Base):
    """One row once `safeshare seal-cases` ran: no master wraps any more."""

    __tablename__ = "case_key_seal"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    sealed_at: Mapped[datetime]
    sealed_by: Mapped[str] = mapped_column(String(320))


class DormantKey(Base):
    """A key pair set aside by someone else's reset, sealed under the owner's recovery key only."""

    __tablename__ = "dormant_keys"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary(32))
    by_recovery: Mapped[bytes] = mapped_column(LargeBinary)
    certified_at: Mapped[datetime | None]
    set_aside_at: Mapped[datetime]


class EscrowKey(Base):
    """The escrow key's public half (one row while escrow is on); its private key exists only as shares."""

    __tablename__ = "escrow_key"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    public_key: Mapped[bytes] = mapped_column(LargeBinary(32))
    created_at: Mapped[datetime]
