"""The staff side of keys only people hold (issue 27): which accounts have a key pair, when it is
made, unsealed at sign-in and held with the staff session (app.crypto.people, app.crypto.holders).

Every account whose roles may work on cases has a key pair once it has its own password. The
private key is unsealed with the password at sign-in (argon2id with the settings' parameters: one
more derivation than the password check) and stored with the session sealed under the session
token; `user_for_token` hands it to the request (`holders.hold`).
"""

from __future__ import annotations

import base64
import json
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from sqlalchemy import Select, exists, select, true, update
from sqlalchemy.orm import Session

from app import db
from app.audit import service as audit
from app.audit.service import Actor
from app.auth.models import StaffSession, User, UserRole
from app.auth.models import holders as holders_of
from app.auth.permissions import Capability, roles_with
from app.config import Settings
from app.crypto import holders, people
from app.crypto.envelope import DecryptionError, open_any, seal
from app.crypto.keyring import KeyRing
from app.crypto.models import CaseKeySeal, EscrowKey, PersonKey
from app.enums import Role
from app.errors import Conflict, Forbidden

log = logging.getLogger("safeshare.crypto")


def argon2_params(settings: Settings) -> people.Argon2Params:
    return people.Argon2Params(settings.argon2_time_cost, settings.argon2_memory_kib, settings.argon2_parallelism)


def needs_key_pair(roles: Iterable[Role]) -> bool:
    allowed = roles_with(Capability.WORK_ON_CASES)
    return any(r in allowed for r in roles)


@dataclass(frozen=True)
class KeyAtRest:
    """What sign-in reads of a person's key before the slow derivation."""

    public: bytes
    by_password: bytes
    spec: str


@dataclass(frozen=True)
class Unlocked:
    """A private key a sign-in opened (or made: `new` then holds what to store, and the recovery
    key to show once)."""

    private: X25519PrivateKey
    new: holders.NewKeyPair | None = None


def at_rest(session: Session, user_id: uuid.UUID) -> tuple[KeyAtRest | None, bool]:
    """The person's sealed key, if any, and whether their roles call for one."""
    row = session.execute(select(PersonKey.public_key, PersonKey.by_password, PersonKey.password_kdf)
                          .where(PersonKey.user_id == user_id)).first()
    needs = session.scalar(select(UserRole.user_id).where(
        UserRole.user_id == user_id, UserRole.role.in_(roles_with(Capability.WORK_ON_CASES))).limit(1)) is not None
    return (KeyAtRest(row.public_key, row.by_password, row.password_kdf) if row else None), needs


def unlock(user_id: uuid.UUID, key: KeyAtRest | None, needs: bool, password: str, settings: Settings) -> Unlocked | None:
    """Slow (argon2id): the private key opened with the password, or a new key pair when the account
    needs one (`needs`: its roles call for one and the password is its owner's own, not a one-time
    password) and has none, or one its password no longer opens. No transaction may be open."""
    if key is not None:
        private = people.open_under_password(user_id, key.public, key.by_password, key.spec, password)
        if private is not None:
            return Unlocked(private)
    if not needs:
        return None
    pair = holders.new_key_pair(user_id, password, argon2_params(settings))
    return Unlocked(pair.private, pair)


def seal_into(row: StaffSession, *, token: str, unlocked: Unlocked) -> None:
    """The private key (and a new key pair's recovery key) into a staff session's row, sealed under its token."""
    row.person_key_ct = people.seal_for_session(token, row.user_id, unlocked.private)
    if unlocked.new is not None:
        row.recovery_key_ct = people.seal_text_for_session(token, row.user_id, unlocked.new.recovery_key)


