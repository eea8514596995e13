"""Request and response shapes of staff accounts and sign-in."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, EmailStr, Field

from app.auth import totp
from app.auth.models import AccountApproval, StaffSession, TotpReset, User
from app.auth.passwords import weakness
from app.config import Settings
from app.enums import Role
from app.schemas import MAX_EMAIL, MAX_PASSWORD, MIN_PASSWORD, Name, StrictModel, Timestamp


def _code_shaped(value: str) -> str:
    if not totp.is_code_shaped(value):
        raise ValueError("Enter the 6-digit code from your authenticator app, or a recovery code "
                         "(16 letters and digits, in four groups of four).")
    return value


def _hard_to_guess(value: str) -> str:
    problem = weakness(value)
    if problem is not None:
        raise ValueError(problem)
    return value


Code = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_code_shaped)]
"""A current 6-digit TOTP code or a recovery code; anything else is a 422."""

NewPassword = Annotated[str, Field(min_length=MIN_PASSWORD, max_length=MAX_PASSWORD), AfterValidator(_hard_to_guess)]
"""At least 12 characters and not one of the common passwords shipped with Safe Share (NIST
SP 800-63B: length and a blocklist, no rules about kinds of characters)."""

CurrentPassword = Annotated[str, Field(min_length=1, max_length=MAX_PASSWORD)]


class LoginIn(StrictModel):
    email: Annotated[str, Field(min_length=1, max_length=MAX_EMAIL)]
    password: CurrentPassword
    totp: Code | None = Field(default=None, description="For an account with two-factor sign-in: the current "
                              "6-digit code, or an unused recovery code.")


class UserRead(BaseModel):
    id: uuid.UUID
    email: str
    name: str
    roles: list[Role]
    active: bool
    created_at: Timestamp
    totp_enabled: bool = Field(description="Whether the account has two-factor sign-in on.")
    pending_roles: list[Role] = Field(default_factory=list, description="Roles granted by an administrator that "
                                      "wait for a safeguarding user's confirmation (`role-grant/confirm`); not in "
                                      "effect yet.")

    @classmethod
    def of(cls, user: User, pending: list[Role] | None = None) -> UserRead:
        return cls(
            id=user.id, email=user.email, name=user.name, roles=sorted(user.roles, key=lambda r: r.value),
            active=user.active, created_at=user.created_at, totp_enabled=user.totp_enabled, pending_roles=pending or [],
        )


class Restrictions(BaseModel):
    totp_setup_required: bool = Field(description="The account's roles require two-factor sign-in and it is not "
                                      "set up yet: until it is, the token may only set it up, read /auth/me and log out.")
    password_change_required: bool = Field(description="The account has a one-time password: until it is changed, "
                                           "the token may only change it, read /auth/me and log out.")

    @staticmethod
    def flags(user: User, settings: Settings) -> dict[str, bool]:
        must_set_up = not user.totp_enabled and any(r.value in settings.roles_requiring_2fa for r in user.roles)
        return {"totp_setup_required": must_set_up, "password_change_required": user.password_change_required}


class MeOut(UserRead, Restrictions):
    @classmethod
    def of_user(cls, user: User, settings: Settings, pending: list[Role] | None = None) -> MeOut:
        return cls(**UserRead.of(user, pending).model_dump(), **Restrictions.flags(user, settings))


class LoginOut(Restrictions):
    token: str
    expires_at: Timestamp
    user: UserRead
    recovery_key: str | None = Field(default=None, description=(
        "Only when this sign-in made the account's key pair (issue 27): its recovery key, shown this once. Keep it "
        "safe: with it alone the account's owner gets their access to cases back after a forgotten password."))

    @classmethod
    def of(cls, user: User, token: str, expires_at: datetime, settings: Settings,
           recovery_key: str | None = None) -> LoginOut:
        return cls(token=token, expires_at=expires_at, user=UserRead.of(user), recovery_key=recovery_key,
                   **Restrictions.flags(user, settings))


class RecoveryKeyOut(BaseModel):
    recovery_key: str = Field(description="Shown this once; the account's earlier recovery key no longer works.")


class RestoreIn(StrictModel):
    recovery_key: Annotated[str, Field(min_length=1, max_length=64, description="The recovery key shown when your "
                                       "earlier key pair was made (spaces, dashes and case do not matter).")]


class PasswordRecoverIn(StrictModel):
    email: Annotated[str, Field(min_length=1, max_length=MAX_EMAIL)]
    recovery_key: Annotated[str, Field(min_length=1, max_length=64, description="Your account's latest recovery key "
                                       "(spaces, dashes and capitals do not matter).")]
    totp: Code | None = Field(default=None, description="The current 6-digit code from your authenticator app, or an "
                              "unused recovery code: required, since only accounts with two-factor sign-in may do this.")
    new_password: NewPassword


class RestoreOut(BaseModel):
    cases: int = Field(description="How many case keys came back to you.")


class KeyGrantIn(StrictModel):
    user_id: uuid.UUID = Field(description="An active safeguarding or HR account with a key pair.")


class KeyGrantOut(BaseModel):
    user_id: uuid.UUID
    cases: int = Field(description="How many case keys were wrapped to them now.")


class UserCreate(StrictModel):
    email: EmailStr
    name: Name
    roles: Annotated[list[Role], Field(min_length=1)]
    password: NewPassword | None = Field(
        default=None, description="Optional and one-time: the owner must change it at the first sign-in. Better "
        "left out: the owner gets a single-use enrolment link by e-mail and chooses their own.")


class CommandUserCreate(UserCreate):
    """`safeshare create-user`: the shell's own trust, the password required and kept."""

    password: NewPassword


