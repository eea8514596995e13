"""Who holds which case key: person keys, wraps of case keys to people, the seal, a request's held key.

Sole writer of `person_keys`, `case_key_wraps`, `case_key_seal` and `escrow_key`. A wrap names its
holder by a keyed blind index, so the database alone cannot tell whose wrap a case lacks.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import bindparam, delete, exists, func, insert, select, update
from sqlalchemy.orm import Session, aliased

from app import clock, dialect
from app.crypto import people
from app.crypto.envelope import DecryptionError
from app.crypto.models import CaseKey, CaseKeySeal, CaseKeyWrap, DormantKey, EscrowKey, PersonKey
from app.crypto.people import CASE_PART
from app.db import EXCLUSION_KEY, ring_keys, table_of

HOLDER_PURPOSE = "case-key-holder"
_HELD = "safeshare.case_key_holder"
SEAL_ROW = 1


@lru_cache(maxsize=8)
def _holder_key(exclusion_key: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=b"safeshare:" + HOLDER_PURPOSE.encode()).derive(exclusion_key)


def _ring_keys(session: Session) -> list[bytes]:
    """The exclusion key under every lookup key of the ring, the active one first (app.db.ring_keys)."""
    keys = ring_keys(session, EXCLUSION_KEY)
    if not keys:
        raise RuntimeError("this session cannot name key holders: make it with the key ring's exclusion key")
    return keys


def holder_indexes(session: Session, user_id: uuid.UUID, *, dormant: bool = False) -> list[bytes]:
    """A person's blind index in `case_key_wraps.holder` (`dormant`: their set-aside key pair's) under
    every key of the ring, the active one first: what a lookup matches (`rotate-key` moves every row
    to the active key; one that stopped half-way leaves some under a retired one)."""
    label = b"safeshare:holder-dormant:" if dormant else b"safeshare:holder:"
    return [hmac.new(_holder_key(key), label + user_id.bytes, hashlib.sha256).digest() for key in _ring_keys(session)]


def holder_index(session: Session, user_id: uuid.UUID, *, dormant: bool = False) -> bytes:
    """A person's blind index under the active key: what a new row stores."""
    return holder_indexes(session, user_id, dormant=dormant)[0]


def _both(session: Session, user_id: uuid.UUID) -> list[bytes]:
    return [*holder_indexes(session, user_id), *holder_indexes(session, user_id, dormant=True)]


@dataclass(frozen=True)
class Holding:
    """The private key the current request holds, and whose it is."""

    user_id: uuid.UUID
    private: X25519PrivateKey


def hold(session: Session, user_id: uuid.UUID, private: X25519PrivateKey) -> None:
    """This session (one request, one command) acts with this person's private key."""
    session.info[_HELD] = Holding(user_id, private)


def held(session: Session) -> Holding | None:
    found = session.info.get(_HELD)
    return found if isinstance(found, Holding) else None


def let_go(session: Session) -> None:
    session.info.pop(_HELD, None)


_REPORTER = "safeshare.reporter_case_key"


def hold_case_key(session: Session, case_id: uuid.UUID, dek: bytes) -> None:
    """This session (a reporter's request) holds this one case's data key, from the reporter session."""
    session.info[_REPORTER] = (case_id, dek)


def held_case_key(session: Session, case_id: uuid.UUID) -> bytes | None:
    found = session.info.get(_REPORTER)
    return found[1] if isinstance(found, tuple) and found[0] == case_id else None


# --- the deployment's seal ------------------------------------------------------------------------------

def is_sealed(session: Session) -> bool:
    """Whether `seal-cases` ran: from then on no case key is wrapped by the ring."""
    return session.scalar(select(CaseKeySeal.id).where(CaseKeySeal.id == SEAL_ROW)) is not None


def mark_sealed(session: Session, *, by: str) -> None:
    if not is_sealed(session):
        session.add(CaseKeySeal(id=SEAL_ROW, sealed_at=clock.now(), sealed_by=by))
        session.flush()


# --- person keys ----------------------------------------------------------------------------------------

CERTIFICATION_PURPOSE = "key-certification"


@lru_cache(maxsize=8)
def _certification_key(exclusion_key: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=b"safeshare:" + CERTIFICATION_PURPOSE.encode()).derive(exclusion_key)