def keep(session: Session, *, user: User, unlocked: Unlocked | None, row: StaffSession,
         token: str) -> str | None:
    """Store what a sign-in unlocked: a new key pair (certified if it is the deployment's first
    safeguarding key), and the private key with the session, sealed under its token. Returns the
    new recovery key, to show once."""
    if unlocked is None:
        return None
    recovery = None
    if unlocked.new is not None:
        store_new(session, user=user, pair=unlocked.new)
        recovery = unlocked.new.recovery_key
        row.recovery_key_ct = people.seal_text_for_session(token, user.id, recovery)
    row.person_key_ct = people.seal_for_session(token, user.id, unlocked.private)
    holders.hold(session, user.id, unlocked.private)
    return recovery


def store_new(session: Session, *, user: User, pair: holders.NewKeyPair) -> None:
    """A new key pair for the account. The first safeguarding key of a deployment that has not
    sealed its cases is certified at once (the bootstrap); every later one by a holder's grant."""
    first = (user.may(Capability.READ_EVERY_CASE) and not holders.is_sealed(session)
             and not certified_case_readers(session))
    holders.store_key_pair(session, user_id=user.id, pair=pair, certified=first)


def certified_case_readers(session: Session) -> list[tuple[uuid.UUID, bytes]]:
    """(user id, public key) of every active safeguarding user whose key is certified: intake wraps
    each new case's key to these."""
    return case_readers(session, certified=True)


def case_readers(session: Session, *, certified: bool = False) -> list[tuple[uuid.UUID, bytes]]:
    """(user id, public key) of every active safeguarding user with a key pair (`certified`: only
    those whose key is certified), in one query."""
    query = (
        select(PersonKey)
        .join(User, User.id == PersonKey.user_id)
        .where(User.active.is_(True),
               User.id.in_(select(UserRole.user_id).where(UserRole.role.in_(roles_with(Capability.READ_EVERY_CASE)))))
        .order_by(PersonKey.user_id)
    )
    if certified:
        query = query.where(PersonKey.certified_at.is_not(None))
    rows = list(session.scalars(query).all())
    if certified:
        forged = [r.user_id for r in rows if not holders.is_certified(session, r)]
        if forged:  # certified in the database, but not by anyone holding the ring
            log.warning("ignored %d certified key(s) whose certification does not verify (users %s)",
                        len(forged), ", ".join(map(str, forged)))
            rows = [r for r in rows if r.user_id not in forged]
    return [(r.user_id, r.public_key) for r in rows]


@dataclass(frozen=True)
class NewCaseReaders:
    """Who a new case concerns, read in one query before anything is written: the active
    safeguarding users (`team`, told of it: app.notify.new_concern), those of them whose keys are
    certified (`recipients`: its key is wrapped to each), whether the ring's master key still
    wraps it (`master`), and the escrow key's public key while escrow is on (`escrow`). With no
    certified safeguarding key at all the master wrap is kept even when sealed: a concern nobody
    could ever open would be lost (the console warns while fewer than two hold keys)."""

    team: list[uuid.UUID]
    recipients: list[tuple[uuid.UUID, bytes]]
    master: bool
    escrow: bytes | None = None


@cache
def _readers_query() -> Select[bool, bytes | None, uuid.UUID | None, bytes | None, datetime | None, bytes | None]:
    """One row per active safeguarding user (none: one row of NULLs), each with the deployment's
    seal and escrow key."""
    sealed = exists(select(CaseKeySeal.id).where(CaseKeySeal.id == holders.SEAL_ROW))
    escrow = select(EscrowKey.public_key).where(EscrowKey.id == holders.ESCROW_ROW).scalar_subquery()
    deployment = select(sealed.label("sealed"), escrow.label("escrow")).subquery("deployment")
    people = (select(User.id.label("id"), PersonKey.public_key, PersonKey.certified_at, PersonKey.certification)
              .outerjoin(PersonKey, PersonKey.user_id == User.id)
              .where(User.active.is_(True), User.id.in_(holders_of(Capability.READ_EVERY_CASE)))
              .subquery("people"))
    return (select(deployment.c.sealed, deployment.c.escrow, people.c.id, people.c.public_key, people.c.certified_at,
                   people.c.certification)
            .select_from(deployment.outerjoin(people, true()))
            .order_by(people.c.id))