class UserUpdate(StrictModel):
    roles: Annotated[list[Role], Field(min_length=1)] | None = None
    active: bool | None = None
    name: Name | None = None


REAUTH = "Your current password; may be left out within 5 minutes of signing in with it."


class PasswordChangeIn(StrictModel):
    current_password: CurrentPassword | None = Field(default=None, description=REAUTH)
    new_password: NewPassword


class ReauthIn(StrictModel):
    current_password: CurrentPassword | None = Field(default=None, description=REAUTH)


class TotpRemoveIn(StrictModel):
    code: Code
    current_password: CurrentPassword | None = Field(default=None, description=REAUTH)


class EnrolIn(StrictModel):
    token: Annotated[str, Field(min_length=1, max_length=128)]
    new_password: NewPassword


class RoleGrantPending(BaseModel):
    status: Literal["pending"] = "pending"
    pending_roles: list[Role]
    user: UserRead


class PasswordResetWaiting(BaseModel):
    status: Literal["awaiting_confirmation"] = "awaiting_confirmation"
    id: uuid.UUID
    user_id: uuid.UUID
    requested_at: Timestamp
    expires_at: Timestamp = Field(description="When the request lapses if nobody confirms it (7 days).")

    @classmethod
    def of(cls, row: AccountApproval) -> PasswordResetWaiting:
        return cls(id=row.id, user_id=row.user_id, requested_at=row.created_at, expires_at=row.expires_at)


class WaitingOut(BaseModel):
    kind: Literal["role_grant", "password_reset", "totp_reset"]
    user_id: uuid.UUID
    email: str
    pending_roles: list[Role]
    requested_by: uuid.UUID | None
    requested_at: Timestamp
    expires_at: Timestamp


class CodeIn(StrictModel):
    code: Code


class TotpSetupOut(BaseModel):
    secret: str = Field(description="Base 32; type it into the authenticator app if it cannot scan the QR code.")
    otpauth_uri: str


class RecoveryCodesOut(BaseModel):
    recovery_codes: list[str] = Field(description="Ten single-use codes, shown this once; only their hashes are kept.")


class SessionOut(BaseModel):
    id: uuid.UUID
    created_at: Timestamp
    last_seen_at: Timestamp | None = Field(description="The session's sign-in, or the last change made with it "
                                           "(to within a minute; reading does not update it).")
    current: bool

    @classmethod
    def of(cls, row: StaffSession, *, current_hash: bytes | None) -> SessionOut:
        return cls(id=row.id, created_at=row.created_at, last_seen_at=row.last_seen_at,
                   current=row.token_hash == current_hash)


class PasswordResetOut(BaseModel):
    one_time_password: str = Field(description="Give it to the account's owner by a trusted route; it works once, "
                                   "until `expires_at`, and must be changed at the next sign-in.")
    expires_at: Timestamp


class TotpResetOut(BaseModel):
    id: uuid.UUID
    user_id: uuid.UUID
    status: Literal["applied", "awaiting_confirmation"]
    requested_at: Timestamp
    requested_by: uuid.UUID | None
    confirmed_by: uuid.UUID | None
    applied_at: Timestamp | None

    @classmethod
    def of(cls, row: TotpReset) -> TotpResetOut:
        return cls(
            id=row.id, user_id=row.user_id, status="applied" if row.applied_at else "awaiting_confirmation",
            requested_at=row.created_at, requested_by=row.requested_by_id, confirmed_by=row.confirmed_by_id,
            applied_at=row.applied_at,
        )
