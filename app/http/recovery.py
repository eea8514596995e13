"""A forgotten password, set again by its owner with their recovery key and second factor (issue 27):
the same read → counted attempt → slow work → write split as a sign-in (`app.http.signin`), for the
API and the page alike. Nobody else is involved, and the key pair, with every case key it holds, stays.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.auth import keys as person_keys
from app.auth import service as auth
from app.concurrency import run_slow
from app.crypto import people
from app.db import end_reads
from app.errors import AppError, Forbidden, Invalid, TooManyRequests, Unauthorized, raises
from app.http import cookies
from app.http.signin import Door
from app.http.state import CurrentSettings, Hasher, Keys, LoginThrottle, SlowHashLimiter
from app.http.transactions import DbSession
from app.http.users import client_host


def recover_password(door: Door, *, email: str, recovery_key: str, totp: str | None, new_password: str,
                     client_host: str | None, cookies: dict[str, str]) -> str:
    """Set a forgotten password; returns the account's new recovery key, to show once.

    The attempt counts in the sign-in throttle's buckets before the recovery key is tried, and is
    given back only when the key was right but the code is still to come. An unknown address, an
    account without a key pair and a wrong recovery key are one 403 after the same work.
    """
    start = auth.recovery_start(door.session, door.keys, door.settings, email=email, new_password=new_password,
                                client_host=client_host, cookies=cookies)
    end_reads(door.session)  # on SQLite an open transaction would hold the write lock through the hashes
    tried = door.throttle.attempt(start.where.buckets)
    private = person_keys.open_with_recovery_key(start.user_id, start.public, start.by_recovery, recovery_key)
    if private is None or start.user_id is None:
        raise auth.RecoveryRefused(auth.NO_RECOVERY)
    if not start.second_factor:
        door.throttle.forgive(start.where.keys, attempt=tried)  # the key was right: not a guess
        raise auth.RecoveryNeedsSecondFactor(auth.NO_SECOND_FACTOR)
    if totp is None:
        door.throttle.forgive(start.where.keys, attempt=tried)
        raise auth.TotpRequired(auth.RECOVERY_CODE_NEEDED)
    # Slow (two argon2id): the new password's hash and the same private key sealed under it.
    new_hash = door.passwords.hash(new_password)
    sealed = people.seal_under_password(start.user_id, private, new_password, person_keys.argon2_params(door.settings))
    recovery = people.new_recovery_key()
    try:
        auth.recover_password(door.session, door.throttle, door.keys, start=start, totp=totp, tried=tried,
                              new_hash=new_hash, sealed=sealed,
                              by_recovery=people.seal_under_recovery(start.user_id, private, recovery))
    except AppError:
        door.session.rollback()  # nothing changed, not even a used code, though the page answers with a form
        raise
    return recovery


@raises(Invalid, Unauthorized, Forbidden, TooManyRequests)
class Recovery:
    """`recover_password` with the slow hashes in their own small thread pool; the API's
    `POST /auth/password/recover` and the page `/login/forgot` both call it."""

    def __init__(
        self, request: Request, session: DbSession, settings: CurrentSettings, keys: Keys, passwords: Hasher,
        throttle: LoginThrottle, limiter: SlowHashLimiter,
    ) -> None:
        self.request, self.door, self.limiter = request, Door(session, passwords, throttle, keys, settings), limiter

    async def __call__(self, *, email: str, recovery_key: str, totp: str | None, new_password: str) -> str:
        return await run_slow(
            self.limiter, recover_password, self.door, email=email, recovery_key=recovery_key, totp=totp,
            new_password=new_password, client_host=client_host(self.request), cookies=cookies.jar(self.request),
        )


PasswordRecovery = Annotated[Recovery, Depends()]