def new_case_readers(session: Session) -> NewCaseReaders:
    """`NewCaseReaders`, read apart from the request's transaction (app.db.read_apart: on SQLite
    before its write lock). What a concurrent change of roles, certification or escrow commits
    after this read counts from the next case on, as under PostgreSQL's READ COMMITTED in one
    transaction."""
    rows = db.read_apart(session, _readers_query())
    people = [r for r in rows if r.id is not None]
    certified = [r for r in people if r.public_key is not None and r.certified_at is not None]
    recipients = [(r.id, r.public_key) for r in certified
                  if holders.certification_holds(session, r.id, r.public_key, r.certified_at, r.certification)]
    if len(recipients) < len(certified):  # certified in the database, but not by anyone holding the ring
        forged = sorted({r.id for r in certified} - {uid for uid, _ in recipients})
        log.warning("ignored %d certified key(s) whose certification does not verify (users %s)",
                    len(forged), ", ".join(map(str, forged)))
    return NewCaseReaders([r.id for r in people], recipients, not recipients or not rows[0].sealed, rows[0].escrow)


def all_key_holders(session: Session) -> list[tuple[uuid.UUID, bytes]]:
    """(user id, public key) of every active account with a key pair that may work on cases."""
    rows = session.execute(
        select(PersonKey.user_id, PersonKey.public_key)
        .join(User, User.id == PersonKey.user_id)
        .where(User.active.is_(True),
               User.id.in_(select(UserRole.user_id).where(UserRole.role.in_(roles_with(Capability.WORK_ON_CASES)))))
        .order_by(PersonKey.user_id)
    )
    return [(r.user_id, r.public_key) for r in rows]


def public_key(session: Session, user_id: uuid.UUID) -> bytes | None:
    return session.scalar(select(PersonKey.public_key).where(PersonKey.user_id == user_id))


def from_session(session: Session, row: StaffSession, token: str) -> None:
    """The request holds its person's private key, opened from the staff session with the token."""
    if row.person_key_ct is None:
        return
    private = people.open_for_session(token, row.user_id, row.person_key_ct)
    if private is not None:
        holders.hold(session, row.user_id, private)


# --- the sign-in page's two steps: the key waits in the pending cookie ----------------------------------

_CARRY = "pending-person-key"


def carry(ring: KeyRing, user_id: uuid.UUID, unlocked: Unlocked | None) -> str:
    """What the sign-in page's pending cookie carries from the password step to the code step: the
    unlocked key (and a new pair) sealed under a key of the ring for this purpose; '' for nothing."""
    if unlocked is None:
        return ""
    doc: dict[str, str] = {"private": people.private_bytes(unlocked.private).hex()}
    if unlocked.new is not None:
        doc.update(by_password=unlocked.new.sealed.by_password.hex(), spec=unlocked.new.sealed.spec,
                   by_recovery=unlocked.new.by_recovery.hex(), recovery=unlocked.new.recovery_key)
    blob = seal(ring.subkey(_CARRY), json.dumps(doc).encode(), b"safeshare:pending-key:" + user_id.bytes)
    return base64.urlsafe_b64encode(blob).decode().rstrip("=")


def carried(ring: KeyRing, user_id: uuid.UUID | None, text: str) -> Unlocked | None:
    if not text or user_id is None:
        return None
    try:
        blob = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        doc = json.loads(open_any(ring.subkeys(_CARRY), blob, b"safeshare:pending-key:" + user_id.bytes))
    except (ValueError, DecryptionError):
        return None
    private = X25519PrivateKey.from_private_bytes(bytes.fromhex(doc["private"]))
    if "spec" not in doc:
        return Unlocked(private)
    sealed = people.Sealed(people.public_bytes(private), bytes.fromhex(doc["by_password"]), doc["spec"])
    return Unlocked(private, holders.NewKeyPair(private, sealed, bytes.fromhex(doc["by_recovery"]), doc["recovery"]))


