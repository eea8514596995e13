"""Staff users and sessions. Services flush, never commit; the request's session commits."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from app import clock, dialect
from app.audit import service as audit
from app.audit.service import Actor
from app.auth import devices, keys, notices, totp
from app.auth.models import (
    AccountApproval,
    EnrolmentLink,
    RecoveryCode,
    StaffSession,
    TotpReset,
    User,
    UserRole,
    holders,
)
from app.auth.passwords import Passwords, weakness
from app.auth.permissions import CASE_READING_ROLES, Capability, roles_with
from app.config import Settings
from app.crypto import holders as key_holders
from app.crypto import people
from app.crypto.keyring import KeyRing
from app.crypto.models import PersonKey
from app.db import separately
from app.enums import Role
from app.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized
from app.schemas import text_problem
from app.throttle import Attempt, Bucket, Throttle, client_bucket, key_bucket

STAFF_PREFIX = "sst_"


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def actor(user: User) -> Actor:
    return Actor(label=user.email, user_id=user.id)


def normalise_email(email: str) -> str:
    return email.strip().lower()


def user_for_token(
    session: Session, token: str, *, touch: bool = False, idle: timedelta | None = None,
    touch_apart: sessionmaker[Session] | None = None,
) -> User | None:
    """The active user behind a live staff token (reporter tokens never match).

    Use refreshes `last_seen_at` at most once a minute, in a short transaction of its own unless
    the request writes anyway: a read's transaction never writes (SQLite's write lock).
    """
    if not token.startswith(STAFF_PREFIX):
        return None
    now = clock.now()
    row = session.scalar(
        select(StaffSession).where(
            StaffSession.token_hash == token_hash(token),
            StaffSession.revoked_at.is_(None),
            StaffSession.expires_at > now,
        )
    )
    if row is None:
        return None
    seen = row.last_seen_at or row.created_at
    if idle is not None and seen < now - idle:
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    keys.from_session(session, row, token)  # the request holds the person's private key (issue 27)
    if seen < now - LAST_SEEN_EVERY:
        refresh = update(StaffSession).where(StaffSession.token_hash == row.token_hash).values(last_seen_at=now)
        if touch:
            # A bulk UPDATE, not a change to the loaded row: `end_reads` still sees a read, and a
            # request that ends that way loses nothing but this refresh.
            session.execute(refresh.execution_options(synchronize_session=False))
        elif touch_apart is not None:
            with separately(touch_apart) as apart:
                apart.execute(refresh)
    return user


# --- signing in -------------------------------------------------------------------------------------

BAD_LOGIN = "The e-mail address or password is not right."
# A client's own bucket is shared by everyone behind one address (an office, a VPN): it allows more.
CLIENT_LIMIT_FACTOR = 4


class TotpRequired(Unauthorized):
    """The password was right; a current two-factor code (or an unused recovery code) is needed."""

    title, slug = "Two-factor code needed", "totp-required"

    def __init__(self, detail: str, *, pending: str | None = None) -> None:
        super().__init__(detail)
        self.pending = pending


@dataclass(frozen=True)
class SignedIn:
    user: User
    token: str
    expires_at: datetime
    device_cookie: devices.DeviceCookie
    recovery_key: str | None = None  # a new key pair's recovery key, shown this once (issue 27)


@dataclass(frozen=True)
class LoginBuckets:
    """Where a sign-in's failures count: a known device's own bucket, else the client's and the account's."""

    buckets: list[Bucket]
    device: str | None  # the nonce of the account's device cookie this client holds, if any

    @property
    def known_device(self) -> bool:
        return self.device is not None

    @property
    def keys(self) -> list[bytes]:
        return [b.key for b in self.buckets]


def login_buckets(session: Session, ring: KeyRing, settings: Settings, *, email: str, client_host: str | None,
                  cookies: dict[str, str]) -> LoginBuckets:
    nonce = devices.known_device(session, ring, email, cookies)
    if nonce is not None:
        return LoginBuckets([Bucket(key_bucket(ring, "login-device", nonce), settings.login_max_failures)], nonce)
    return LoginBuckets([
        Bucket(client_bucket(ring, "login", client_host), settings.login_max_failures * CLIENT_LIMIT_FACTOR),
        Bucket(key_bucket(ring, "login", email), settings.login_max_failures),
    ], None)


@dataclass(frozen=True)
class LoginStart:
    """A sign-in's reads before its slow hash (`stored` None for an unknown address: the check
    takes just as long).
    """

    where: LoginBuckets
    user_id: uuid.UUID | None
    stored: str | None = None
    key: keys.KeyAtRest | None = None  # the person's sealed private key (issue 27)
    needs_key: bool = False  # their roles call for a key pair
    # A one-time password (someone else's reset): no key pair is made with it; the owner's new
    # password makes it (`app.http.signin.change_password`).
    provisional: bool = False


@dataclass(frozen=True)
class CodeNeeded:
    """A right password for an account with two-factor sign-in: the code is asked for next."""

    pending: str


CODE_NEEDED = "Enter the code from your authenticator app, or a recovery code."


def login_start(
    session: Session, ring: KeyRing, settings: Settings, *, email: str, client_host: str | None,
    cookies: dict[str, str],
) -> LoginStart:
    """A sign-in's reads; the caller ends them before the password hash (`app.http.signin`)."""
    email = normalise_email(email)
    if text_problem(email, free_text=False) is not None:
        raise Unauthorized(BAD_LOGIN)  # no address holds control characters (and PostgreSQL refuses NUL)
    where = login_buckets(session, ring, settings, email=email, client_host=client_host, cookies=cookies)
    # One query: the account, its sealed private key and whether its roles call for one (issue 27).
    reads_cases = select(UserRole.user_id).where(UserRole.user_id == User.id,
                                                 UserRole.role.in_(roles_with(Capability.WORK_ON_CASES))).exists()
    row = session.execute(
        select(User.id, User.password_hash, User.password_change_required, PersonKey.public_key,
               PersonKey.by_password, PersonKey.password_kdf, reads_cases.label("needs"))
        .outerjoin(PersonKey, PersonKey.user_id == User.id).where(User.email == email)).first()
    if row is None:
        return LoginStart(where, None, None)
    key = keys.KeyAtRest(row.public_key, row.by_password, row.password_kdf) if row.public_key is not None else None
    return LoginStart(where, row.id, row.password_hash, key, bool(row.needs), bool(row.password_change_required))


