"""Sign-in, re-authentication and receipts: each one's read → slow check → write split lives here,
so no service ends its caller's transaction. The API and the pages call the same functions.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request, Response
from sqlalchemy.orm import Session

from app.auth import keys as person_keys
from app.auth import service as auth
from app.auth.models import User
from app.auth.passwords import Passwords
from app.concurrency import run_slow
from app.config import Settings
from app.crypto import holders, people
from app.crypto.keyring import KeyRing
from app.db import end_reads
from app.errors import Forbidden, Invalid, TooManyRequests, Unauthorized, raises
from app.http import cookies
from app.http.state import CurrentSettings, Hasher, Keys, LoginThrottle, SlowHashLimiter
from app.http.transactions import DbSession
from app.http.users import client_host
from app.reports import sessions
from app.throttle import Attempt, Throttle


@dataclass(frozen=True)
class Door:
    """What every check here needs: the request's session and the application's objects."""

    session: Session
    passwords: Passwords
    throttle: Throttle
    keys: KeyRing
    settings: Settings


def sign_in(door: Door, *, email: str, password: str, totp: str | None, client_host: str | None,
            cookies: dict[str, str]) -> auth.SignedIn:
    """Check a password (and code) under the sign-in throttle and open a staff session.

    Every attempt is counted before the slow hash and given back if it was not a failure.
    """
    start = auth.login_start(door.session, door.keys, door.settings, email=email, client_host=client_host,
                             cookies=cookies)
    end_reads(door.session)  # on SQLite an open transaction would hold the write lock through the hash
    tried = door.throttle.attempt(start.where.buckets)
    ok = door.passwords.verify(start.stored, password)  # unknown e-mails take as long as wrong passwords
    # Issue 27: the private key opened with the password (a second argon2id), or a new key pair made.
    unlocked = person_keys.unlock(start.user_id, start.key, start.needs_key and not start.provisional, password,
                                  door.settings) if ok and start.user_id is not None else None
    return _finish(door, start, password=password, password_ok=ok, totp=totp, tried=tried, unlocked=unlocked)


def second_step(door: Door, *, pending: str, totp: str, client_host: str | None,
                cookies: dict[str, str]) -> auth.SignedIn:
    """The sign-in page's code step after a pending sign-in; a wrong code counts as a failed sign-in."""
    pending, _, carry = pending.partition(CARRY)
    start = auth.pending_start(door.session, door.keys, door.settings, pending=pending, client_host=client_host,
                               cookies=cookies)
    unlocked = person_keys.carried(door.keys, start.user_id, carry)
    end_reads(door.session)
    tried = door.throttle.attempt(start.where.buckets)
    return _finish(door, start, password=None, password_ok=True, totp=totp, tried=tried, unlocked=unlocked)


# Between the pending sign-in and the key it carries to the code step (not in base64url, nor in a pending token).
CARRY = "~"


def _finish(door: Door, start: auth.LoginStart, *, password: str | None, password_ok: bool, totp: str | None,
            tried: Attempt, unlocked: person_keys.Unlocked | None = None) -> auth.SignedIn:
    def carrying(pending: str | None) -> str | None:
        extra = person_keys.carry(door.keys, start.user_id, unlocked) if start.user_id is not None else ""
        return f"{pending}{CARRY}{extra}" if pending and extra else pending

    try:
        done = auth.login_finish(door.session, door.passwords, door.throttle, door.keys, door.settings, start=start,
                                 password=password, password_ok=password_ok, totp=totp, tried=tried,
                                 unlocked=unlocked)
    except auth.TotpRequired as exc:
        exc.pending = carrying(exc.pending)
        raise
    if isinstance(done, auth.CodeNeeded):
        end_reads(door.session)
        door.throttle.forgive(start.where.keys, attempt=tried)
        raise auth.TotpRequired(auth.CODE_NEEDED, pending=carrying(done.pending))
    return done


def prove(door: Door, proof: auth.Proof | None) -> None:
    """Check a re-authentication's password (None: nothing to do), counted like a failed sign-in."""
    if proof is None:
        return
    end_reads(door.session)
    tried = door.throttle.attempt([proof.bucket])
    if not door.passwords.verify(proof.stored, proof.password):
        raise Forbidden(auth.WRONG_PASSWORD, slug="wrong-password")
    door.throttle.forgive([proof.bucket.key], attempt=tried)


def change_password(door: Door, *, user: User, current_password: str | None, new_password: str,
                    keep_token: str | None) -> bool:
    """The user's own new password; whether it made the account's key pair (first own password)."""
    user_id, stored = user.id, user.password_hash
    needs_pair = person_keys.needs_key_pair(user.roles)
    proof = auth.password_change(door.session, door.keys, door.settings, user=user,
                                 current_password=current_password, new_password=new_password, keep_token=keep_token)
    if proof is None:
        end_reads(door.session)
        if door.passwords.verify(stored, new_password):
            raise Invalid(auth.SAME_PASSWORD, field="new_password")
    prove(door, proof)
    new_hash = door.passwords.hash(new_password)
    sealed = _reseal(door, user_id, current_password, new_password)
    pair = holders.new_key_pair(user_id, new_password, person_keys.argon2_params(door.settings)) \
        if sealed is None and needs_pair else None
    auth.set_own_password(door.session, user_id=user_id, new_hash=new_hash, keep_token=keep_token, sealed=sealed,
                          pair=pair)
    return pair is not None