def certification(session: Session, user_id: uuid.UUID, public_key: bytes) -> bytes:
    """The MAC that makes a certification count: over the person and their public key, under a key
    derived from the ring (so a database writer without the ring cannot certify a key they planted)."""
    return certifications(session, user_id, public_key)[0]


def certifications(session: Session, user_id: uuid.UUID, public_key: bytes) -> list[bytes]:
    """`certification` under every key of the ring, the active one first (one a retired key made still holds)."""
    return [hmac.new(_certification_key(key), b"safeshare:certified:" + user_id.bytes + public_key,
                     hashlib.sha256).digest() for key in _ring_keys(session)]


def is_certified(session: Session, row: PersonKey) -> bool:
    return certification_holds(session, row.user_id, row.public_key, row.certified_at, row.certification)


def certification_holds(session: Session, user_id: uuid.UUID, public_key: bytes, certified_at: object,
                        mac: bytes | None) -> bool:
    """`is_certified` from a row's columns (a query that reads them without loading the row)."""
    return (certified_at is not None and mac is not None
            and any(hmac.compare_digest(mac, m) for m in certifications(session, user_id, public_key)))


def person_key(session: Session, user_id: uuid.UUID) -> PersonKey | None:
    return session.get(PersonKey, user_id)


@dataclass(frozen=True)
class NewKeyPair:
    private: X25519PrivateKey
    sealed: people.Sealed
    by_recovery: bytes
    recovery_key: str


def new_key_pair(user_id: uuid.UUID, password: str, params: people.Argon2Params) -> NewKeyPair:
    """A fresh key pair sealed under the password and a new recovery key (slow: no transaction open)."""
    private = X25519PrivateKey.generate()
    recovery = people.new_recovery_key()
    return NewKeyPair(private, people.seal_under_password(user_id, private, password, params),
                      people.seal_under_recovery(user_id, private, recovery), recovery)


def store_key_pair(session: Session, *, user_id: uuid.UUID, pair: NewKeyPair,
                   certified_by: uuid.UUID | None = None, certified: bool = False) -> PersonKey:
    """The person's key pair from now on; a different pair holds none of the old one's keys (set aside)."""
    row = session.get(PersonKey, user_id)
    if row is not None and row.public_key != pair.sealed.public:
        set_aside(session, user_id=user_id)  # its case keys wait for the recovery key
        row = None
    if row is None:
        row = PersonKey(user_id=user_id, public_key=pair.sealed.public, created_at=clock.now(),
                        by_password=pair.sealed.by_password, password_kdf=pair.sealed.spec,
                        by_recovery=pair.by_recovery)
        session.add(row)
    row.by_password, row.password_kdf, row.by_recovery = pair.sealed.by_password, pair.sealed.spec, pair.by_recovery
    if certified:
        row.certified_at, row.certified_by_id = clock.now(), certified_by
        row.certification = certification(session, user_id, row.public_key)
    session.flush()
    return row


def reseal_password(session: Session, *, user_id: uuid.UUID, sealed: people.Sealed) -> bool:
    """The private key under a new password; False when the person has none or another one."""
    row = session.get(PersonKey, user_id)
    if row is None or row.public_key != sealed.public:
        return False
    row.by_password, row.password_kdf = sealed.by_password, sealed.spec
    session.flush()
    return True


def reseal_recovery(session: Session, *, user_id: uuid.UUID, public: bytes, by_recovery: bytes) -> bool:
    """A new recovery key for the same key pair: the old one opens nothing any more."""
    row = session.get(PersonKey, user_id)
    if row is None or row.public_key != public:
        return False
    row.by_recovery = by_recovery
    session.flush()
    return True


def recover(session: Session, *, user_id: uuid.UUID, public: bytes, was: bytes, sealed: people.Sealed,
            by_recovery: bytes) -> bool:
    """A forgotten password (issue 27): the same private key under the new password and a new recovery
    key, only while the pair and the recovery seal that was opened (`was`) are still the account's;
    False when a concurrent recovery or a new recovery key came first (one conditional UPDATE)."""
    done = session.execute(
        update(PersonKey)
        .where(PersonKey.user_id == user_id, PersonKey.public_key == public, PersonKey.public_key == sealed.public,
               PersonKey.by_recovery == was)
        .values(by_password=sealed.by_password, password_kdf=sealed.spec, by_recovery=by_recovery)
    )
    return int(getattr(done, "rowcount", 0) or 0) == 1