def pending_start(
    session: Session, ring: KeyRing, settings: Settings, *, pending: str, client_host: str | None,
    cookies: dict[str, str],
) -> LoginStart:
    """The sign-in page's second step: the reads for a password checked a moment ago (`pending`)."""
    user_id = devices.pending_user_id(pending)
    user = session.get(User, user_id) if user_id is not None else None
    if user is None or not user.active or not devices.pending_is_valid(ring, pending, password_hash=user.password_hash):
        raise Unauthorized("Your sign-in took too long. Start again with your e-mail address and password.")
    where = login_buckets(session, ring, settings, email=user.email, client_host=client_host, cookies=cookies)
    return LoginStart(where, user.id)


def login_finish(
    session: Session, passwords: Passwords, throttle: Throttle, ring: KeyRing, settings: Settings, *,
    start: LoginStart, password: str | None, password_ok: bool, totp: str | None, tried: Attempt,
    unlocked: keys.Unlocked | None = None,
) -> SignedIn | CodeNeeded:
    """Open a staff session once the password was right (`password` None: the pending second step).
    The same 401 for a wrong password or an unknown e-mail.
    """
    if password is not None:
        user = session.get(User, start.user_id) if password_ok and start.user_id is not None else None
        if user is None or not user.active:
            raise Unauthorized(BAD_LOGIN)
        if user.password_expires_at is not None and user.password_expires_at <= clock.now():
            raise Unauthorized(BAD_LOGIN)
    else:
        user = session.get(User, start.user_id)
        assert user is not None
    where = start.where
    if user.totp_enabled:
        if totp is None:
            # A right password is not a failure: the caller gives the attempt back.
            return CodeNeeded(devices.new_pending_sign_in(ring, user.id, user.password_hash))
        if not accept_code(session, ring, user=user, code=totp):
            pending = devices.new_pending_sign_in(ring, user.id, user.password_hash)
            raise TotpRequired("That code is not right, or it has been used already. Try the next code.",
                               pending=pending)
    if password is not None and passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash(password)
    if where.known_device:
        throttle.clear(where.keys, session=session)  # the owner's own earlier typos are forgiven
    else:
        throttle.forgive(where.keys, session=session, attempt=tried)
    if unlocked is not None and unlocked.new is not None:
        keys.store_new(session, user=user, pair=unlocked.new)  # issue 27: the account's first key pair
    token, expires = start_session(session, user=user, minutes=settings.staff_token_minutes, unlocked=unlocked)
    _forget_lapsed(session, idle=timedelta(minutes=settings.staff_idle_minutes))
    recovery = unlocked.new.recovery_key if unlocked is not None and unlocked.new is not None else None
    return SignedIn(user, token, expires, devices.new_device_cookie(session, ring, user, shown=where.device), recovery)


def session_row(session: Session, token: str | None) -> StaffSession | None:
    return session.get(StaffSession, token_hash(token)) if token else None


def accept_code(session: Session, ring: KeyRing, *, user: User, code: str) -> bool:
    """Whether `code` is a current TOTP code or an unused recovery code, using it up.

    Conditional UPDATEs: no code works twice, nor an older TOTP step, even for two racing requests.
    """
    digits = totp.as_totp(code)
    if digits is not None and user.totp_secret_ct is not None:
        step = totp.matching_step(totp.open_secret(ring, user.id, user.totp_secret_ct), digits, clock.now())
        if step is None:
            return False
        used = session.execute(
            update(User)
            .where(User.id == user.id, or_(User.totp_last_step.is_(None), User.totp_last_step < step))
            .values(totp_last_step=step)
            .execution_options(synchronize_session=False)
        )
        if _rows(used) != 1:
            return False
        session.refresh(user, ["totp_last_step"])
        return True
    canonical = totp.as_recovery_code(code)
    if canonical is None:
        return False
    used = session.execute(
        update(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.code_hash.in_(totp.recovery_hashes(ring, user.id, canonical)),
               RecoveryCode.used_at.is_(None))
        .values(used_at=clock.now())
    )
    if _rows(used) != 1:
        return False
    audit.record(session, actor(user), "auth.recovery_code.used", target=str(user.id))
    return True


