"""Casework: the safeguarding team's and HR contacts' side of a case.

Every function takes the session first and keyword-only arguments after it, flushes but never
commits, writes its audit row in the same transaction and raises `AppError`s. The case itself is
always loaded by the caller through `app.cases.access` (the one scoping query).
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, exists, func, or_, select, true
from sqlalchemy import case as sql_case
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from app import clock, dialect
from app.audit import service as audit
from app.audit.models import AuditEvent
from app.audit.service import Actor
from app.auth.models import User
from app.auth.permissions import Capability
from app.auth.service import actor
from app.cases import access, keyholders, referrals, search, thread
from app.cases import risk as risk_words
from app.cases.models import Case, CaseTheme, Exclusion, Feedback, Message, Note, Referral
from app.cases.schemas import CaseUpdate
from app.cases.views import (
    ACKNOWLEDGE_WITHIN,
    FEEDBACK_WITHIN_MONTHS,
    CaseContent,
    CaseFilter,
    CaseRow,
    add_months,
    add_years,
    deadlines,
)
from app.config import Settings
from app.crypto import fields, holders, keys, receipts
from app.crypto.envelope import CaseCipher, NoCaseKey, Shredded
from app.crypto.keyring import KeyRing
from app.enums import IdentitySharing, NoteVisibility, Outcome, Risk, Sender, Status
from app.errors import Conflict, Forbidden, Invalid, NotFound
from app.locations import service as locations
from app.themes.models import Theme

# --- listing -----------------------------------------------------------------------------------


def _last_staff_message() -> Any:
    return (
        select(func.max(Message.created_at))
        .where(Message.case_id == Case.id, Message.sender == Sender.STAFF)
        .correlate(Case)
        .scalar_subquery()
    )


def _users(session: Session, ids: set[uuid.UUID | None]) -> dict[uuid.UUID, User]:
    """These users, from the session's identity map where a page has already loaded them."""
    found: dict[uuid.UUID, User] = {}
    for i in {i for i in ids if i is not None}:
        held = session.identity_map.get(identity_key(User, i))
        if isinstance(held, User):
            found[i] = held
    wanted = {i for i in ids if i is not None and i not in found}
    if wanted:
        found.update({u.id: u for u in session.scalars(select(User).where(User.id.in_(wanted)))})
    return found


def _overdue(now: datetime) -> ColumnElement[bool]:
    """The EU deadlines of `deadlines()` as SQL: open, and not acknowledged within 7 days, or no word
    to the reporter for 3 months. (The 3 months are counted back from now, so a case whose clock
    started on the 29th to 31st of a month can be flagged a day or two apart from its row's flag.)"""
    cutoff = add_months(now, -FEEDBACK_WITHIN_MONTHS)
    late_word = exists().where(
        Message.case_id == Case.id, Message.sender == Sender.STAFF, Message.created_at >= cutoff
    )
    return and_(
        Case.status != Status.CLOSED,
        or_(
            and_(Case.acknowledged_at.is_(None), Case.received_at < now - ACKNOWLEDGE_WITHIN),
            and_(Case.acknowledged_at.is_not(None), Case.acknowledged_at < cutoff, ~late_word),
        ),
    )


def _needs_new_contact() -> ColumnElement[bool]:
    inactive = select(User.id).where(User.active.is_(False))
    return and_(Case.status != Status.CLOSED, Case.hr_contact_id.in_(inactive))


def _needs_new_owner() -> ColumnElement[bool]:
    inactive = select(User.id).where(User.active.is_(False))
    return and_(Case.status != Status.CLOSED, Case.owner_id.in_(inactive))