def _reseal(door: Door, user_id: object, current_password: str | None, new_password: str) -> people.Sealed | None:
    """The private key sealed again under the new password (opened with the current one if not held)."""
    assert isinstance(user_id, uuid.UUID)
    holding = holders.held(door.session)
    private = holding.private if holding is not None and holding.user_id == user_id else None
    if private is None and current_password:
        key, _ = person_keys.at_rest(door.session, user_id)
        end_reads(door.session)
        if key is not None:
            private = people.open_under_password(user_id, key.public, key.by_password, key.spec, current_password)
    if private is None:
        return None
    return people.seal_under_password(user_id, private, new_password, person_keys.argon2_params(door.settings))


def start_totp_setup(door: Door, *, user: User, token: str | None,
                     current_password: str | None) -> auth.TotpSetup:
    """A new authenticator secret, after re-authentication (409 while two-factor sign-in is on)."""
    user_id = user.id
    auth.may_start_totp_setup(user)
    prove(door, auth.proof_needed(door.session, door.keys, door.settings, user=user, token=token,
                                  current_password=current_password))
    return auth.start_totp_setup(door.session, door.keys, user_id=user_id)


def disable_totp(door: Door, *, user: User, code: str, token: str | None,
                 current_password: str | None) -> None:
    """Two-factor sign-in off, with a code and (unless recently signed in) the password; both throttled."""
    user_id = user.id
    auth.may_disable_totp(user, door.settings)
    prove(door, auth.proof_needed(door.session, door.keys, door.settings, user=user, token=token,
                                  current_password=current_password))
    user = auth.user_by_id(door.session, user_id)
    bucket = auth.reauth_bucket(door.keys, door.settings, user)
    end_reads(door.session)
    tried = door.throttle.attempt([bucket])
    auth.disable_totp(door.session, door.throttle, door.keys, user_id=user_id, code=code, bucket=bucket, tried=tried)


def enrol(session: Session, passwords: Passwords, *, token: str, new_password: str,
          settings: Settings | None = None) -> tuple[User, str | None]:
    """The owner's own password from their enrolment link; the user and a recovery key to show once."""
    user_id = auth.enrolling(session, token=token, new_password=new_password)
    _, needs = person_keys.at_rest(session, user_id)
    end_reads(session)
    hashed = passwords.hash(new_password)
    pair = holders.new_key_pair(user_id, new_password, person_keys.argon2_params(settings)) \
        if needs and settings is not None else None
    user = auth.enrol(session, user_id=user_id, token=token, hashed=hashed, pair=pair)
    return user, pair.recovery_key if pair is not None else None


def redeem(session: Session, keys: KeyRing, settings: Settings, throttle: Throttle, *, receipt: str,
           client_host: str | None) -> tuple[str, datetime]:
    """A receipt exchanged for a reporter token, counted atomically before the lookup, so a burst of
    parallel wrong receipts cannot all pass the check.
    """
    buckets = sessions.receipt_buckets(keys, settings, client_host=client_host)
    end_reads(session)
    tried = throttle.attempt(buckets)
    return sessions.redeem_receipt(session, keys, settings, throttle, receipt=receipt, buckets=buckets, tried=tried)


@raises(Unauthorized, TooManyRequests)
class SignIn:
    """Check a password (and a two-factor code) under the sign-in throttle and open a staff
    session (`sign_in` above), with the slow hash in its own small thread pool. The API's login and
    the sign-in page both call it, and both set the device cookie it returns (`keep_device`)."""

    def __init__(
        self, request: Request, session: DbSession, settings: CurrentSettings, keys: Keys, passwords: Hasher,
        throttle: LoginThrottle, limiter: SlowHashLimiter,
    ) -> None:
        self.request, self.session, self.settings, self.keys = request, session, settings, keys
        self.passwords, self.throttle, self.limiter = passwords, throttle, limiter

    @property
    def door(self) -> Door:
        return Door(self.session, self.passwords, self.throttle, self.keys, self.settings)

    async def __call__(self, *, email: str, password: str, totp: str | None = None) -> auth.SignedIn:
        return await run_slow(
            self.limiter, sign_in, self.door, email=email, password=password, totp=totp,
            client_host=client_host(self.request), cookies=cookies.jar(self.request),
        )

    async def second_step(self, *, pending: str, totp: str) -> auth.SignedIn:
        return await run_slow(
            self.limiter, second_step, self.door, pending=pending, totp=totp,
            client_host=client_host(self.request), cookies=cookies.jar(self.request),
        )


SignInFlow = Annotated[SignIn, Depends()]


def keep_device(request: Request, response: Response, signed_in: auth.SignedIn) -> None:
    """Set the device cookie of a successful sign-in (both sign-in routes: API clients benefit too)."""
    cookie = signed_in.device_cookie
    cookies.put(response, request, cookie.name, cookie.value, max_age=cookie.max_age)