def _rows(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def start_session(session: Session, *, user: User, minutes: int, unlocked: keys.Unlocked | None = None
                  ) -> tuple[str, datetime]:
    """A new staff session; with `unlocked` it holds the person's private key, sealed under the token."""
    token = STAFF_PREFIX + secrets.token_urlsafe(32)
    expires = clock.now() + timedelta(minutes=minutes)
    row = StaffSession(token_hash=token_hash(token), user_id=user.id, expires_at=expires, last_seen_at=clock.now())
    if unlocked is not None:
        keys.seal_into(row, token=token, unlocked=unlocked)
        key_holders.hold(session, user.id, unlocked.private)
    session.add(row)
    audit.record(session, actor(user), "auth.login", target=str(user.id))
    session.flush()
    return token, expires


# Issue 27: an ended session's sealed private key (and recovery key) goes with it, so that a token
# kept after its end opens nothing; those of sessions that lapsed go at the next sign-in (`_forget_lapsed`).
_KEY_GONE: dict[str, None] = {"person_key_ct": None, "recovery_key_ct": None}


def _forget_lapsed(session: Session, *, idle: timedelta) -> None:
    now = clock.now()
    session.execute(
        update(StaffSession)
        .where(StaffSession.person_key_ct.is_not(None),
               or_(StaffSession.expires_at <= now, StaffSession.revoked_at.is_not(None),
                   func.coalesce(StaffSession.last_seen_at, StaffSession.created_at) < now - idle))
        .values(**_KEY_GONE)
        .execution_options(synchronize_session=False)
    )


def end_session(session: Session, *, user: User, token: str) -> None:
    session.execute(
        update(StaffSession)
        .where(StaffSession.token_hash == token_hash(token), StaffSession.revoked_at.is_(None))
        .values(revoked_at=clock.now(), **_KEY_GONE)
    )
    audit.record(session, actor(user), "auth.logout", target=str(user.id))


# --- what a signed-in user must do first ----------------------------------------------------------


def roles_require_totp(user: User, settings: Settings) -> bool:
    """Whether the user's roles require two-factor sign-in (`SAFESHARE_REQUIRE_2FA_ROLES`)."""
    return any(r.value in settings.roles_requiring_2fa for r in user.roles)


def totp_setup_required(user: User, settings: Settings) -> bool:
    """The user's roles require two-factor sign-in and it is not on yet."""
    return not user.totp_enabled and roles_require_totp(user, settings)


# --- sessions -----------------------------------------------------------------------------------------

# How stale `last_seen_at` may get before a request refreshes it: not a write on every request.
LAST_SEEN_EVERY = timedelta(minutes=1)


def live_sessions(session: Session, *, user: User) -> list[StaffSession]:
    """The user's sessions that still work, newest first."""
    return list(session.scalars(
        select(StaffSession)
        .where(StaffSession.user_id == user.id, StaffSession.revoked_at.is_(None), StaffSession.expires_at > clock.now())
        .order_by(StaffSession.created_at.desc())
    ))


def end_session_by_id(session: Session, *, user: User, session_id: uuid.UUID) -> None:
    """End one of the user's own sessions (404 for anyone else's, or one already ended)."""
    ended = session.execute(
        update(StaffSession)
        .where(StaffSession.id == session_id, StaffSession.user_id == user.id, StaffSession.revoked_at.is_(None),
               StaffSession.expires_at > clock.now())
        .values(revoked_at=clock.now(), **_KEY_GONE)
    )
    if _rows(ended) != 1:
        raise NotFound("No such session.")
    audit.record(session, actor(user), "auth.session.ended", target=str(user.id))


def _end_sessions(session: Session, *, user_id: uuid.UUID, keep: str | None = None, devices_too: bool = False) -> None:
    """End the account's sessions (but `keep`); with `devices_too`, revoke its device cookies too."""
    stmt = update(StaffSession).where(StaffSession.user_id == user_id, StaffSession.revoked_at.is_(None))
    if keep is not None:
        stmt = stmt.where(StaffSession.token_hash != token_hash(keep))
    session.execute(stmt.values(revoked_at=clock.now(), **_KEY_GONE))
    if devices_too:
        devices.forget_devices(session, user_id=user_id)


def end_all_sessions(session: Session, *, user: User, keep: str | None) -> None:
    """"Sign out everywhere": every other session ends and every device cookie is revoked."""
    _end_sessions(session, user_id=user.id, keep=keep, devices_too=True)
    audit.record(session, actor(user), "auth.sessions.ended_everywhere", target=str(user.id))


# --- re-authentication (password change, removing two-factor sign-in) -----------------------------


def reauth_bucket(ring: KeyRing, settings: Settings, user: User) -> Bucket:
    """Failures at re-authentication: a stolen session must not guess the password or a code without limit."""
    return Bucket(key_bucket(ring, "reauth", str(user.id)), settings.login_max_failures)


# A session this young was opened with the password just now: no need to ask for it again.
REAUTH_GRACE = timedelta(minutes=5)


def signed_in_recently(session: Session, *, token: str | None) -> bool:
    """Whether the session behind `token` signed in with the password less than 5 minutes ago."""
    if not token:
        return False
    started = session.scalar(select(StaffSession.created_at).where(StaffSession.token_hash == token_hash(token)))
    return started is not None and started > clock.now() - REAUTH_GRACE


@dataclass(frozen=True)
class Proof:
    """The current password to check before a change to the account's own sign-in, and its failure bucket."""

    bucket: Bucket
    stored: str
    password: str


WRONG_PASSWORD = "The current password is not right."


def proof_needed(session: Session, ring: KeyRing, settings: Settings, *, user: User, token: str | None,
                 current_password: str | None) -> Proof | None:
    """Re-authentication before a change to one's own sign-in: None within 5 minutes of a password
    sign-in, else the password to check (403 `wrong-password` when missing).
    """
    if signed_in_recently(session, token=token):
        return None
    if not current_password:
        raise Forbidden("Enter your current password to do this.", slug="wrong-password")
    return Proof(reauth_bucket(ring, settings, user), user.password_hash, current_password)


def password_change(session: Session, ring: KeyRing, settings: Settings, *, user: User, current_password: str | None,
                    new_password: str, keep_token: str | None) -> Proof | None:
    """Checks before a user changes their own password; returns the current password to check, if given."""
    problem = weakness(new_password, email=user.email)
    if problem is None and current_password is not None and new_password == current_password:
        problem = SAME_PASSWORD
    if problem is not None:
        raise Invalid(problem, field="new_password")
    if current_password is None:
        proof_needed(session, ring, settings, user=user, token=keep_token, current_password=None)
        return None
    return Proof(reauth_bucket(ring, settings, user), user.password_hash, current_password)


SAME_PASSWORD = "Choose a password different from the current one."


def set_own_password(session: Session, *, user_id: uuid.UUID, new_hash: str, keep_token: str | None,
                     sealed: people.Sealed | None = None, pair: key_holders.NewKeyPair | None = None) -> None:
    """The user's own new password: other sessions end, device cookies are revoked, and their private
    key is sealed again under it (the key pair and its case keys stay theirs).
    """
    user = _user(session, user_id)
    if sealed is not None:
        key_holders.reseal_password(session, user_id=user.id, sealed=sealed)
    row = session_row(session, keep_token)
    if pair is not None and row is not None and keep_token is not None:
        # The key pair made with the owner's own password, held by this session from now on; its
        # recovery key waits to be shown once.
        keys.keep(session, user=user, unlocked=keys.Unlocked(pair.private, pair), row=row, token=keep_token)
    _take_own_password(session, user=user, new_hash=new_hash, keep_token=keep_token)
    audit.record(session, actor(user), "auth.password.changed", target=str(user.id))


def _take_own_password(session: Session, *, user: User, new_hash: str, keep_token: str | None) -> None:
    """The owner's own password from now on: no change asked for, no expiry, every other session and
    every device cookie of the account gone."""
    user.password_hash = new_hash
    user.password_change_required = False
    user.password_expires_at = None
    _end_sessions(session, user_id=user.id, keep=keep_token, devices_too=True)


# --- a forgotten password: the owner's recovery key and second factor, nobody else (issue 27) ----------

NO_RECOVERY = ("That e-mail address and recovery key do not go together. Check both: spaces, dashes and capitals in "
               "the key do not matter, and only the latest recovery key of the account works. Without it, ask an "
               "administrator to reset your password.")
NO_SECOND_FACTOR = ("Your recovery key is right, but your account has no two-factor sign-in, and a recovery key alone "
                    "does not replace a password. Ask an administrator to reset your password; your recovery key then "
                    "brings your access to cases back.")
RECOVERY_CODE_NEEDED = "Enter the code from your authenticator app, or one of your recovery codes, as well."


class RecoveryRefused(Forbidden):
    """An unknown address, an account switched off or without a key pair, or a recovery key that does not
    open its private key: one answer for all of them, so nobody learns which addresses have accounts."""

    title, slug = "Recovery key not accepted", "recovery-refused"


class RecoveryNeedsSecondFactor(Forbidden):
    """The recovery key is right, but the account has no two-factor sign-in to go with it."""

    title, slug = "Ask an administrator", "recovery-needs-two-factor"


@dataclass(frozen=True)
class RecoveryStart:
    """A forgotten password's reads before anything is counted (`user_id` None: no such active account
    with a key pair; the recovery key is then tried against a decoy, taking as long)."""

    where: LoginBuckets
    user_id: uuid.UUID | None = None
    public: bytes | None = None
    by_recovery: bytes | None = None
    second_factor: bool = False


def recovery_start(
    session: Session, ring: KeyRing, settings: Settings, *, email: str, new_password: str, client_host: str | None,
    cookies: dict[str, str],
) -> RecoveryStart:
    """A forgotten password's checks and reads: the new password first, by the rule of every password
    change (`weakness`: a 422 that is the same for every address), then the account behind `email`
    with its key pair and whether it has two-factor sign-in. The caller ends the reads before the
    slow work (`app.http.recovery`)."""
    email = normalise_email(email)
    problem = weakness(new_password, email=email)
    if problem is not None:
        raise Invalid(problem, field="new_password")
    if text_problem(email, free_text=False) is not None:
        raise RecoveryRefused(NO_RECOVERY)  # no address holds control characters (and PostgreSQL refuses NUL)
    where = login_buckets(session, ring, settings, email=email, client_host=client_host, cookies=cookies)
    row = session.execute(
        select(User.id, User.totp_enabled_at, PersonKey.public_key, PersonKey.by_recovery)
        .join(PersonKey, PersonKey.user_id == User.id)
        .where(User.email == email, User.active.is_(True))).first()
    if row is None:
        return RecoveryStart(where)
    return RecoveryStart(where, row.id, row.public_key, row.by_recovery, row.totp_enabled_at is not None)


def recover_password(
    session: Session, throttle: Throttle, ring: KeyRing, *, start: RecoveryStart, totp: str | None, tried: Attempt,
    new_hash: str, sealed: people.Sealed, by_recovery: bytes,
) -> None:
    """A forgotten password replaced by its owner, without anyone else: the caller proved the recovery
    key (it opened the account's private key, `start`) and sealed that same key under the new password
    (`sealed`) and a new recovery key (`by_recovery`); here the second factor is checked and used up
    (401 `totp-required`, counted as a failure). The key pair and every case key it holds stay; the
    used recovery key opens nothing any more (a concurrent recovery or new recovery key that came
    first makes this one `recovery-refused`); every session and device cookie of the account ends. Audited (`auth.password.recovered`) and e-mailed to the owner, and for a
    case-reading account to the safeguarding users."""
    user = session.get(User, start.user_id) if start.user_id is not None else None
    if user is None or not user.active or start.public is None or start.by_recovery is None:
        raise RecoveryRefused(NO_RECOVERY)
    if not user.totp_enabled:
        raise RecoveryNeedsSecondFactor(NO_SECOND_FACTOR)
    if totp is None or not accept_code(session, ring, user=user, code=totp):
        raise TotpRequired("That code is not right, or it has been used already. Try the next code.")
    if not key_holders.recover(session, user_id=user.id, public=start.public, was=start.by_recovery, sealed=sealed,
                               by_recovery=by_recovery):
        raise RecoveryRefused(NO_RECOVERY)
    _take_own_password(session, user=user, new_hash=new_hash, keep_token=None)
    throttle.forgive(start.where.keys, session=session, attempt=tried)
    audit.record(session, actor(user), "auth.password.recovered", target=str(user.id))
    notices.record(session, notices.password_recovered(session, user=user))


def user_by_id(session: Session, user_id: uuid.UUID) -> User:
    """The account with this id (404 if there is none)."""
    return _user(session, user_id)


def _user(session: Session, user_id: uuid.UUID) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("No such user.")
    return user


# --- two-factor sign-in: the user's own -------------------------------------------------------------


@dataclass(frozen=True)
class TotpSetup:
    secret: str
    otpauth_uri: str


def start_totp_setup(session: Session, ring: KeyRing, *, user_id: uuid.UUID) -> TotpSetup:
    """A new authenticator secret, inactive until confirmed with a code from it."""
    user = _user(session, user_id)
    secret = totp.new_secret()
    user.totp_secret_ct = totp.seal_secret(ring, user.id, secret)
    user.totp_last_step = None
    audit.record(session, actor(user), "auth.totp.setup_started", target=str(user.id))
    return TotpSetup(secret, totp.provisioning_uri(secret, email=user.email))


def may_start_totp_setup(user: User) -> None:
    """409 while two-factor sign-in is on: a stolen session cannot swap in its own authenticator."""
    if user.totp_enabled:
        raise Conflict("Two-factor sign-in is already on. Remove it first to set up a new authenticator.")


def pending_totp_setup(ring: KeyRing, *, user: User) -> TotpSetup | None:
    """The set-up waiting for its first code, if any (for showing the QR code again)."""
    if user.totp_enabled or user.totp_secret_ct is None:
        return None
    secret = totp.open_secret(ring, user.id, user.totp_secret_ct)
    return TotpSetup(secret, totp.provisioning_uri(secret, email=user.email))


def confirm_totp(session: Session, ring: KeyRing, *, user: User, code: str) -> list[str]:
    """Turn two-factor sign-in on; returns the ten recovery codes, shown once (only keyed hashes are kept)."""
    setup = pending_totp_setup(ring, user=user)
    if setup is None:
        raise Conflict("There is no two-factor set-up waiting. Start the set-up first."
                       if not user.totp_enabled else "Two-factor sign-in is already on.")
    digits = totp.as_totp(code)
    step = totp.matching_step(setup.secret, digits, clock.now()) if digits is not None else None
    if step is None:
        raise Invalid("That code is not right. Enter the 6-digit code your app shows now.", field="code")
    user.totp_enabled_at = clock.now()
    user.totp_last_step = step  # this code is used up
    codes = _new_recovery_codes(session, ring, user=user)
    audit.record(session, actor(user), "auth.totp.enabled", target=str(user.id))
    return codes


def _new_recovery_codes(session: Session, ring: KeyRing, *, user: User) -> list[str]:
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = totp.new_recovery_codes()
    for code in codes:
        canonical = totp.as_recovery_code(code)
        assert canonical is not None
        session.add(RecoveryCode(user_id=user.id, code_hash=totp.recovery_hash(ring, user.id, canonical)))
    session.flush()
    return codes


def remaining_recovery_codes(session: Session, *, user: User) -> int:
    return int(session.scalar(
        select(func.count()).select_from(RecoveryCode).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    ) or 0)


def may_disable_totp(user: User, settings: Settings) -> None:
    """409 for a user whose roles require two-factor sign-in, or who has it off."""
    if roles_require_totp(user, settings):
        raise Conflict("Your role requires two-factor sign-in, so it cannot be turned off.")
    if not user.totp_enabled:
        raise Conflict("Two-factor sign-in is not on.")


def disable_totp(session: Session, throttle: Throttle, ring: KeyRing, *, user_id: uuid.UUID, code: str,
                 bucket: Bucket, tried: Attempt) -> None:
    """Turn one's own two-factor sign-in off, proven with a code (failures counted in `bucket`)."""
    user = _user(session, user_id)
    if not accept_code(session, ring, user=user, code=code):
        raise Forbidden("That code is not right, or it has been used already.", slug="wrong-code")
    _remove_totp(session, user=user)
    throttle.forgive([bucket.key], session=session, attempt=tried)
    audit.record(session, actor(user), "auth.totp.disabled", target=str(user.id))


def _remove_totp(session: Session, *, user: User) -> None:
    user.totp_secret_ct = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))