def certify(session: Session, *, user_id: uuid.UUID, by: uuid.UUID | None) -> bool:
    row = session.get(PersonKey, user_id)
    if row is None:
        return False
    if not is_certified(session, row):
        row.certified_at, row.certified_by_id = clock.now(), by
        row.certification = certification(session, user_id, row.public_key)
        session.flush()
    return True


def uncertify(session: Session, *, user_id: uuid.UUID) -> None:
    """The key is no longer vouched for: intake stops wrapping new cases to it until a holder grants again."""
    row = session.get(PersonKey, user_id)
    if row is not None:
        row.certified_at, row.certified_by_id, row.certification = None, None, None


# --- wraps ----------------------------------------------------------------------------------------------

def wrap_rows(session: Session, case_id: uuid.UUID, dek: bytes, recipients: Iterable[tuple[uuid.UUID, bytes]],
              part: str = CASE_PART) -> list[dict[str, Any]]:
    """The `case_key_wraps` rows for a case key (`part`) wrapped to each (user id, public key)."""
    now = clock.now()
    return [{"case_id": case_id, "holder": holder_index(session, user_id), "part": part,
             "wrapped": people.wrap_to(public, case_id, dek, part), "created_at": now} for user_id, public in recipients]


def insert_wraps(session: Session, rows: list[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert(CaseKeyWrap), rows)


@lru_cache(maxsize=1)
def wrap_insert() -> Any:
    """One `wrap_rows` row's INSERT, built once (for `app.db.for_driver`)."""
    wraps = table_of(CaseKeyWrap)
    return insert(wraps).values({name: bindparam(name, type_=wraps.c[name].type)
                                 for name in ("case_id", "holder", "part", "wrapped", "created_at")})


def wrap_to_person(session: Session, *, case_id: uuid.UUID, user_id: uuid.UUID, public: bytes,
                   dek: bytes, part: str = CASE_PART) -> None:
    """The case's key (`part`) wrapped to this person, replacing any earlier wrap of theirs."""
    session.execute(delete(CaseKeyWrap).where(CaseKeyWrap.case_id == case_id,
                                              CaseKeyWrap.holder.in_(holder_indexes(session, user_id)),
                                              CaseKeyWrap.part == part))
    insert_wraps(session, wrap_rows(session, case_id, dek, [(user_id, public)], part))


def public_keys_by_holder(session: Session) -> dict[bytes, bytes]:
    """Every holder index a wrap may name, with the public key to wrap to: each person's key pair,
    each set-aside pair, and the escrow key while escrow is on (three queries); under every key of
    the ring (a wrap a retired key named, after a `rotate-key` that stopped half-way, is no orphan)."""
    found = {index: public
             for user_id, public in session.execute(select(PersonKey.user_id, PersonKey.public_key))
             for index in holder_indexes(session, user_id)}
    found |= {index: public
              for user_id, public in session.execute(select(DormantKey.user_id, DormantKey.public_key))
              for index in holder_indexes(session, user_id, dormant=True)}
    escrow = escrow_public(session)
    if escrow is not None:
        found |= dict.fromkeys(escrow_indexes(session), escrow)
    return found


def rewrap_case(session: Session, case_id: uuid.UUID, payloads: dict[str, bytes],
                publics: dict[bytes, bytes]) -> bool:
    """Re-make every wrap of the case's keys to hold `payloads` (part -> what its wraps hold from now
    on), each to the public key its holder index names (`public_keys_by_holder`). A wrap naming no
    key pair is dropped: no private key anyone can unseal opens it. False, changing nothing, when a
    wrap is of a part missing from `payloads`."""
    rows = session.execute(select(CaseKeyWrap.holder, CaseKeyWrap.part).where(CaseKeyWrap.case_id == case_id)).all()
    if any(part not in payloads for _, part in rows):
        return False
    remade = [{"case_id": case_id, "holder": holder, "part": part,
               "wrapped": people.wrap_to(publics[holder], case_id, payloads[part], part)}
              for holder, part in rows if holder in publics]
    if remade:
        session.execute(update(CaseKeyWrap), remade)  # by primary key, one executemany
    orphans = [holder for holder, _ in rows if holder not in publics]
    if orphans:
        session.execute(delete(CaseKeyWrap).where(CaseKeyWrap.case_id == case_id, CaseKeyWrap.holder.in_(orphans)))
    return True


def drop_wrap(session: Session, *, case_id: uuid.UUID, user_id: uuid.UUID) -> None:
    """The person's wraps of this case's keys (both parts) are gone, their set-aside key pair's too."""
    session.execute(delete(CaseKeyWrap).where(CaseKeyWrap.case_id == case_id,
                                              CaseKeyWrap.holder.in_(_both(session, user_id))))


def drop_wraps_of(session: Session, *, user_id: uuid.UUID) -> None:
    session.execute(delete(CaseKeyWrap).where(CaseKeyWrap.holder.in_(_both(session, user_id))))


# --- a reset by someone else, and the owner's recovery key --------------------------------------------

def set_aside(session: Session, *, user_id: uuid.UUID) -> None:
    """On a reset someone else made, set the account's key pair aside with its case keys.

    Only the owner's recovery key brings them back (`restore`); an earlier set-aside pair stays the one kept.
    """
    row = session.get(PersonKey, user_id)
    if row is None:
        return
    current, aside = holder_indexes(session, user_id), holder_index(session, user_id, dormant=True)
    if session.get(DormantKey, user_id) is None:
        session.add(DormantKey(user_id=user_id, public_key=row.public_key, by_recovery=row.by_recovery,
                               certified_at=row.certified_at, set_aside_at=clock.now()))
        session.execute(update(CaseKeyWrap).where(CaseKeyWrap.holder.in_(current)).values(holder=aside))
    else:
        session.execute(delete(CaseKeyWrap).where(CaseKeyWrap.holder.in_(current)))
    session.delete(row)
    session.flush()


def dormant(session: Session, user_id: uuid.UUID) -> DormantKey | None:
    return session.get(DormantKey, user_id)


def restore(session: Session, *, user_id: uuid.UUID, recovery_key: str) -> int | None:
    """The owner's recovery key moves their set-aside case keys to the session's key pair; how many, or
    None when it does not open.
    """
    holding, aside_row = held(session), session.get(DormantKey, user_id)
    if holding is None or holding.user_id != user_id or aside_row is None:
        return None
    old = people.open_under_recovery(user_id, aside_row.public_key, aside_row.by_recovery, recovery_key)
    if old is None:
        return None
    current, aside = holder_indexes(session, user_id), holder_indexes(session, user_id, dormant=True)
    mine = {(case_id, part) for case_id, part in session.execute(
        select(CaseKeyWrap.case_id, CaseKeyWrap.part).where(CaseKeyWrap.holder.in_(current)))}
    public = people.public_bytes(holding.private)
    moved, escrow = 0, escrow_public(session)
    hold_still(session, select(CaseKeyWrap.case_id).where(CaseKeyWrap.holder.in_(aside)))
    for case_id, part, blob in session.execute(select(CaseKeyWrap.case_id, CaseKeyWrap.part, CaseKeyWrap.wrapped)
                                               .where(CaseKeyWrap.holder.in_(aside))).all():
        if (case_id, part) not in mine:
            dek = people.unwrap_with(old, case_id, blob, part)
            insert_wraps(session, wrap_rows(session, case_id, dek, [(user_id, public)], part))
            escrow_wrap(session, case_id=case_id, dek=dek, public=escrow, part=part)
            moved += part == CASE_PART
    session.execute(delete(CaseKeyWrap).where(CaseKeyWrap.holder.in_(aside)))
    row = session.get(PersonKey, user_id)
    if row is not None and aside_row.certified_at is not None and not is_certified(session, row):
        row.certified_at = aside_row.certified_at
        row.certification = certification(session, user_id, row.public_key)
    session.delete(aside_row)
    session.flush()
    return moved


def drop_case_wraps(session: Session, case_id: uuid.UUID) -> None:
    """Every wrap of the case's key: its holders' and the escrow key's (purge, erasure)."""
    session.execute(delete(CaseKeyWrap).where(CaseKeyWrap.case_id == case_id))


# --- the escrow key (off by default; docs/operations.md, "The escrow key") ------------------------------

ESCROW_ROW = 1


def escrow_index(session: Session) -> bytes:
    """The holder index of the escrow key's wraps in `case_key_wraps` (keyed like a person's)."""
    return escrow_indexes(session)[0]


def escrow_indexes(session: Session) -> list[bytes]:
    """`escrow_index` under every key of the ring, the active one first (see `holder_indexes`)."""
    return [hmac.new(_holder_key(key), b"safeshare:holder-escrow", hashlib.sha256).digest()
            for key in _ring_keys(session)]


def escrow_public(session: Session) -> bytes | None:
    """The escrow key's public key while escrow is on, else None."""
    return session.scalar(select(EscrowKey.public_key).where(EscrowKey.id == ESCROW_ROW))


def turn_escrow_on(session: Session, *, public: bytes) -> None:
    session.add(EscrowKey(id=ESCROW_ROW, public_key=public, created_at=clock.now()))
    session.flush()


def turn_escrow_off(session: Session) -> int:
    """The escrow key and every wrap to it are gone. Returns how many wraps went."""
    index = escrow_indexes(session)
    gone = int(session.scalar(select(func.count()).select_from(CaseKeyWrap).where(CaseKeyWrap.holder.in_(index))) or 0)
    session.execute(delete(CaseKeyWrap).where(CaseKeyWrap.holder.in_(index)))
    session.execute(delete(EscrowKey))
    session.flush()
    return gone


def escrow_rows(session: Session, case_id: uuid.UUID, dek: bytes, public: bytes | None,
                part: str = CASE_PART) -> list[dict[str, Any]]:
    """The `case_key_wraps` row of a new case key wrapped to the escrow key `public` (none when off)."""
    if public is None:
        return []
    return [{"case_id": case_id, "holder": escrow_index(session), "part": part,
             "wrapped": people.wrap_to(public, case_id, dek, part), "created_at": clock.now()}]


def escrow_wrap(session: Session, *, case_id: uuid.UUID, dek: bytes, public: bytes | None = None,
                part: str = CASE_PART) -> bool:
    """Wrap the case's key to the escrow key when escrow is on and it is missing; whether a wrap was added."""
    public = public if public is not None else escrow_public(session)
    if public is None:
        return False
    index = escrow_indexes(session)
    if session.scalar(select(CaseKeyWrap.case_id).where(CaseKeyWrap.case_id == case_id, CaseKeyWrap.holder.in_(index),
                                                        CaseKeyWrap.part == part)) is not None:
        return False
    insert_wraps(session, escrow_rows(session, case_id, dek, public, part))
    return True


def escrowed(session: Session, part: str = CASE_PART) -> list[tuple[uuid.UUID, bytes]]:
    """(case id, wrapped key) of every case key (`part`) wrapped to the escrow key."""
    rows = session.execute(select(CaseKeyWrap.case_id, CaseKeyWrap.wrapped)
                           .where(CaseKeyWrap.holder.in_(escrow_indexes(session)), CaseKeyWrap.part == part)
                           .order_by(CaseKeyWrap.case_id))
    return [(r.case_id, r.wrapped) for r in rows]


def escrow_holds(session: Session, case_id: uuid.UUID) -> bool:
    return session.scalar(select(CaseKeyWrap.case_id).where(
        CaseKeyWrap.case_id == case_id, CaseKeyWrap.holder.in_(escrow_indexes(session)),
        CaseKeyWrap.part == CASE_PART)) is not None



def holds(session: Session, *, case_id: uuid.UUID, user_id: uuid.UUID, part: str = CASE_PART) -> bool:
    return session.scalar(select(CaseKeyWrap.case_id).where(
        CaseKeyWrap.case_id == case_id, CaseKeyWrap.holder.in_(holder_indexes(session, user_id)),
        CaseKeyWrap.part == part)) is not None


def holding_among(session: Session, *, case_id: uuid.UUID, people_: Iterable[tuple[uuid.UUID, bytes]],
                  part: str = CASE_PART) -> list[tuple[uuid.UUID, bytes]]:
    """Those of (user id, public key) `people_` who hold this case's key (`part`), in one query."""
    by_index = {index: (user_id, public) for user_id, public in people_ for index in holder_indexes(session, user_id)}
    if not by_index:
        return []
    found = set(session.scalars(select(CaseKeyWrap.holder).where(
        CaseKeyWrap.case_id == case_id, CaseKeyWrap.part == part, CaseKeyWrap.holder.in_(list(by_index)))))
    return list({who[0]: who for index, who in by_index.items() if index in found}.values())


def count_held(session: Session, *, user_id: uuid.UUID) -> int:
    return int(session.scalar(select(func.count()).select_from(CaseKeyWrap)
                              .where(CaseKeyWrap.holder.in_(holder_indexes(session, user_id)),
                                     CaseKeyWrap.part == CASE_PART)) or 0)


def held_cases(session: Session, *, user_id: uuid.UUID, part: str = CASE_PART) -> list[uuid.UUID]:
    return list(session.scalars(select(CaseKeyWrap.case_id).where(
        CaseKeyWrap.holder.in_(holder_indexes(session, user_id)), CaseKeyWrap.part == part)))


def hold_still(session: Session, case_ids: Iterable[uuid.UUID] | Any) -> None:
    """Until this transaction ends, `seal-cases` cannot give these cases (`case_ids`: ids or a SELECT
    of them) their lock, nor finish giving it: a wrap copied now holds the same form, masked or not,
    as the one it is copied from. PostgreSQL: FOR SHARE on their key rows, which the lock pass takes
    FOR UPDATE; on SQLite a writing transaction holds the whole database from its first statement."""
    if dialect.writer_locks_from_first_statement(session):
        return
    session.execute(select(CaseKey.case_id).where(CaseKey.case_id.in_(case_ids))
                    .order_by(CaseKey.case_id).with_for_update(read=True)).all()  # in the lock pass's order


def open_wrap(session: Session, case_id: uuid.UUID, part: str = CASE_PART) -> bytes | None:
    """The case's key (`part`) through the wrap of the person this session holds, or None."""
    holding = held(session)
    if holding is None:
        return None
    blob = session.scalar(select(CaseKeyWrap.wrapped).where(
        CaseKeyWrap.case_id == case_id, CaseKeyWrap.holder.in_(holder_indexes(session, holding.user_id)),
        CaseKeyWrap.part == part))
    if blob is None:
        return None
    try:
        return people.unwrap_with(holding.private, case_id, blob, part)
    except DecryptionError as exc:
        exc.case_id = case_id
        raise


def open_wraps(session: Session, case_ids: Iterable[uuid.UUID] | object, part: str = CASE_PART
               ) -> dict[uuid.UUID, bytes]:
    """The data keys (`part`) of many cases through the held person's wraps (`case_ids`: ids or a SELECT of them)."""
    holding = held(session)
    if holding is None:
        return {}
    found: dict[uuid.UUID, bytes] = {}
    rows = session.execute(select(CaseKeyWrap.case_id, CaseKeyWrap.wrapped).where(
        CaseKeyWrap.case_id.in_(case_ids),  # type: ignore[arg-type]
        CaseKeyWrap.holder.in_(holder_indexes(session, holding.user_id)), CaseKeyWrap.part == part))
    for case_id, blob in rows:
        try:
            found[case_id] = people.unwrap_with(holding.private, case_id, blob, part)
        except DecryptionError:
            continue
    return found


# --- `rotate-key` -----------------------------------------------------------------------------------------

def rekey(session: Session, user_ids: Iterable[uuid.UUID]) -> int:
    """`rotate-key`: every wrap's holder index (a person's, their set-aside pair's, the escrow key's)
    and every valid certification computed again under the ring's active key; how many rows moved.

    The indexes name no one, so each account's (`user_ids`: all of them) is matched under every key.
    A certification that does not verify under any key stays as it is: a rotation vouches for no one.
    """
    moving: list[tuple[list[bytes], bytes]] = [(escrow_indexes(session)[1:], escrow_index(session))]
    for user_id in user_ids:
        for dormant in (False, True):
            active, *older = holder_indexes(session, user_id, dormant=dormant)
            moving.append((older, active))
    moved = 0
    for older, active in moving:
        if older:
            newer = aliased(CaseKeyWrap)  # a wrap a service already wrote under the active key wins
            session.execute(delete(CaseKeyWrap).where(CaseKeyWrap.holder.in_(older), exists().where(
                newer.case_id == CaseKeyWrap.case_id, newer.part == CaseKeyWrap.part, newer.holder == active))
                .execution_options(synchronize_session=False))
            result = session.execute(update(CaseKeyWrap).where(CaseKeyWrap.holder.in_(older)).values(holder=active)
                                     .execution_options(synchronize_session=False))
            moved += max(getattr(result, "rowcount", 0), 0)
    for row in session.scalars(select(PersonKey).where(PersonKey.certification.is_not(None))).all():
        if is_certified(session, row):
            fresh = certification(session, row.user_id, row.public_key)
            if row.certification != fresh:
                row.certification = fresh
                moved += 1
    session.flush()
    return moved
