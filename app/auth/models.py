from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, LargeBinary, Select, String, UniqueConstraint, false, or_, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.permissions import Capability, may, roles_with
from app.db import Base, IdMixin, TimestampMixin
from app.enums import Role, db_enum


class User(IdMixin, TimestampMixin, Base):
    __tablename__ = "users"

    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    # Set by an administrator's reset: the one-time password works until `password_expires_at`
    # and must be changed before the account can do anything else.
    password_change_required: Mapped[bool] = mapped_column(default=False, server_default=false())
    password_expires_at: Mapped[datetime | None]
    # TOTP (RFC 6238): the shared secret, encrypted under a key from the key ring (never in
    # clear in the database); on once `totp_enabled_at` is set, pending set-up until then. The
    # last time step accepted, so that no code is accepted twice.
    totp_secret_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    totp_enabled_at: Mapped[datetime | None]
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    # When the account last stopped holding a case-reading role (safeguarding, hr): for 90 days
    # after, its password and two-factor resets still need a safeguarding user's confirmation.
    case_roles_ended_at: Mapped[datetime | None]
    # When the account's credentials were last known to be its owner's own: set by the owner's
    # enrolment link and by the shell (`create-user`, `set-password`); cleared when an
    # administrator made them (an account created with a password, an applied reset). A grant of
    # a case-reading role is confirmed only while it is set: else whoever holds the credentials
    # an administrator made would be the one reading cases.
    owner_verified_at: Mapped[datetime | None]
    role_rows: Mapped[list[UserRole]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", order_by="UserRole.role"
    )

    @property
    def roles(self) -> list[Role]:
        return [r.role for r in self.role_rows]

    @property
    def totp_enabled(self) -> bool:
        return self.totp_enabled_at is not None

    def has(self, *roles: Role) -> bool:
        return any(r.role in roles for r in self.role_rows)

    def may(self, capability: Capability) -> bool:
        """Whether one of the user's roles has this capability (`app.auth.permissions`)."""
        return may(self.roles, capability)

    def set_roles(self, roles: list[Role]) -> None:
        wanted = set(roles)
        self.role_rows = [r for r in self.role_rows if r.role in wanted]
        have = {r.role for r in self.role_rows}
        for role in sorted(wanted - have, key=lambda r: r.value):
            self.role_rows.append(UserRole(role=role))


class UserRole(Base):
    __tablename__ = "user_roles"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[Role] = mapped_column(db_enum(Role, "role"), primary_key=True)


class StaffSession(TimestampMixin, Base):
    """A staff login. Only a SHA-256 of the bearer token is kept; `id` names it to its owner."""

    __tablename__ = "staff_sessions"

    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(unique=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    last_seen_at: Mapped[datetime | None]
    # Issue 27: the person's private key for this session, sealed under a key derived from the token
    # (which the server never stores): the row alone opens nothing. And a new recovery key, sealed
    # the same way, until its owner has seen it once.
    person_key_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    recovery_key_ct: Mapped[bytes | None] = mapped_column(LargeBinary)


class RecoveryCode(IdMixin, TimestampMixin, Base):
    """A single-use code for two-factor sign-in without the authenticator: only a keyed hash."""

    __tablename__ = "recovery_codes"
    __table_args__ = (UniqueConstraint("user_id", "code_hash"),)

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    code_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    used_at: Mapped[datetime | None]


class TotpReset(IdMixin, TimestampMixin, Base):
    """An administrator's reset of someone's two-factor sign-in (a case reader's waits for a second person)."""

    __tablename__ = "totp_resets"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    requested_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    confirmed_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    applied_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]


class AccountApproval(IdMixin, TimestampMixin, Base):
    """A change that opens a path to case content, waiting for a second person: a role grant of
    `hr`/`safeguarding` or a password reset of a recent case reader. Lapses at `expires_at`.
    """

    __tablename__ = "account_approvals"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    roles: Mapped[str | None] = mapped_column(String(64))
    requested_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    expires_at: Mapped[datetime]
    confirmed_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    confirmed_at: Mapped[datetime | None]
    cancelled_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    cancelled_at: Mapped[datetime | None]


class DeviceRecord(IdMixin, TimestampMixin, Base):
    """A device cookie handed out at sign-in (a SHA-256 of its nonce); deleting the row revokes it."""

    __tablename__ = "device_cookies"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    nonce_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    last_used_at: Mapped[datetime | None]


class EnrolmentLink(IdMixin, TimestampMixin, Base):
    """A single-use link where a new account's owner chooses their password (a SHA-256 of its token)."""

    __tablename__ = "enrolment_links"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


def holders(capability: Capability) -> Select[uuid.UUID]:
    """The ids of the users whose roles have this capability (active or not), for `User.id.in_(...)`.
    The roles are compared one by one, not with IN: an IN list is rendered again on every run, and
    intake runs this on every report."""
    roles = sorted(roles_with(capability))
    return select(UserRole.user_id).where(or_(*(UserRole.role == role for role in roles)) if roles else false())