# --- an administrator's resets ------------------------------------------------------------------------

APPROVAL_DAYS = 7  # a request nobody confirmed lapses
RECENT_CASE_ROLES = timedelta(days=90)
ROLE_GRANT, PASSWORD_RESET = "role_grant", "password_reset"


def _one_time_password() -> str:
    # 80 random bits in four groups of four Crockford characters: easy to read out, never guessed.
    return "-".join(totp.new_recovery_codes()[0].split("-"))


def open_approval(session: Session, *, user_id: uuid.UUID, kind: str) -> AccountApproval | None:
    """The request of this kind waiting for a second person (not confirmed, cancelled or lapsed)."""
    return session.scalar(
        select(AccountApproval).where(
            AccountApproval.user_id == user_id, AccountApproval.kind == kind,
            AccountApproval.confirmed_at.is_(None), AccountApproval.cancelled_at.is_(None),
            AccountApproval.expires_at > clock.now(),
        ).order_by(AccountApproval.created_at.desc()).limit(1)
    )


def pending_roles(session: Session, *, user_id: uuid.UUID) -> list[Role]:
    row = open_approval(session, user_id=user_id, kind=ROLE_GRANT)
    return _roles_of(row)


def _roles_of(row: AccountApproval | None) -> list[Role]:
    return [Role(r) for r in row.roles.split(",") if r] if row is not None and row.roles else []


