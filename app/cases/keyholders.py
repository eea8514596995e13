"""Who holds each case's key: every safeguarding user not excluded from it, and its HR contact.

A key is wrapped to a person only by someone who holds it, never by the server alone. The
safeguarding-only key goes to safeguarding users only, never an HR contact.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.auth import keys as person_keys
from app.auth.models import User
from app.auth.permissions import Capability
from app.auth.service import actor
from app.cases import access
from app.cases.models import Case, Note
from app.crypto import fields, holders, keys, people
from app.crypto.envelope import CaseCipher, DecryptionError, NoCaseKey, Shredded
from app.crypto.keyring import KeyRing
from app.crypto.models import CaseKey
from app.crypto.people import SAFEGUARDING_PART
from app.enums import NoteVisibility, Status
from app.errors import Conflict, Forbidden


def share(session: Session, ring: KeyRing, *, case_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    """Wrap the case's key to a new HR contact; False when it could not (they ask a holder for a grant)."""
    public = person_keys.public_key(session, user_id)
    if public is None:
        return False
    holders.hold_still(session, [case_id])
    try:
        payload = keys.for_people(session, ring, case_id, keys.data_key(session, ring, case_id))
    except (NoCaseKey, Shredded):
        return False
    holders.wrap_to_person(session, case_id=case_id, user_id=user_id, public=public, dek=payload)
    holders.escrow_wrap(session, case_id=case_id, dek=payload)
    return True


def unshare(session: Session, *, case_id: uuid.UUID, user_id: uuid.UUID) -> None:
    """The person's wrap of this case's key is gone (reassigned away, excluded)."""
    holders.drop_wrap(session, case_id=case_id, user_id=user_id)