def list_cases(
    session: Session,
    *,
    user: User,
    filters: CaseFilter,
    page: int,
    page_size: int,
    also_overdue: ColumnElement[bool] | None = None,
    ring: KeyRing | None = None,
) -> tuple[list[CaseRow], int]:
    """The cases this user may see, urgent first, then oldest (or newest) first. No decrypted content.

    `filters.search` keeps those whose texts hold its words (`app.cases.search`, with `ring`),
    audited as `case.search` without the words.

    `also_overdue` widens the `overdue` filter with another package's deadlines (a check-in
    overdue), given as SQL over `Case`.
    """
    access.require_caseworker(user)
    now = clock.now()
    q = access.visible_cases(session, user)
    if filters.statuses:
        q = q.where(Case.status.in_(filters.statuses))
    if filters.theme is not None:
        q = q.where(exists().where(CaseTheme.case_id == Case.id, CaseTheme.theme_slug == filters.theme))
    if filters.risk is not None:
        q = q.where(Case.risk == filters.risk)
    if filters.hr_contact is not None:
        q = q.where(Case.hr_contact_id == filters.hr_contact)
    if filters.unassigned:
        q = q.where(Case.hr_contact_id.is_(None))
    if filters.needs_new_hr_contact:
        q = q.where(_needs_new_contact())
    if filters.overdue:
        late = [_overdue(now), referrals.open_overdue(clock.today())]
        q = q.where(or_(*late) if also_overdue is None else or_(*late, also_overdue))
    if filters.owner is not None:
        q = q.where(Case.owner_id == filters.owner)
    if filters.no_owner:
        q = q.where(Case.owner_id.is_(None))
    if filters.needs_new_owner:
        q = q.where(_needs_new_owner())
    if filters.open_referral:
        q = q.where(referrals.any_open())
    if filters.reference is not None:
        q = q.where(Case.reference == (receipts.normalise_reference(filters.reference) or filters.reference))
    if filters.attention_first:
        is_open = Case.status != Status.CLOSED
        risky = or_(Case.risk == Risk.URGENT, Case.risk_flagged_at.is_not(None))
        order: list[Any] = [sql_case((and_(is_open, risky), 0), (is_open, 1), else_=2),
                 sql_case((is_open, Case.received_at), else_=None), Case.received_at.desc()]
    else:
        received = Case.received_at.desc() if filters.newest_first else Case.received_at
        order = [sql_case((Case.risk == Risk.URGENT, 0), else_=1), received]
    last_msg = _last_staff_message().label("last_staff_message_at")
    late_referral = referrals.open_overdue(clock.today()).label("referral_overdue")
    if filters.search is not None:
        if ring is None:
            raise ValueError("a search inside cases needs the key ring")
        # Visibility, exclusions and filters in SQL first; then the words, case by case, in order.
        found = search.matching(session, ring, scope=q, order=order, stems=search.stems_of(filters.search),
                                safeguarding=user.may(Capability.READ_EVERY_CASE))
        audit.record(session, actor(user), "case.search")  # that a search happened, never its words
        total = len(found)
        shown = found[(page - 1) * page_size:page * page_size]
        rows = session.execute(q.where(Case.id.in_(shown)).add_columns(last_msg, late_referral)
                               .order_by(*order, Case.id)).all() if shown else []
    else:
        total = session.scalar(select(func.count()).select_from(q.order_by(None).subquery())) or 0
        rows = session.execute(
            q.add_columns(last_msg, late_referral)
            .order_by(*order, Case.id)
            .offset((page - 1) * page_size)
            .limit(page_size)
        ).all()
    users = _users(session, {r[0].hr_contact_id for r in rows} | {r[0].owner_id for r in rows})
    return [
        CaseRow(
            c,
            users.get(c.hr_contact_id) if c.hr_contact_id else None,
            deadlines(c, last_staff_message_at=last, now=now),
            bool(late),
            users.get(c.owner_id) if c.owner_id else None,
        )
        for c, last, late in rows
    ], total


def refused_search(session: Session, *, user: User, reference: str) -> access.CaseRefused | None:
    """A search by a reference that names a case this user may not see: a refused attempt (to be
    audited as `case.refused`), else None."""
    wanted = receipts.normalise_reference(reference) or reference
    case_id = session.scalar(select(Case.id).where(Case.reference == wanted))
    return access.refusal(session, user, case_id, how="search") if case_id is not None else None


REFUSALS_SHOWN_FOR = timedelta(days=30)


def recent_refusals(session: Session, *, user: User, case_id: uuid.UUID | None = None
                    ) -> list[tuple[AuditEvent, str, str]]:
    """Refused attempts on cases (`case.refused`) of the last 30 days, newest first, for the
    safeguarding team: (entry, the case's reference, who tried). Never those of a case the viewer
    is excluded from. Only one case's with `case_id`."""
    if not user.may(Capability.READ_EVERY_CASE):
        return []
    visible = access.visible_cases(session, user).with_only_columns(Case.id)
    q = (
        select(AuditEvent, Case.reference, User.name)
        .join(Case, Case.id == AuditEvent.case_id)
        .outerjoin(User, User.id == AuditEvent.actor_id)
        .where(AuditEvent.action == "case.refused", AuditEvent.at >= clock.now() - REFUSALS_SHOWN_FOR,
               AuditEvent.case_id.in_(visible))
    )
    if case_id is not None:
        q = q.where(AuditEvent.case_id == case_id)
    return [(e, ref, name or e.actor) for e, ref, name in session.execute(q.order_by(AuditEvent.id.desc()).limit(50))]