def read_cases_recently(session: Session, *, user: User) -> bool:
    """Whether the account reads cases, did in the last 90 days, or awaits such a grant: its resets need a second person."""
    if user.has(*CASE_READING_ROLES):
        return True
    ended = user.case_roles_ended_at
    if ended is not None and ended > clock.now() - RECENT_CASE_ROLES:
        return True
    return bool(pending_roles(session, user_id=user.id))


def _second_person(row_requested_by: uuid.UUID | None, *, user_id: uuid.UUID, by: User, what: str) -> None:
    if by.id in (row_requested_by, user_id):
        raise Forbidden(f"Another safeguarding user must confirm this {what}: not the person who asked for it, "
                        "and not the account's owner.")


def _new_approval(session: Session, *, user: User, kind: str, by: User, roles: list[Role] | None = None) -> AccountApproval:
    now = clock.now()
    row = AccountApproval(user_id=user.id, kind=kind, requested_by_id=by.id, created_at=now,
                          expires_at=now + timedelta(days=APPROVAL_DAYS),
                          roles=",".join(r.value for r in roles) if roles else None)
    session.add(row)
    session.flush()
    return row


@dataclass(frozen=True)
class PasswordReset:
    """An administrator's password reset: applied (the one-time password) or `waiting` for a safeguarding user."""

    one_time_password: str | None
    expires_at: datetime | None
    waiting: AccountApproval | None


def reset_password(
    session: Session, passwords: Passwords, settings: Settings, *, user_id: uuid.UUID, by: User,
) -> PasswordReset:
    """A one-time password for someone else's account; their sessions end, two-factor stays on.

    For an account that read cases in the last 90 days it waits for another safeguarding user.
    """
    if user_id == by.id:
        raise Forbidden("You cannot reset your own password. Change it on your account page.")
    user = _user(session, user_id)
    if read_cases_recently(session, user=user):
        row = open_approval(session, user_id=user.id, kind=PASSWORD_RESET)
        if row is None:
            row = _new_approval(session, user=user, kind=PASSWORD_RESET, by=by)
            _end_sessions(session, user_id=user.id)
            audit.record(session, actor(by), "user.password.reset_requested", target=str(user.id))
            notices.record(session, notices.password_reset_requested(session, user=user, by=by.email,
                                                                     days=APPROVAL_DAYS))
        return PasswordReset(None, None, row)
    one_time, expires = _apply_password_reset(session, passwords, settings, user=user, by=by)
    audit.record(session, actor(by), "user.password.reset", target=str(user.id))
    return PasswordReset(one_time, expires, None)


def _apply_password_reset(session: Session, passwords: Passwords, settings: Settings, *, user: User,
                          by: User) -> tuple[str, datetime]:
    one_time = _one_time_password()
    user.password_hash = passwords.hash(one_time)
    user.password_change_required = True
    user.owner_verified_at = None  # someone else now knows a password of the account
    expires = clock.now() + timedelta(hours=settings.one_time_password_hours)
    user.password_expires_at = expires
    _end_sessions(session, user_id=user.id, devices_too=True)
    # Issue 27: the next sign-in makes a fresh key pair, holding nothing; the old one waits for the
    # owner's recovery key.
    key_holders.set_aside(session, user_id=user.id)
    notices.record(session, notices.password_reset(session, user=user, by=by.email))
    return one_time, expires


def confirm_password_reset(
    session: Session, passwords: Passwords, settings: Settings, *, user_id: uuid.UUID, by: User,
) -> tuple[str, datetime]:
    """A safeguarding user (not the requester or owner) confirms a waiting password reset."""
    user = _user(session, user_id)
    row = open_approval(session, user_id=user.id, kind=PASSWORD_RESET)
    if row is None:
        raise Conflict("No password reset is waiting for this account.")
    _second_person(row.requested_by_id, user_id=user.id, by=by, what="password reset")
    row.confirmed_by_id, row.confirmed_at = by.id, clock.now()
    one_time, expires = _apply_password_reset(session, passwords, settings, user=user, by=by)
    audit.record(session, actor(by), "user.password.reset_confirmed", target=str(user.id))
    return one_time, expires