def holds(session: Session, *, case_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    return holders.holds(session, case_id=case_id, user_id=user_id)


def who_can_grant(session: Session, *, case: Case) -> list[User]:
    """The active safeguarding users who hold this case's key (the case page names them)."""
    users = session.scalars(select(User).where(User.active.is_(True)).order_by(User.name)).all()
    return [u for u in users if u.may(Capability.READ_EVERY_CASE) and holders.holds(session, case_id=case.id, user_id=u.id)]


@dataclass(frozen=True)
class Granted:
    grantee: User
    cases: int


def grant(session: Session, ring: KeyRing, *, by: User, user_id: uuid.UUID) -> Granted:
    """Wrap every case the grantor holds and the grantee may see to the grantee's key, and certify it.

    403 for oneself; 409 when the grantee has no key pair or may not read cases.
    """
    if user_id == by.id:
        raise Forbidden("You cannot grant yourself access. Another holder must.")
    grantee = session.get(User, user_id)
    if grantee is None or not grantee.active or not grantee.may(Capability.WORK_ON_CASES):
        raise Conflict("This account is not an active safeguarding or HR account.")
    public = person_keys.public_key(session, grantee.id)
    if public is None:
        raise Conflict("This account has no key pair yet: its owner must sign in with their own password first.")
    holding = holders.held(session)
    if holding is None or holding.user_id != by.id:
        raise person_keys.NoPersonKey("Sign out and sign in again with your password first: this session does not "
                                      "hold your key.")
    mine = set(holders.held_cases(session, user_id=by.id))
    visible = set(session.scalars(access.visible_cases(session, grantee).with_only_columns(Case.id)))
    theirs = set(holders.held_cases(session, user_id=grantee.id))
    count, escrow = 0, holders.escrow_public(session)
    holders.hold_still(session, sorted(mine & visible))
    for case_id in sorted(mine & visible - theirs):
        dek = holders.open_wrap(session, case_id)
        if dek is not None:
            holders.wrap_to_person(session, case_id=case_id, user_id=grantee.id, public=public, dek=dek)
            holders.escrow_wrap(session, case_id=case_id, dek=dek, public=escrow)
            count += 1
    if grantee.may(Capability.READ_EVERY_CASE):  # the safeguarding-only keys: to safeguarding users alone
        mine_sg = set(holders.held_cases(session, user_id=by.id, part=SAFEGUARDING_PART))
        theirs_sg = set(holders.held_cases(session, user_id=grantee.id, part=SAFEGUARDING_PART))
        for case_id in sorted(mine_sg & visible - theirs_sg):
            sg = holders.open_wrap(session, case_id, SAFEGUARDING_PART)
            if sg is not None:
                holders.wrap_to_person(session, case_id=case_id, user_id=grantee.id, public=public, dek=sg,
                                       part=SAFEGUARDING_PART)
                holders.escrow_wrap(session, case_id=case_id, dek=sg, public=escrow, part=SAFEGUARDING_PART)
        holders.certify(session, user_id=grantee.id, by=by.id)
    audit.record(session, actor(by), "keys.granted", target=f"{grantee.id}:{count}")
    return Granted(grantee, count)


def seal_cases(session: Session, ring: KeyRing, *, by: User, done: Callable[[int], None] | None = None) -> int:
    """`safeshare seal-cases`: move every master-wrapped case key to the people who may see the case,
    and mark the deployment sealed; how many moved.
    """
    if not by.may(Capability.READ_EVERY_CASE):
        raise Forbidden("Only a safeguarding user may seal the cases.")
    holders_now = person_keys.all_key_holders(session)
    if by.id not in {uid for uid, _ in holders_now}:
        raise Conflict(f"{by.email} has no key pair yet: sign in once with the password first.")
    readers = [(session.get(User, uid), pub) for uid, pub in holders_now]
    people = [(u, pub) for u, pub in readers if u is not None]
    every = [(u, pub) for u, pub in people if u.may(Capability.READ_EVERY_CASE)]
    hr = {u.id: pub for u, pub in people if not u.may(Capability.READ_EVERY_CASE)}

    def recipients(case_id: uuid.UUID) -> list[tuple[uuid.UUID, bytes, bool]]:
        found = [(u.id, pub, True) for u, pub in every
                 if not access.is_excluded(session, case_id=case_id, user_id=u.id)]
        contact = session.scalar(select(Case.hr_contact_id).where(Case.id == case_id))
        if contact is not None and contact in hr:
            found.append((contact, hr[contact], False))  # the case key only, never the safeguarding-only key
        return found

    moved = keys.seal_all(session, ring, recipients=recipients, done=done)
    for u, _ in every:
        holders.certify(session, user_id=u.id, by=by.id)
    holders.mark_sealed(session, by=by.email)
    audit.record(session, actor(by), "keys.sealed", target=str(moved))
    return moved


@dataclass(frozen=True)
class Locked:
    """One batch of `lock_older_cases`: how many cases got their lock, how many this session could
    not open (left as they were), and the last case looked at (None: no case left to look at)."""

    locked: int
    left: int
    last: uuid.UUID | None


def lock_older_cases(session: Session, ring: KeyRing, *, by: User, after: uuid.UUID | None = None,
                     batch: int = 200) -> Locked:
    """`safeshare seal-cases`, in a transaction per batch: the next `batch` cases from before case
    locks (after case id `after`) get one (`keys.give_lock`), a closed one under its retention day.
    Each case is converted whole or not at all; one the acting session cannot open is left for a
    holder of it. Audited (`keys.locked`, how many) when any moved.
    """
    if not by.may(Capability.READ_EVERY_CASE):
        raise Forbidden("Only a safeguarding user may seal the cases.")
    # FOR UPDATE (PostgreSQL), before any wrap is read: a grant, an assignment, a restore or an escrow
    # recovery copying one of these cases' wraps waits for the batch, or the batch for it and then
    # reads its copy too (`holders.hold_still`).
    query = (select(CaseKey, Case.status, Case.retain_until).join(Case, Case.id == CaseKey.case_id)
             .where(CaseKey.lock_wrapped.is_(None), CaseKey.destroyed_at.is_(None))
             .order_by(CaseKey.case_id).limit(batch).with_for_update(of=CaseKey))
    if after is not None:
        query = query.where(CaseKey.case_id > after)
    rows = session.execute(query).all()
    if not rows:
        return Locked(0, 0, None)
    publics = holders.public_keys_by_holder(session)
    locked = sum(keys.give_lock(session, ring, row, publics=publics,
                                retain_until=retain_until if status == Status.CLOSED else None)
                 for row, status, retain_until in rows)
    session.flush()
    if locked:
        audit.record(session, actor(by), "keys.locked", target=str(locked))
    return Locked(locked, len(rows) - locked, rows[-1][0].case_id)


# --- the safeguarding-only key ---------------------------------------------------------------------------

def sg_holders(session: Session, *, case_id: uuid.UUID) -> list[tuple[uuid.UUID, bytes]]:
    """(user id, public key) of the active safeguarding users holding the case's key."""
    return holders.holding_among(session, case_id=case_id, people_=person_keys.case_readers(session))


def sg_cipher_for_writing(session: Session, ring: KeyRing, *, case_id: uuid.UUID) -> CaseCipher:
    """The case's safeguarding-only cipher, its key made now if need be (NoCaseKey if it cannot be)."""
    if keys.has_sg_key(session, case_id):
        return keys.sg_cipher(session, ring, case_id)
    keys.case_cipher(session, ring, case_id)  # only someone who holds the case may add its second key
    return keys.new_sg_key(session, ring, case_id, sg_holders(session, case_id=case_id))


def older_sg_notes() -> ColumnElement[bool]:
    """SQL: safeguarding-only notes still sealed under the case key (from before the case had its own)."""
    return and_(Note.visibility == NoteVisibility.SAFEGUARDING, Note.under_sg_key.is_(False), Note.body_ct.is_not(None))


def seal_sg_notes(session: Session, ring: KeyRing, *, case_id: uuid.UUID) -> int:
    """Seal the case's older safeguarding-only notes under its safeguarding-only key; how many moved."""
    rows = session.scalars(select(Note).where(Note.case_id == case_id, older_sg_notes())).all()
    if not rows:
        return 0
    main = keys.case_cipher(session, ring, case_id)
    sg = sg_cipher_for_writing(session, ring, case_id=case_id)
    for note in rows:
        assert note.body_ct is not None
        note.body_ct = sg.encrypt(fields.NOTE_BODY, note.id, main.decrypt(fields.NOTE_BODY, note.id, note.body_ct))
        note.under_sg_key = True
    session.flush()
    return len(rows)


@dataclass(frozen=True)
class SealedNotes:
    """What `seal_older_notes` did: the cases moved (their files follow), notes moved, cases not opened."""

    cases: list[uuid.UUID]
    notes: int
    left: int


def seal_older_notes(session: Session, ring: KeyRing) -> SealedNotes:
    """Every case's older safeguarding-only notes under its safeguarding-only key, where this session
    opens the case's key (`seal-cases` runs it first).
    """
    done, notes, left = [], 0, 0
    for case_id in session.scalars(select(Note.case_id).where(older_sg_notes()).distinct().order_by(Note.case_id)).all():
        try:
            notes += seal_sg_notes(session, ring, case_id=case_id)
        except (NoCaseKey, Shredded):
            left += 1
            continue
        done.append(case_id)
    return SealedNotes(done, notes, left)


# --- the escrow key (off by default; docs/operations.md, "The escrow key") ------------------------------

class NoEscrow(Conflict):
    title, slug = "No escrow key", "no-escrow-key"


def cover_escrow(session: Session, *, by: User) -> int:
    """`safeshare escrow cover`: wrap every case key the actor holds to the escrow key; how many."""
    public = holders.escrow_public(session)
    if public is None:
        raise NoEscrow("No escrow key is configured: `safeshare escrow create` turns escrow on.")
    holding = holders.held(session)
    if holding is None or holding.user_id != by.id:
        raise person_keys.NoPersonKey(f"{by.email} holds no key pair.")
    count = 0
    for case_id, dek in sorted(holders.open_wraps(session, holders.held_cases(session, user_id=by.id)).items()):
        count += holders.escrow_wrap(session, case_id=case_id, dek=dek, public=public)
    sg_held = holders.held_cases(session, user_id=by.id, part=SAFEGUARDING_PART)
    for case_id, sg in sorted(holders.open_wraps(session, sg_held, SAFEGUARDING_PART).items()):
        holders.escrow_wrap(session, case_id=case_id, dek=sg, public=public, part=SAFEGUARDING_PART)
    audit.record(session, actor(by), "keys.escrow_covered", target=str(count))
    return count


def recover_from_escrow(session: Session, *, private: X25519PrivateKey, to: User) -> int:
    """`safeshare escrow recover`: wrap every escrowed case key to this safeguarding user (not those
    they are excluded from) and certify their key; audited without any key. How many they gained.
    """
    if not to.active or not to.may(Capability.READ_EVERY_CASE):
        raise Conflict(f"{to.email} is not an active safeguarding account: recover to one.")
    public = person_keys.public_key(session, to.id)
    if public is None:
        raise Conflict(f"{to.email} has no key pair yet: its owner must sign in with their own password first.")
    visible = set(session.scalars(access.visible_cases(session, to).with_only_columns(Case.id)))
    theirs = set(holders.held_cases(session, user_id=to.id))
    count = 0
    holders.hold_still(session, sorted(visible))
    for case_id, blob in holders.escrowed(session):
        if case_id not in visible or case_id in theirs:
            continue
        try:
            dek = people.unwrap_with(private, case_id, blob)
        except DecryptionError:
            continue  # a tampered wrap opens nothing; the others still move
        holders.wrap_to_person(session, case_id=case_id, user_id=to.id, public=public, dek=dek)
        count += 1
    theirs_sg = set(holders.held_cases(session, user_id=to.id, part=SAFEGUARDING_PART))
    for case_id, blob in holders.escrowed(session, SAFEGUARDING_PART):  # the safeguarding-only keys too
        if case_id not in visible or case_id in theirs_sg:
            continue
        try:
            sg = people.unwrap_with(private, case_id, blob, SAFEGUARDING_PART)
        except DecryptionError:
            continue
        holders.wrap_to_person(session, case_id=case_id, user_id=to.id, public=public, dek=sg, part=SAFEGUARDING_PART)
    holders.certify(session, user_id=to.id, by=None)
    audit.record(session, audit.Actor.system("escrow recover"), "keys.escrow_recovered", target=f"{to.id}:{count}")
    return count


@dataclass(frozen=True)
class KeyStanding:
    """A case-reading account as the console's key section shows it."""

    user: User
    has_key: bool
    certified: bool
    cases: int


def standing(session: Session) -> list[KeyStanding]:
    """Every active case-reading account's key pair, certification and case-key count."""
    found = []
    for user in session.scalars(select(User).where(User.active.is_(True)).order_by(User.name)):
        if not user.may(Capability.WORK_ON_CASES):
            continue
        row = holders.person_key(session, user.id)
        found.append(KeyStanding(user, row is not None, row is not None and holders.is_certified(session, row),
                                 holders.count_held(session, user_id=user.id) if row is not None else 0))
    return found


def few_holders(rows: list[KeyStanding]) -> bool:
    """Fewer than two safeguarding users hold certified keys: one lost password would lose the cases."""
    return sum(1 for r in rows if r.certified and r.user.may(Capability.READ_EVERY_CASE)) < 2