def unread_by(session: Session, *, user: User, case_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """The cases among `case_ids` with a message from the reporter that `user` has not read yet:
    newer than the last time the audit trail saw them read the thread."""
    if not case_ids:
        return set()
    last_read = audit.last_read_at(user_id=user.id, case_id=Message.case_id, target="messages")
    return set(
        session.scalars(
            select(Message.case_id)
            .where(Message.case_id.in_(case_ids), Message.sender == Sender.REPORTER)
            .group_by(Message.case_id)
            .having(or_(last_read.is_(None), func.max(Message.created_at) > last_read))
        )
    )


def rows_by_id(session: Session, *, user: User, case_ids: list[uuid.UUID]) -> dict[uuid.UUID, CaseRow]:
    """These cases as list rows, those this user may see (in one query, for a list of check-ins)."""
    if not case_ids:
        return {}
    last_msg = _last_staff_message().label("last_staff_message_at")
    late_referral = referrals.open_overdue(clock.today()).label("referral_overdue")
    rows = session.execute(
        access.visible_cases(session, user).where(Case.id.in_(case_ids)).add_columns(last_msg, late_referral)
    ).all()
    users = _users(session, {r[0].hr_contact_id for r in rows} | {r[0].owner_id for r in rows})
    now = clock.now()
    return {
        c.id: CaseRow(c, users.get(c.hr_contact_id) if c.hr_contact_id else None,
                      deadlines(c, last_staff_message_at=last, now=now), bool(late),
                      users.get(c.owner_id) if c.owner_id else None)
        for c, last, late in rows
    }


def case_row(session: Session, *, case: Case, messages: list[Message] | None = None,
             case_referrals: list[Referral] | None = None) -> CaseRow:
    """The case as listed. A caller that has already read the case's whole thread and its referrals
    (the case page) passes them, and they are not asked for again."""
    if messages is None:
        last = session.scalar(
            select(func.max(Message.created_at)).where(Message.case_id == case.id, Message.sender == Sender.STAFF)
        )
    else:
        last = max((m.created_at for m in messages if m.sender is Sender.STAFF), default=None)
    today = clock.today()
    if case_referrals is None:
        overdue = referrals.is_overdue(session, case=case, today=today)
    else:
        overdue = case.status is not Status.CLOSED and any(
            r.completed_on is None and r.due_on is not None and r.due_on < today for r in case_referrals)
    contact = session.get(User, case.hr_contact_id) if case.hr_contact_id else None
    owner = session.get(User, case.owner_id) if case.owner_id else None
    return CaseRow(case, contact, deadlines(case, last_staff_message_at=last, now=clock.now()), overdue, owner)


# --- reading -----------------------------------------------------------------------------------


def read_content(session: Session, ring: KeyRing, *, user: User, case: Case, audited: bool = True) -> CaseContent:
    """Decrypt the case's description, reporter identity and closing summary. Audited as `case.read`."""
    if audited:
        audit.record(session, actor(user), "case.read", case_id=case.id, target="case")
    if case.purged_at is not None:
        return CaseContent(None, None, None)
    try:
        cipher = keys.case_cipher(session, ring, case.id)
    except Shredded:  # an erased case in a copy made before its purge: its key is destroyed
        return CaseContent(None, None, None)
    except NoCaseKey:  # issue 27: the reader holds no key to it; a holder may grant one
        return CaseContent(None, None, None, access=False)

    def clear(field: fields.Field, blob: bytes | None) -> str | None:
        return None if blob is None else cipher.decrypt(field, case.id, blob)

    reporter = None if case.anonymous else clear(fields.CASE_REPORTER, case.reporter_ct)
    signals = clear(fields.CASE_RISK_SIGNALS, case.risk_signals_ct)
    suggested = clear(fields.CASE_SUGGESTED_THEMES, case.suggested_themes_ct)
    return CaseContent(
        description=clear(fields.CASE_DESCRIPTION, case.description_ct),
        reporter=json.loads(reporter) if reporter is not None else None,
        summary=clear(fields.CASE_CLOSING_SUMMARY, case.closing_summary_ct),
        risk_signals=tuple(json.loads(signals)) if signals else (),
        suggested_themes=tuple(json.loads(suggested)) if suggested else (),
    )


def flag_risk(session: Session, ring: KeyRing, *, case: Case, text: str) -> list[str]:
    """A new text from or about the reporter (a message, a check-in's summary): its risk words
    (app.cases.risk) join the case's, and raise the "possible risk" flag again, even after a person
    had set the risk, since this is new. Never changes `risk`. Returns the words found in it."""
    found = risk_words.find_signals(text)
    if not found or case.purged_at is not None:
        return found
    cipher = keys.case_cipher(session, ring, case.id)
    known = json.loads(cipher.decrypt(fields.CASE_RISK_SIGNALS, case.id, case.risk_signals_ct)) \
        if case.risk_signals_ct is not None else []
    case.risk_signals_ct = cipher.encrypt(fields.CASE_RISK_SIGNALS, case.id, json.dumps(risk_words.merge(known, found)))
    case.risk_flagged_at = clock.now()
    session.flush()
    return found


# --- triage ------------------------------------------------------------------------------------


def _require_open(case: Case) -> None:
    if case.status is Status.CLOSED:
        raise Conflict("The case is closed.")


def _require_active_themes(session: Session, slugs: list[str], *, field: str) -> None:
    if not slugs:
        return
    rows = session.execute(select(Theme.slug, Theme.active).where(Theme.slug.in_(slugs)))
    found: dict[str, bool] = {slug: active for slug, active in rows}
    unknown = [s for s in slugs if s not in found]
    if unknown:
        raise Invalid(f"Unknown theme: {', '.join(unknown)}.", field=field)
    retired = [s for s in slugs if not found[s]]
    if retired:
        raise Invalid(f"This theme is no longer in use: {', '.join(retired)}.", field=field)


def triage(session: Session, *, user: User, case: Case, data: CaseUpdate) -> Case:
    """Set themes, primary theme, risk and wishes. The first primary theme triages the case (it
    does not acknowledge it: that is the first message to the reporter). Setting the risk lowers
    the "possible risk" flag (a person has looked at the words). Themes already on the case may stay even if retired since;
    anything newly added must be an active theme."""
    _require_open(case)
    given = data.triage_fields
    if not given:
        return case
    if "primary_theme" in given and data.primary_theme is None:
        raise Invalid("The primary theme can be changed but not removed.", field="primary_theme")
    for name in ("themes", "risk", "wishes"):
        if name in given and getattr(data, name) is None:
            raise Invalid("Leave the field out instead of sending null.", field=name)
    location = case.location
    if "location" in given:
        location = locations.resolve(session, data.location, current=case.location)

    current = set(case.theme_slugs)
    themes = list(dict.fromkeys(data.themes)) if data.themes is not None else list(case.theme_slugs)
    _require_active_themes(session, [t for t in themes if t not in current], field="themes")
    primary = data.primary_theme if data.primary_theme is not None else case.primary_theme
    if data.primary_theme is not None and data.primary_theme != case.primary_theme:
        _require_active_themes(session, [data.primary_theme], field="primary_theme")
    if primary is not None and primary not in themes:
        themes.append(primary)

    if set(themes) != current:
        kept = [t for t in case.themes if t.theme_slug in themes]
        added = [CaseTheme(theme_slug=s) for s in themes if s not in current]
        case.themes = sorted(kept + added, key=lambda t: t.theme_slug)  # the order a reload gives
    case.primary_theme = primary
    case.location = location
    if data.risk is not None:
        case.risk = data.risk
        case.risk_flagged_at = None  # a person has set the risk: the words have been looked at
    if data.wishes is not None:
        case.wishes = list(dict.fromkeys(w.value for w in data.wishes))
    if primary is not None:
        now = clock.now()
        if case.triaged_at is None:
            case.triaged_at = now
        if case.status is Status.RECEIVED:
            case.status = Status.TRIAGED
    session.flush()
    audit.record(session, actor(user), "case.triage", case_id=case.id)  # never the theme
    return case


# --- the HR point of contact -------------------------------------------------------------------


def _existing_user(session: Session, user_id: uuid.UUID, *, field: str = "user_id") -> User:
    target = session.get(User, user_id)
    if target is None:
        raise Invalid("No such user.", field=field)
    return target


def assign_hr_contact(session: Session, *, user: User, case: Case, user_id: uuid.UUID) -> bool:
    """Make `user_id` the case's single HR point of contact, replacing any earlier one.

    Returns whether the contact changed (assigning the current contact again changes nothing).
    The check-ins that go with a new contact are booked by `app.flows.assign_hr_contact`.
    """
    _require_open(case)
    contact = _existing_user(session, user_id)
    if not contact.may(Capability.READ_ASSIGNED_CASES):
        raise Conflict("This user does not hold the hr role.")
    if not contact.active:
        raise Conflict("This user's account is not active.")
    if access.is_excluded(session, case_id=case.id, user_id=contact.id):
        raise Conflict("This user is excluded from the case.")
    if case.hr_contact_id == contact.id:
        return False
    if case.hr_contact_id is not None:  # issue 27: the earlier contact's key to the case goes
        holders.drop_wrap(session, case_id=case.id, user_id=case.hr_contact_id)
    case.hr_contact_id = contact.id
    case.status = Status.IN_PROGRESS
    session.flush()
    audit.record(session, actor(user), "case.assign", case_id=case.id)  # never who
    return True


def _unassign(session: Session, *, user: User, case: Case) -> None:
    if case.hr_contact_id is not None:
        holders.drop_wrap(session, case_id=case.id, user_id=case.hr_contact_id)
    case.hr_contact_id = None
    if case.status is Status.IN_PROGRESS:
        case.status = Status.TRIAGED if case.primary_theme is not None else Status.RECEIVED
    session.flush()
    audit.record(session, actor(user), "case.unassign", case_id=case.id)


# --- the owner ---------------------------------------------------------------------------------


def set_owner(
    session: Session, ring: KeyRing, *, user: User, case: Case, owner_id: uuid.UUID | None, note: str | None = None
) -> bool:
    """Make `owner_id` (an active safeguarding user not excluded from the case) the case's owner,
    or nobody (None). Taking a case, handing it over or letting it go records a safeguarding-only
    handover note naming both people, with `note` under it; the audit entry says which of the three
    it was (`case.owner`, target `take`, `handover` or `release`), never who. Returns whether the
    owner changed (the same owner again changes nothing, and writes nothing)."""
    _require_not_purged(case)
    new: User | None = None
    if owner_id is not None:
        new = _existing_user(session, owner_id, field="owner_id")
        if not new.may(Capability.READ_EVERY_CASE):
            raise Conflict("Only a member of the safeguarding team can own a case.")
        if not new.active:
            raise Conflict("This user's account is not active.")
        if access.is_excluded(session, case_id=case.id, user_id=new.id):
            raise Conflict("This user is excluded from the case.")
    if case.owner_id == owner_id:
        return False
    before = session.get(User, case.owner_id) if case.owner_id else None
    case.owner_id = owner_id
    session.flush()
    if new is None:
        how, line = "release", f"{user.name} let the case go: nobody owns it now."
    elif new.id == user.id:
        how = "take"
        line = f"{user.name} took this case" + (f" over from {before.name}." if before else ".")
    else:
        how = "handover"
        line = f"{user.name} handed this case over to {new.name}" + (
            f" (it was {before.name}'s)." if before is not None and before.id != user.id else ".")
    if before is not None and not before.active:
        line += f" {before.name}'s account had been deactivated."
    body = line if not note else f"{line}\n\n{note}"
    add_note(session, ring, user=user, case=case, body=body, visibility=NoteVisibility.SAFEGUARDING, audited=False)
    audit.record(session, actor(user), "case.owner", case_id=case.id, target=how)  # never who
    return True


# --- identity sharing --------------------------------------------------------------------------


def set_identity_sharing(session: Session, *, user: User, case: Case, answer: IdentitySharing | None) -> bool:
    """Record the named reporter's answer about their identity going to a formal investigation, as
    they gave it (in the thread, by phone). 409 for an anonymous report or an erased case; null is
    refused (an answer, once given, is changed, not forgotten). Audited with the answer (not content).
    Returns whether it changed."""
    if answer is None:
        raise Invalid("Choose yes, no or ask me.", field="identity_sharing")
    _require_not_purged(case)
    if case.anonymous:
        raise Conflict("This report is anonymous: there is no identity to share.")
    if case.identity_sharing is answer:
        return False
    case.identity_sharing = answer
    session.flush()
    audit.record(session, actor(user), "case.identity_sharing", case_id=case.id, target=answer.value)
    return True


# --- exclusions --------------------------------------------------------------------------------


def exclude(
    session: Session, ring: KeyRing, *, user: User, case: Case, user_id: uuid.UUID, reason: str
) -> tuple[Exclusion, bool]:
    """Exclude a user from the case for good. If they are its HR contact they stop being it and
    the case goes back to `triaged` until someone else is assigned. Returns the exclusion and
    whether the case lost its HR contact (whose check-ins `app.flows.exclude` then cancels)."""
    _require_not_purged(case)
    target = _existing_user(session, user_id)
    if access.is_excluded(session, case_id=case.id, user_id=target.id):
        raise Conflict("This user is already excluded from the case.")
    cipher = keys.case_cipher(session, ring, case.id)
    row = Exclusion(id=uuid.uuid4(), case_id=case.id, user_lookup=access.exclusion_lookup(session, target.id),
                    created_by_id=user.id)
    row.user_ct = cipher.encrypt(fields.EXCLUSION_USER, row.id, str(target.id))
    row.reason_ct = cipher.encrypt(fields.EXCLUSION_REASON, row.id, reason)
    row.opened_as(target.id)
    session.add(row)
    session.flush()
    holders.drop_wrap(session, case_id=case.id, user_id=target.id)  # issue 27: their key to the case goes
    audit.record(session, actor(user), "case.exclude", case_id=case.id)  # never who
    unassigned = case.hr_contact_id == target.id
    if unassigned:
        _unassign(session, user=user, case=case)
    return row, unassigned


def list_exclusions(session: Session, ring: KeyRing, *, user: User, case: Case) -> list[tuple[Exclusion, str | None]]:
    """Every exclusion, its user opened (`Exclusion.user_id`), with its decrypted reason (audited
    as `case.read` of `exclusions`)."""
    audit.record(session, actor(user), "case.read", case_id=case.id, target="exclusions")
    rows = session.scalars(
        select(Exclusion).where(Exclusion.case_id == case.id).order_by(Exclusion.created_at, Exclusion.id)
    ).all()
    if case.purged_at is not None:
        return [(r, None) for r in rows]
    cipher = keys.case_cipher(session, ring, case.id)

    def opened(r: Exclusion) -> Exclusion:
        who = cipher.decrypt(fields.EXCLUSION_USER, r.id, r.user_ct) if r.user_ct is not None else None
        return r.opened_as(uuid.UUID(who) if who is not None else None)

    return [
        (opened(r), cipher.decrypt(fields.EXCLUSION_REASON, r.id, r.reason_ct) if r.reason_ct is not None else None)
        for r in rows
    ]


def people(session: Session, ids: set[uuid.UUID | None]) -> dict[uuid.UUID, User]:
    """Users by id, in one query (names for authors, contacts and exclusions)."""
    return _users(session, ids)


# --- notes and messages ------------------------------------------------------------------------


def _require_not_purged(case: Case) -> None:
    if case.purged_at is not None:
        raise Conflict("This case has been erased after its retention date.")


def add_note(
    session: Session, ring: KeyRing, *, user: User, case: Case, body: str,
    visibility: NoteVisibility = NoteVisibility.CASE_TEAM, audited: bool = True,
) -> Note:
    """An internal note, never shown to the reporter (encrypted). A `safeguarding` note is never
    shown to an HR contact, and only the safeguarding team may write one (403); it is sealed under
    the case's safeguarding-only key (made now if need be), which no HR contact holds, and the case's
    older such notes move under it too (issue 27)."""
    _require_not_purged(case)
    only_safeguarding = visibility is NoteVisibility.SAFEGUARDING
    if only_safeguarding and not user.may(Capability.READ_EVERY_CASE):
        raise Forbidden("Only the safeguarding team can write a note for the safeguarding team only.")
    note = Note(id=uuid.uuid4(), case_id=case.id, author_id=user.id, visibility=visibility,
                under_sg_key=only_safeguarding)
    cipher = keyholders.sg_cipher_for_writing(session, ring, case_id=case.id) if only_safeguarding \
        else keys.case_cipher(session, ring, case.id)
    if only_safeguarding:
        keyholders.seal_sg_notes(session, ring, case_id=case.id)
    note.body_ct = cipher.encrypt(fields.NOTE_BODY, note.id, body)
    session.add(note)
    session.flush()
    if audited:
        target = "safeguarding" if visibility is NoteVisibility.SAFEGUARDING else None
        audit.record(session, actor(user), "note.create", case_id=case.id, target=target)
    return note


def notes_seen_by(user: User) -> ColumnElement[bool]:
    """SQL over `Note`: the notes this user may read on a case they may see (an HR contact never
    reads a safeguarding-only note; `app.attachments` hides such a note's files the same way)."""
    if user.may(Capability.READ_EVERY_CASE):
        return true()
    return Note.visibility == NoteVisibility.CASE_TEAM


def note_cipher(session: Session, ring: KeyRing, note: Note) -> CaseCipher:
    """The cipher a note is sealed with: its case's safeguarding-only key or the case key
    (NoCaseKey when this session holds it not)."""
    return keys.sg_cipher(session, ring, note.case_id) if note.under_sg_key else keys.case_cipher(session, ring,
                                                                                                   note.case_id)


def read_notes(session: Session, ring: KeyRing, *, user: User, case: Case) -> list[tuple[Note, str]]:
    """The case's notes this user may read, oldest first, decrypted (audited as `case.read` of
    `notes`). A safeguarding-only note under a safeguarding-only key the reader does not hold (not
    granted it yet) is left out."""
    audit.record(session, actor(user), "case.read", case_id=case.id, target="notes")
    if case.purged_at is not None:
        return []
    keys.case_cipher(session, ring, case.id)  # NoCaseKey for a reader who does not hold the case
    rows = session.scalars(
        select(Note).where(Note.case_id == case.id, notes_seen_by(user)).order_by(Note.created_at, Note.id)
    ).all()
    found = []
    for n in rows:
        if n.body_ct is None:
            continue
        try:
            found.append((n, note_cipher(session, ring, n).decrypt(fields.NOTE_BODY, n.id, n.body_ct)))
        except NoCaseKey:
            continue
    return found


def send_message(session: Session, ring: KeyRing, *, user: User, case: Case, body: str) -> Message:
    """A message to the reporter. The first one acknowledges the case."""
    _require_not_purged(case)
    return thread.add_message(session, ring, case=case, sender=Sender.STAFF, body=body, author=user)


def read_messages(session: Session, ring: KeyRing, *, user: User, case: Case) -> list[tuple[Message, str]]:
    """The two-way thread, oldest first, decrypted (audited as `case.read` of `messages`)."""
    audit.record(session, actor(user), "case.read", case_id=case.id, target="messages")
    return thread.read_messages(session, ring, case)


# --- redaction --------------------------------------------------------------------------------

REDACTED = "[redacted]"


def redact(session: Session, ring: KeyRing, *, user: User, case: Case, kind: str, row_id: uuid.UUID,
           passage: str) -> tuple[Note | Message, str]:
    """Take a passage out of a note or a message (safeguarding): every occurrence of it becomes
    "[redacted]" and the text is sealed again, so the database keeps no trace of it (backups made
    before keep theirs until they expire). 404 for a note or message not of this case, 422 for a
    passage the text does not hold, 409 once the case is erased. Audited as `case.redact` with
    the kind of text, never the passage. Returns the row and its new text."""
    _require_not_purged(case)
    if not user.may(Capability.READ_EVERY_CASE):
        raise Forbidden("Only the safeguarding team can redact.")
    field = fields.NOTE_BODY if kind == "note" else fields.MESSAGE_BODY
    row: Note | Message | None
    if kind == "note":
        row = session.scalar(select(Note).where(Note.id == row_id, Note.case_id == case.id))
    else:
        row = session.scalar(select(Message).where(Message.id == row_id, Message.case_id == case.id))
    if row is None or row.body_ct is None:
        raise NotFound(f"No such {'note' if kind == 'note' else 'message'} on this case.")
    cipher = note_cipher(session, ring, row) if isinstance(row, Note) else keys.case_cipher(session, ring, case.id)
    text = cipher.decrypt(field, row.id, row.body_ct)
    wanted = passage.strip()
    if not wanted or wanted not in text:
        raise Invalid("Copy the passage exactly as it is written in the text (it was not found).", field="passage")
    cleaned = text.replace(wanted, REDACTED)
    row.body_ct = cipher.encrypt(field, row.id, cleaned)
    session.flush()
    audit.record(session, actor(user), "case.redact", case_id=case.id, target=kind)  # never the passage
    return row, cleaned


# --- closure -----------------------------------------------------------------------------------


def close(
    session: Session, ring: KeyRing, settings: Settings, *, user: User, case: Case, outcome: Outcome, summary: str
) -> Case:
    """Close the case with an outcome. Its retention date is set (closure date + retention years)
    and the reporter can now give feedback (`app.flows.close_case` also cancels the check-ins)."""
    _require_open(case)
    now = clock.now()
    case.status = Status.CLOSED
    case.closed_at = now
    case.outcome = outcome
    case.closing_summary_ct = keys.case_cipher(session, ring, case.id).encrypt(fields.CASE_CLOSING_SUMMARY, case.id, summary)
    case.retain_until = add_years(now.date(), settings.retention_years)
    keys.keep_until(session, ring, case.id, case.retain_until)  # purge destroys that day's key
    session.flush()
    audit.record(session, actor(user), "case.close", case_id=case.id, target=outcome.value)
    return case


# --- retention ---------------------------------------------------------------------------------


def _to_day(at: datetime) -> datetime:
    return datetime.combine(at.astimezone(UTC).date(), time(0), UTC)


def _to_day_if(at: datetime | None) -> datetime | None:
    return None if at is None else _to_day(at)


def erase(session: Session, *, case: Case, by: Actor) -> None:
    """The case's own part of an erasure (`app.retention` asks every package for its part).

    Kept: reference, received_month, primary theme, location, referrals' kinds and dates, channel, out_of_hours, about, anonymous, risk,
    status, outcome, the HR contact, feedback ratings, and the received/acknowledged/closed dates
    cut to the day (days to acknowledgement stay measurable; the time of day does not survive).
    Every ciphertext is dropped (the data key that sealed it is destroyed too), the exclusions
    are deleted, and every surviving time of the case's messages, notes, feedback and referrals
    (and the time of the purge itself) is cut to the day (00:00 UTC)."""
    case.description_ct = None
    case.reporter_ct = None
    case.closing_summary_ct = None
    case.risk_signals_ct = None
    case.risk_flagged_at = None
    case.receipt_lookup = None
    case.reporter_themes = []
    case.suggested_themes_ct = None
    case.wishes = []
    case.duration_minutes = None
    case.recorded_by_id = None
    case.themes = [t for t in case.themes if t.theme_slug == case.primary_theme]
    case.received_at = _to_day(case.received_at)
    case.created_at = _to_day(case.created_at)
    case.acknowledged_at = _to_day_if(case.acknowledged_at)
    case.triaged_at = _to_day_if(case.triaged_at)
    case.closed_at = _to_day_if(case.closed_at)
    # Who was excluded from the case (typically the person it was about) goes with it.
    session.execute(delete(Exclusion).where(Exclusion.case_id == case.id))
    # The rows stay (counts, ratings); their text goes and their time is cut to the day.
    for text in session.scalars(select(Message).where(Message.case_id == case.id)):
        text.body_ct, text.created_at = None, _to_day(text.created_at)
    for note in session.scalars(select(Note).where(Note.case_id == case.id)):
        note.body_ct, note.created_at = None, _to_day(note.created_at)
    for answer in session.scalars(select(Feedback).where(Feedback.case_id == case.id)):
        answer.comment_ct, answer.created_at = None, _to_day(answer.created_at)
    for referral in session.scalars(select(Referral).where(Referral.case_id == case.id)):
        referral.note_ct, referral.created_at = None, _to_day(referral.created_at)
    case.purged_at = _to_day(clock.now())
    session.flush()
    audit.record(session, by, "case.purge", case_id=case.id)


def purgeable(session: Session, *, today: date, limit: int) -> list[Case]:
    """Closed cases past their retention date and not yet purged (locked, skipping any another host holds)."""
    q = (
        select(Case)
        .where(Case.status == Status.CLOSED, Case.purged_at.is_(None), Case.retain_until < today)
        .order_by(Case.retain_until, Case.id)
        .limit(limit)
    )
    return list(session.scalars(dialect.for_update(q, session, skip_locked=True)).all())