def open_totp_reset(session: Session, *, user_id: uuid.UUID) -> TotpReset | None:
    return session.scalar(
        select(TotpReset).where(TotpReset.user_id == user_id, TotpReset.applied_at.is_(None),
                                TotpReset.cancelled_at.is_(None),
                                TotpReset.created_at > clock.now() - timedelta(days=APPROVAL_DAYS))
        .order_by(TotpReset.created_at.desc()).limit(1)
    )


def request_totp_reset(session: Session, *, user_id: uuid.UUID, by: Actor, by_user: User | None) -> TotpReset:
    """Reset someone's two-factor sign-in.

    For an account that read cases in the last 90 days it waits for a safeguarding user other than
    the requester: no administrator takes over a case-reading account alone. The shell's
    break-glass (`by_user` None) acts at once and tells the safeguarding users.
    """
    if by_user is not None and user_id == by_user.id:
        raise Forbidden("You cannot reset your own two-factor sign-in. Remove it on your account page.")
    user = _user(session, user_id)
    if not user.totp_enabled and user.totp_secret_ct is None:
        raise Conflict("This account has no two-factor sign-in to reset.")
    needs_confirmation = by_user is not None and read_cases_recently(session, user=user)
    waiting = open_totp_reset(session, user_id=user.id)
    if waiting is not None and needs_confirmation:
        return waiting  # asked already: still waiting for its confirmation
    row = waiting or TotpReset(user_id=user.id, requested_by_id=by.user_id)
    session.add(row)
    _end_sessions(session, user_id=user.id)
    if needs_confirmation:
        audit.record(session, by, "user.totp.reset_requested", target=str(user.id))
    else:
        _remove_totp(session, user=user)
        devices.forget_devices(session, user_id=user.id)
        row.applied_at = clock.now()
        if by_user is not None:
            user.owner_verified_at = None  # whoever signs in next sets up the second factor
        audit.record(session, by, "user.totp.reset", target=str(user.id))
    session.flush()
    notices.record(session, notices.totp_reset(session, user=user, by=by.label, awaiting_confirmation=needs_confirmation,
                                               tell_safeguarding=needs_confirmation or by_user is None))
    return row


def waiting_totp_resets(session: Session) -> list[TotpReset]:
    """Two-factor resets that wait for a safeguarding user's confirmation, oldest first."""
    return list(session.scalars(
        select(TotpReset).where(TotpReset.applied_at.is_(None), TotpReset.cancelled_at.is_(None),
                                TotpReset.created_at > clock.now() - timedelta(days=APPROVAL_DAYS))
        .order_by(TotpReset.created_at)
    ))


def confirm_totp_reset(session: Session, *, user_id: uuid.UUID, by: User) -> TotpReset:
    """A safeguarding user (not the requester or owner) confirms a waiting two-factor reset."""
    user = _user(session, user_id)
    row = open_totp_reset(session, user_id=user.id)
    if row is None:
        raise Conflict("No two-factor reset is waiting for this account.")
    _second_person(row.requested_by_id, user_id=user.id, by=by, what="reset")
    _remove_totp(session, user=user)
    row.confirmed_by_id = by.id
    row.applied_at = clock.now()
    user.owner_verified_at = None
    _end_sessions(session, user_id=user.id, devices_too=True)
    audit.record(session, actor(by), "user.totp.reset_confirmed", target=str(user.id))
    notices.record(session, notices.totp_reset(session, user=user, by=by.email, awaiting_confirmation=False,
                                               tell_safeguarding=True))
    session.flush()
    return row


WHAT_WAITS = {ROLE_GRANT: "role grant", PASSWORD_RESET: "password reset", "totp_reset": "two-factor reset"}


def cancel_waiting(session: Session, *, user_id: uuid.UUID, kind: str, by: User) -> None:
    """Cancel a request that waits for a second person (administrator or safeguarding user)."""
    user = _user(session, user_id)
    now = clock.now()
    if kind == "totp_reset":
        reset = open_totp_reset(session, user_id=user.id)
        if reset is None:
            raise Conflict("No two-factor reset is waiting for this account.")
        reset.cancelled_at = now
    else:
        row = open_approval(session, user_id=user.id, kind=kind)
        if row is None:
            raise Conflict(f"No {WHAT_WAITS[kind]} is waiting for this account.")
        row.cancelled_at, row.cancelled_by_id = now, by.id
    audit.record(session, actor(by), f"user.{kind}.cancelled", target=str(user.id))
    session.flush()


@dataclass(frozen=True)
class Waiting:
    """A request that waits for a second person, as the console lists it."""

    kind: str
    user: User
    roles: list[Role]
    requested_by: str
    requested_by_id: uuid.UUID | None
    requested_at: datetime
    expires_at: datetime


def waiting_for_a_second_person(session: Session) -> list[Waiting]:
    """Every role grant, password reset and two-factor reset waiting for confirmation, oldest first."""
    now = clock.now()
    emails: dict[uuid.UUID, str] = {row.id: row.email for row in session.execute(select(User.id, User.email))}
    found = [
        Waiting(row.kind, _user(session, row.user_id), _roles_of(row), emails.get(row.requested_by_id, "the system")
                if row.requested_by_id else "the system", row.requested_by_id, row.created_at, row.expires_at)
        for row in session.scalars(select(AccountApproval).where(
            AccountApproval.confirmed_at.is_(None), AccountApproval.cancelled_at.is_(None),
            AccountApproval.expires_at > now))
    ]
    found += [
        Waiting("totp_reset", _user(session, row.user_id), [], emails.get(row.requested_by_id, "the system")
                if row.requested_by_id else "the system", row.requested_by_id, row.created_at,
                row.created_at + timedelta(days=APPROVAL_DAYS))
        for row in waiting_totp_resets(session)
    ]
    return sorted(found, key=lambda w: w.requested_at)


def active_safeguarding_users(session: Session) -> int:
    return int(session.scalar(
        select(func.count()).select_from(User)
        .where(User.active.is_(True), User.id.in_(holders(Capability.CONFIRM_APPROVALS)))
    ) or 0)


def set_password(session: Session, passwords: Passwords, *, email: str, password: str, by: Actor,
                 settings: Settings | None = None) -> tuple[User, str | None]:
    """Break-glass `safeshare set-password`: audited and told to the owner and safeguarding users.

    A case-working account gets a fresh key pair holding no case key: the operator reads nothing.
    """
    user = session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None:
        raise NotFound("No user with this e-mail address.")
    problem = weakness(password, email=user.email)
    if problem is not None:
        raise Invalid(problem, field="password")
    recovery = None
    key_holders.set_aside(session, user_id=user.id)  # only the owner's recovery key brings its case keys back
    if settings is not None and keys.needs_key_pair(user.roles):
        pair = key_holders.new_key_pair(user.id, password, keys.argon2_params(settings))
        key_holders.store_key_pair(session, user_id=user.id, pair=pair)
        recovery = pair.recovery_key
    user.password_hash = passwords.hash(password)
    user.password_change_required = False
    user.password_expires_at = None
    user.owner_verified_at = clock.now()  # the operator's own trust
    _end_sessions(session, user_id=user.id, devices_too=True)
    audit.record(session, by, "user.password.set", target=str(user.id))
    notices.record(session, notices.password_reset(session, user=user, by=by.label, tell_safeguarding=True,
                                                   one_time=False))
    return user, recovery