def waiting_recovery_key(session: Session, *, row: StaffSession | None, token: str) -> str | None:
    """The new recovery key waiting to be shown in this session (then `forget_recovery_key`)."""
    if row is None or row.recovery_key_ct is None:
        return None
    return people.open_text_for_session(token, row.user_id, row.recovery_key_ct)


def forget_recovery_key(session: Session, *, token_hash: bytes) -> None:
    session.execute(update(StaffSession).where(StaffSession.token_hash == token_hash).values(recovery_key_ct=None))


class NoPersonKey(Conflict):
    """The session holds no private key (signed in before key pairs existed, or the account has none)."""

    title, slug = "Sign in again", "no-person-key"


def reissue_recovery_key(session: Session, *, user: User) -> str:
    """A new recovery key for the account's key pair, which this session holds: the old one opens
    nothing any more. Audited; 409 `no-person-key` when the session holds no key."""
    holding = holders.held(session)
    row = session.get(PersonKey, user.id)
    if holding is None or holding.user_id != user.id or row is None or row.public_key != people.public_bytes(holding.private):
        raise NoPersonKey("Sign out and sign in again with your password first: this session does not hold your key.")
    recovery = people.new_recovery_key()
    holders.reseal_recovery(session, user_id=user.id, public=row.public_key,
                            by_recovery=people.seal_under_recovery(user.id, holding.private, recovery))
    audit.record(session, Actor(label=user.email, user_id=user.id), "auth.recovery_key.reissued", target=str(user.id))
    return recovery


@cache
def _decoy() -> tuple[uuid.UUID, bytes, bytes]:
    """A key pair nobody holds, sealed under a recovery key nobody knows (made once per process)."""
    user_id, private = uuid.uuid4(), X25519PrivateKey.generate()
    return user_id, people.public_bytes(private), people.seal_under_recovery(user_id, private, people.new_recovery_key())


def open_with_recovery_key(user_id: uuid.UUID | None, public: bytes | None, by_recovery: bytes | None,
                           recovery_key: str) -> X25519PrivateKey | None:
    """The account's private key if `recovery_key` opens it (the AEAD's check: a wrong key is a failure,
    never a comparison), else None. No account (`user_id` None) tries a decoy instead: an unknown address
    takes as long as a wrong recovery key (a forgotten password, `app.http.recovery`)."""
    if user_id is None or public is None or by_recovery is None:
        decoy_id, decoy_public, decoy_blob = _decoy()
        people.open_under_recovery(decoy_id, decoy_public, decoy_blob, recovery_key)
        return None
    return people.open_under_recovery(user_id, public, by_recovery, recovery_key)


class WrongRecoveryKey(Forbidden):
    title, slug = "Wrong recovery key", "wrong-recovery-key"


def restore_access(session: Session, *, user: User, recovery_key: str) -> int:
    """The owner's recovery key brings back the case keys their earlier key pair held before a reset
    someone else made (issue 27: without anyone else). Audited (`keys.recovered`). 409 when nothing
    waits or the session holds no key; 403 `wrong-recovery-key`. Returns how many case keys came back."""
    holding = holders.held(session)
    if holding is None or holding.user_id != user.id:
        raise NoPersonKey("Sign out and sign in again with your password first: this session does not hold your key.")
    if holders.dormant(session, user.id) is None:
        raise Conflict("No earlier access waits for a recovery key on this account.")
    moved = holders.restore(session, user_id=user.id, recovery_key=recovery_key)
    if moved is None:
        raise WrongRecoveryKey("That recovery key does not open your earlier access. Check it and try again.")
    audit.record(session, Actor(label=user.email, user_id=user.id), "keys.recovered", target=f"{user.id}:{moved}")
    return moved
