"""Who holds each case's key (issue 27), decided by the case's rules: every safeguarding user not
excluded from it, and its HR contact. The key is wrapped to a person by someone who holds it (the
session's own key, or the ring's master wrap before `seal-cases`), never by the server alone.

A case's safeguarding-only key (`app.crypto.keys.sg_cipher`: safeguarding-only notes and their
files) is made at its first such note and wrapped to the safeguarding users who hold the case's key;
grants and `seal-cases` pass it to safeguarding users only, never to an HR contact.
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
from app.crypto.people import SAFEGUARDING_PART
from app.enums import NoteVisibility
from app.errors import Conflict, Forbidden


def share(session: Session, ring: KeyRing, *, case_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    """Wrap the case's key to this person (a new HR contact) if they have a key pair and the acting
    session opens the key. False when it could not (they then ask a holder for a grant)."""
    public = person_keys.public_key(session, user_id)
    if public is None:
        return False
    try:
        dek = keys.data_key(session, ring, case_id)
    except (NoCaseKey, Shredded):
        return False
    holders.wrap_to_person(session, case_id=case_id, user_id=user_id, public=public, dek=dek)
    holders.escrow_wrap(session, case_id=case_id, dek=dek)
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
    """One action for every case the grantor holds: each such case the grantee may see (a
    safeguarding user not excluded from it, or an HR contact assigned to it) is wrapped to the
    grantee's key, which is then certified (intake wraps new cases to it). Audited
    (`keys.granted`). 403 for oneself; 409 when the grantee has no key pair yet or may not read
    cases."""
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
    """`safeshare seal-cases`: every case key the master key still wraps is wrapped to each active
    account with a key pair that may see the case (safeguarding users not excluded, the HR contact),
    its master wrap deleted, those safeguarding keys certified, and the deployment marked sealed.
    Returns how many case keys moved."""
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


# --- the safeguarding-only key ---------------------------------------------------------------------------

def sg_holders(session: Session, *, case_id: uuid.UUID) -> list[tuple[uuid.UUID, bytes]]:
    """(user id, public key) of the active safeguarding users who hold the case's key: whom its
    safeguarding-only key is wrapped to when it is made."""
    return holders.holding_among(session, case_id=case_id, people_=person_keys.case_readers(session))


def sg_cipher_for_writing(session: Session, ring: KeyRing, *, case_id: uuid.UUID) -> CaseCipher:
    """The case's safeguarding-only cipher, the key made now if the case has none yet (wrapped to
    `sg_holders`, and by the master key while the case key has a master wrap). NoCaseKey when the
    acting session holds neither it nor, to make it, the case's key."""
    if keys.has_sg_key(session, case_id):
        return keys.sg_cipher(session, ring, case_id)
    keys.case_cipher(session, ring, case_id)  # only someone who holds the case may add its second key
    return keys.new_sg_key(session, ring, case_id, sg_holders(session, case_id=case_id))


def older_sg_notes() -> ColumnElement[bool]:
    """SQL: a safeguarding-only note still sealed under the case key (written before its case had a
    safeguarding-only key)."""
    return and_(Note.visibility == NoteVisibility.SAFEGUARDING, Note.under_sg_key.is_(False), Note.body_ct.is_not(None))


def seal_sg_notes(session: Session, ring: KeyRing, *, case_id: uuid.UUID) -> int:
    """The case's older safeguarding-only notes sealed again under its safeguarding-only key (made
    if need be). Returns how many moved; NoCaseKey when the session cannot open both keys."""
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
    """What `seal_older_notes` did: the cases whose older safeguarding-only notes moved (their
    files follow, app.attachments), how many notes, and how many cases it could not open."""

    cases: list[uuid.UUID]
    notes: int
    left: int


def seal_older_notes(session: Session, ring: KeyRing) -> SealedNotes:
    """Every case's older safeguarding-only notes under its safeguarding-only key, where this
    session opens the case's key (the master wrap before `seal-cases`, else its person's wrap):
    `seal-cases` runs it first, and again when run once more in a deployment sealed before the
    safeguarding-only key existed."""
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
    """`safeshare escrow cover`: every case key the acting person holds (and the escrow key does not
    yet) is wrapped to the escrow key: cases sealed before escrow was turned on. Audited
    (`keys.escrow_covered`). Returns how many."""
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
    """`safeshare escrow recover`: every case key wrapped to the escrow key is wrapped, with the
    escrow private key the two shares rebuilt, to this safeguarding user, who must be active and
    have a key pair; a case they are excluded from is left out. Their key is then certified (intake
    wraps new cases to it). Audited (`keys.escrow_recovered`, the user and how many; never a key).
    Returns how many case keys they gained."""
    if not to.active or not to.may(Capability.READ_EVERY_CASE):
        raise Conflict(f"{to.email} is not an active safeguarding account: recover to one.")
    public = person_keys.public_key(session, to.id)
    if public is None:
        raise Conflict(f"{to.email} has no key pair yet: its owner must sign in with their own password first.")
    visible = set(session.scalars(access.visible_cases(session, to).with_only_columns(Case.id)))
    theirs = set(holders.held_cases(session, user_id=to.id))
    count = 0
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
    """Every active case-reading account: whether it has a key pair, is certified, and how many case
    keys it holds (the console's "Case keys" section, where holders grant)."""
    found = []
    for user in session.scalars(select(User).where(User.active.is_(True)).order_by(User.name)):
        if not user.may(Capability.WORK_ON_CASES):
            continue
        row = holders.person_key(session, user.id)
        found.append(KeyStanding(user, row is not None, row is not None and holders.is_certified(session, row),
                                 holders.count_held(session, user_id=user.id) if row is not None else 0))
    return found


def few_holders(rows: list[KeyStanding]) -> bool:
    """Fewer than two active safeguarding users hold certified keys: one lost password and recovery
    key would lose the cases."""
    return sum(1 for r in rows if r.certified and r.user.may(Capability.READ_EVERY_CASE)) < 2