def user_by_email(session: Session, email: str) -> User:
    user = session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None:
        raise NotFound("No user with this e-mail address.")
    return user


# --- accounts -------------------------------------------------------------------------------------------


def roles_of(session: Session, user_ids: set[uuid.UUID]) -> dict[uuid.UUID, list[Role]]:
    found: dict[uuid.UUID, list[Role]] = {}
    if user_ids:
        for user_id, role in session.execute(select(UserRole.user_id, UserRole.role).where(UserRole.user_id.in_(user_ids))):
            found.setdefault(user_id, []).append(role)
    return found


def list_users(session: Session, *, role: Role | None = None, may: Capability | None = None) -> list[User]:
    """Every account, by name; only those holding `role`, or whose roles have the capability `may`."""
    q = select(User).order_by(User.name, User.email)
    if role is not None:
        q = q.where(User.id.in_(select(UserRole.user_id).where(UserRole.role == role)))
    if may is not None:
        q = q.where(User.id.in_(holders(may)))
    return list(session.scalars(q).all())


def create_user(
    session: Session,
    passwords: Passwords,
    *,
    email: str,
    name: str,
    roles: list[Role],
    password: str,
    by: Actor,
    pair: Any = None,
    user_id: uuid.UUID | None = None,
) -> User:
    """Create an account with these roles at once (the shell's `safeshare create-user`).

    The API and console go through `create_account`. `pair` is made beforehand: it is slow.
    """
    email = normalise_email(email)
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict("A user with this e-mail address already exists.")
    user = User(id=user_id or uuid.uuid4(), email=email, name=name, password_hash=passwords.hash(password),
                owner_verified_at=clock.now())
    user.set_roles(roles)
    session.add(user)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict("A user with this e-mail address already exists.") from None
    audit.record(session, by, "user.create", target=str(user.id))
    _granted(session, user=user, roles=set(user.roles), by=by)
    if pair is not None:
        keys.store_new(session, user=user, pair=pair)
    return user


ENROLMENT_HOURS = 72


def _new_enrolment_link(session: Session, settings: Settings, *, user: User) -> str:
    token = secrets.token_urlsafe(32)
    session.add(EnrolmentLink(user_id=user.id, token_hash=token_hash(token),
                              expires_at=clock.now() + timedelta(hours=ENROLMENT_HOURS)))
    session.flush()
    link = f"{settings.public_url.rstrip('/')}/enrol/{token}"
    notices.record(session, notices.enrolment(user=user, link=link, hours=ENROLMENT_HOURS))
    return token


def create_account(
    session: Session, passwords: Passwords, settings: Settings, *, email: str, name: str, roles: list[Role],
    password: str | None, by: User,
) -> tuple[User, list[Role]]:
    """An administrator creates an account: `hr` and `safeguarding` wait for a safeguarding user's
    confirmation; the owner chooses their password through a single-use enrolment link.
    """
    now_roles = [r for r in roles if r not in CASE_READING_ROLES]
    later = sorted({r for r in roles if r in CASE_READING_ROLES}, key=lambda r: r.value)
    user = create_user(session, passwords, email=email, name=name, roles=now_roles,
                       password=password if password is not None else secrets.token_urlsafe(32), by=actor(by))
    user.owner_verified_at = None  # until its owner follows the enrolment link
    if password is not None:
        user.password_change_required = True
        user.password_expires_at = clock.now() + timedelta(hours=ENROLMENT_HOURS)
    _new_enrolment_link(session, settings, user=user)
    if later:
        _ask_for_roles(session, settings, user=user, roles=later, by=by)
    return user, later


def _ask_for_roles(session: Session, settings: Settings | None, *, user: User, roles: list[Role], by: User
                   ) -> AccountApproval:
    earlier = open_approval(session, user_id=user.id, kind=ROLE_GRANT)
    if earlier is not None:
        earlier.cancelled_at, earlier.cancelled_by_id = clock.now(), by.id  # replaced by this one
    row = _new_approval(session, user=user, kind=ROLE_GRANT, by=by, roles=roles)
    for role in roles:
        audit.record(session, actor(by), f"user.role.grant_requested.{role.value}", target=str(user.id))
    notices.record(session, notices.role_grant_requested(session, user=user, roles=roles, by=by.email,
                                                         days=APPROVAL_DAYS))
    if user.owner_verified_at is None and settings is not None and not _has_live_link(session, user_id=user.id):
        _new_enrolment_link(session, settings, user=user)  # the owner proves it is them, from their mailbox
    return row


def _has_live_link(session: Session, *, user_id: uuid.UUID) -> bool:
    return session.scalar(select(EnrolmentLink.id).where(
        EnrolmentLink.user_id == user_id, EnrolmentLink.used_at.is_(None), EnrolmentLink.expires_at > clock.now())
        .limit(1)) is not None


def change_account(
    session: Session, *, user_id: uuid.UUID, roles: list[Role] | None, active: bool | None, name: str | None, by: User,
    settings: Settings | None = None,
) -> tuple[User, list[Role]]:
    """An administrator changes an account; a grant of `hr` or `safeguarding` waits for confirmation."""
    user = _user(session, user_id)
    later: list[Role] = []
    now_roles = roles
    if roles is not None:
        if by.id == user.id and set(roles) != set(user.roles):
            raise Forbidden("You cannot change your own roles or switch your own account on or off. "
                            "Ask another administrator.")
        have = set(user.roles)
        later = sorted({r for r in roles if r in CASE_READING_ROLES} - have, key=lambda r: r.value)
        now_roles = [r for r in roles if r not in later]
    user = update_user(session, user_id=user_id, roles=now_roles, active=active, name=name, by=actor(by))
    if roles is not None:
        if later:
            _ask_for_roles(session, settings, user=user, roles=later, by=by)
        else:
            earlier = open_approval(session, user_id=user.id, kind=ROLE_GRANT)
            if earlier is not None:  # the administrator asked for something else since
                earlier.cancelled_at, earlier.cancelled_by_id = clock.now(), by.id
    return user, later


def confirm_role_grant(session: Session, *, user_id: uuid.UUID, by: User) -> User:
    """A safeguarding user (not the requester or owner) confirms a waiting role grant."""
    user = _user(session, user_id)
    row = open_approval(session, user_id=user.id, kind=ROLE_GRANT)
    if row is None:
        raise Conflict("No role grant is waiting for this account.")
    _second_person(row.requested_by_id, user_id=user.id, by=by, what="grant")
    if user.owner_verified_at is None:
        raise Conflict("This account's password or two-factor sign-in was set by an administrator, and its owner has "
                       "not yet set their own through the link e-mailed to them. Confirm once they have.")
    row.confirmed_by_id, row.confirmed_at = by.id, clock.now()
    before = set(user.roles)
    user.set_roles(sorted(before | set(_roles_of(row)), key=lambda r: r.value))
    session.flush()
    audit.record(session, actor(by), "user.role.grant_confirmed", target=str(user.id))
    _granted(session, user=user, roles=set(user.roles) - before, by=actor(by))
    return user


def _granted(session: Session, *, user: User, roles: set[Role], by: Actor) -> None:
    """Tell the safeguarding users of every grant; a case-reading grant gets its own audit entry."""
    for role in sorted(roles, key=lambda r: r.value):
        if role in CASE_READING_ROLES:
            audit.record(session, by, f"user.role.granted.{role.value}", target=str(user.id))
        notices.record(session, notices.role_granted(session, user=user, role=role, by=by.label))


def _removed(session: Session, *, user: User, roles: set[Role], by: Actor) -> None:
    for role in sorted(roles, key=lambda r: r.value):
        if role in CASE_READING_ROLES:
            audit.record(session, by, f"user.role.removed.{role.value}", target=str(user.id))
        notices.record(session, notices.role_removed(session, user=user, role=role, by=by.label))
    if roles & set(CASE_READING_ROLES):
        user.case_roles_ended_at = clock.now()


ADMIN_CHANGES_LOCK = 7302152


def _active_admins(session: Session) -> int:
    return session.scalar(
        select(func.count())
        .select_from(User)
        .where(User.active.is_(True), User.id.in_(holders(Capability.ADMINISTER)))
    ) or 0


def update_user(
    session: Session,
    *,
    user_id: uuid.UUID,
    roles: list[Role] | None,
    active: bool | None,
    name: str | None,
    by: Actor,
) -> User:
    """Change an account at once (the API and console use `change_account`, which holds back grants)."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("No such user.")
    if by.user_id == user.id and (
        (roles is not None and set(roles) != set(user.roles)) or (active is not None and active != user.active)
    ):
        # Nobody grants themself access to cases, or switches their own account on or off.
        raise Forbidden("You cannot change your own roles or switch your own account on or off. Ask another administrator.")
    was_admin = user.active and user.may(Capability.ADMINISTER)
    was_reader = user.may(Capability.READ_EVERY_CASE)
    before = set(user.roles)
    if roles is not None:
        user.set_roles(roles)
    if active is not None:
        user.active = active
    if name is not None:
        user.name = name
    session.flush()
    demoted = was_admin and not (user.active and user.may(Capability.ADMINISTER))
    if demoted:
        # Two admins demoting each other at once must not both see the other still in place.
        dialect.serialise(session, ADMIN_CHANGES_LOCK)
    if demoted and _active_admins(session) == 0:
        raise Conflict("This would leave no active administrator.")
    if active is False:
        # A deactivated account is signed out everywhere at once, its device cookies revoked.
        _end_sessions(session, user_id=user.id, devices_too=True)
    if active is False or not keys.needs_key_pair(user.roles) or (was_reader and not user.may(Capability.READ_EVERY_CASE)):
        # Issue 27: its case keys go with it (a safeguarding user made HR only is given their assigned
        # cases again by a holder), and its key is no longer vouched for.
        key_holders.drop_wraps_of(session, user_id=user.id)
        key_holders.uncertify(session, user_id=user.id)
    audit.record(session, by, "user.update", target=str(user.id))
    _granted(session, user=user, roles=set(user.roles) - before, by=by)
    _removed(session, user=user, roles=before - set(user.roles), by=by)
    return user


def enrolment_user(session: Session, *, token: str) -> User | None:
    """The account a live enrolment link is for (unused, not lapsed, account active), or None."""
    row = session.scalar(select(EnrolmentLink).where(
        EnrolmentLink.token_hash == token_hash(token), EnrolmentLink.used_at.is_(None),
        EnrolmentLink.expires_at > clock.now()))
    if row is None:
        return None
    user = session.get(User, row.user_id)
    return user if user is not None and user.active else None


def enrolling(session: Session, *, token: str, new_password: str) -> uuid.UUID:
    """Checks before an owner chooses their password with an enrolment link; returns the account's id."""
    user = enrolment_user(session, token=token)
    if user is None:
        raise NotFound(LINK_GONE)
    problem = weakness(new_password, email=user.email)
    if problem is not None:
        raise Invalid(problem, field="new_password")
    return user.id


LINK_GONE = "This link has been used already or has lapsed. Ask an administrator for a new account link."


def enrol(session: Session, *, user_id: uuid.UUID, token: str, hashed: str, pair: Any = None) -> User:
    """The owner's own password from their enrolment link: the link is used up, any set password stops working."""
    used = session.execute(
        update(EnrolmentLink).where(EnrolmentLink.token_hash == token_hash(token), EnrolmentLink.used_at.is_(None))
        .values(used_at=clock.now())
    )
    if _rows(used) != 1:
        raise NotFound(LINK_GONE)
    user = _user(session, user_id)
    user.password_hash = hashed
    user.password_change_required = False
    user.password_expires_at = None
    user.owner_verified_at = clock.now()
    _end_sessions(session, user_id=user.id, devices_too=True)
    if pair is not None:  # issue 27: made with the new password (its recovery key is shown on the next page)
        keys.store_new(session, user=user, pair=pair)
    audit.record(session, actor(user), "auth.enrolled", target=str(user.id))
    return user


def reseal_totp_secrets(session: Session, ring: KeyRing) -> int:
    """`rotate-key`: every two-factor secret sealed again under the ring's active lookup key (it is
    opened with whichever key sealed it); how many."""
    rows = session.execute(select(User.id, User.totp_secret_ct).where(User.totp_secret_ct.is_not(None))).all()
    for user_id, sealed in rows:
        assert sealed is not None
        session.execute(update(User).where(User.id == user_id).values(
            totp_secret_ct=totp.seal_secret(ring, user_id, totp.open_secret(ring, user_id, sealed))))
    return len(rows)
