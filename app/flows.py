"""Operations that cross domains, in one place: what else happens when a case changes.

A domain never calls a domain above it. When an action in one domain has a consequence in
another (an HR contact assigned books a check-in and is told by e-mail; a case closed cancels its
check-ins), the interfaces (`app.api`, `app.web`) call the operation here, which calls each
domain in turn, in the request's one transaction. Reading this module tells the whole story of
side effects: each is a call here, in the order written. Statistics: every operation that
changes what the roll-up counts (a new case, triage, the first message to the reporter, feedback)
marks its month stale (`rollup.mark_stale`). Before any transaction commits, `finish` writes the
account notices it recorded to the outbox; `commit` is both (docs/architecture.md, "Side effects").
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence

from sqlalchemy.orm import Session

from app import db
from app.attachments import service as attachments
from app.auth import keys as person_keys
from app.auth import service as auth
from app.auth.models import User
from app.auth.permissions import Capability
from app.cases import feedback, intake, keyholders
from app.cases import service as cases
from app.cases.models import Case, Exclusion, Feedback, Message, Note
from app.cases.schemas import CaseCreate, CaseUpdate, ReportIn
from app.checkins import service as checkins
from app.checkins.models import CheckIn
from app.config import Settings
from app.crypto.keyring import KeyRing
from app.enums import Channel, NoteVisibility, Outcome, Risk, Sender
from app.equality import service as equality
from app.notify import service as notify
from app.reports import idempotency
from app.reports import service as reports
from app.reports.schemas import ReportOut
from app.saved_views import service as saved_views
from app.signposting import service as signposting
from app.stats import rollup


def finish(session: Session) -> None:
    """What every transaction does last, before its COMMIT: the account notices recorded in it
    (`app.auth.notices`) join the e-mail outbox. A commit that skips this is refused
    (`app.db.refuse_unfinished`), so no path can lose one. (The audit chain follows at COMMIT.)"""
    notify.account_notices(session)


def commit(session: Session) -> None:
    """`finish`, then the commit (`app.db.commit`: a read-only request's audit entries after it)."""
    finish(session)
    db.commit(session)


def submit_report(
    session: Session,
    ring: KeyRing,
    settings: Settings,
    *,
    data: ReportIn,
    idempotency_key: idempotency.IdempotencyKey | None = None,
    files: Sequence[attachments.Prepared] = (),
) -> intake.NewCase:
    """A concern raised online: the safeguarding team is told. With a claimed Idempotency-Key, the
    key is completed in this same transaction, holding the answer (encrypted) for a retry.
    Equality answers, if any, go to `app.equality`'s pool with nothing but the month. Files sent
    with the form (already cleaned) are stored on the new case."""
    # Who the case concerns (told of it, its key wrapped to them): one read, apart from the writes.
    readers = person_keys.new_case_readers(session)
    ready = intake.prepare(session, ring, settings, data=data, channel=Channel.WEB, readers=readers)
    # On SQLite the first write takes the database's write lock, held to the COMMIT: everything
    # above it (reads apart, CPU work) happens before, and the writes follow one another.
    # The month's statistics are counted afresh: on PostgreSQL in the case's own statement.
    new = intake.store(session, ready, along=[rollup.stale_mark(session, ready.month)])
    if files:
        case = session.get(Case, new.id)
        assert case is not None
        for file in files:
            attachments.store(session, ring, settings, case=case, prepared=file, sender=Sender.REPORTER)
    if data.equality is not None:
        equality.pool(session, ring, answers=data.equality, month=new.received_at.strftime("%Y-%m"), min_cell=settings.min_cell)
    if idempotency_key is not None:
        idempotency.complete(session, idempotency_key, case_id=new.id, response=ReportOut.of(new).model_dump(mode="json"))
    notify.new_concern(session, case_id=new.id, urgent=False, to=readers.team)
    return new


def record_contact(
    session: Session, ring: KeyRing, settings: Settings, *, user: User, data: CaseCreate
) -> tuple[Case, str]:
    """A contact received by phone, e-mail or in person: the rest of the safeguarding team is told.
    Equality answers, if any, go to `app.equality`'s pool with nothing but the month."""
    case, receipt = intake.record_contact(session, ring, settings, user=user, data=data)
    rollup.mark_case(session, case)
    if data.equality is not None:
        equality.pool(session, ring, answers=data.equality, month=case.received_month, min_cell=settings.min_cell)
    notify.new_concern(session, case_id=case.id, urgent=case.risk is Risk.URGENT, by=user)
    return case, receipt


def triage(session: Session, *, user: User, case: Case, data: CaseUpdate) -> Case:
    """A case newly marked urgent is announced to the rest of the safeguarding team at once."""
    was_urgent = case.risk is Risk.URGENT
    cases.triage(session, user=user, case=case, data=data)
    rollup.mark_case(session, case)  # the primary theme, the location, when triaged
    if case.risk is Risk.URGENT and not was_urgent:
        notify.marked_urgent(session, case=case, by=user)
    return case


def update_case(session: Session, ring: KeyRing, *, user: User, case: Case, data: CaseUpdate) -> Case:
    """`PATCH /cases/{id}`: the owner (if given) and then triage (if any of its fields are given,
    or nothing at all is, as before owners existed)."""
    if "owner_id" in data.model_fields_set:
        set_owner(session, ring, user=user, case=case, owner_id=data.owner_id, note=data.handover_note)
    if "identity_sharing" in data.model_fields_set:
        cases.set_identity_sharing(session, user=user, case=case, answer=data.identity_sharing)
    if data.triage_fields or not data.model_fields_set:
        triage(session, user=user, case=case, data=data)
    return case


def set_owner(
    session: Session, ring: KeyRing, *, user: User, case: Case, owner_id: uuid.UUID | None, note: str | None = None
) -> None:
    """A new owner other than the person acting is told by e-mail; the handover note is the case's."""
    if cases.set_owner(session, ring, user=user, case=case, owner_id=owner_id, note=note):
        notify.owner(session, case=case, by=user)


def assign_hr_contact(session: Session, settings: Settings, *, user: User, case: Case, user_id: uuid.UUID,
                      ring: KeyRing | None = None) -> None:
    """A new HR point of contact books the first check-in (the previous contact's open ones are
    cancelled), is told by e-mail, and gets the case's key from the assigner (issue 27)."""
    if cases.assign_hr_contact(session, user=user, case=case, user_id=user_id):
        assert case.hr_contact_id is not None
        if ring is not None:
            keyholders.share(session, ring, case_id=case.id, user_id=case.hr_contact_id)
        checkins.schedule_first(session, settings, case_id=case.id, hr_contact_id=case.hr_contact_id)
        notify.assigned(session, case=case, by=user)


def exclude(session: Session, ring: KeyRing, *, user: User, case: Case, user_id: uuid.UUID, reason: str) -> Exclusion:
    """Excluding the case's HR contact also ends their open check-ins."""
    row, unassigned = cases.exclude(session, ring, user=user, case=case, user_id=user_id, reason=reason)
    if unassigned:
        checkins.cancel_open(session, case_id=case.id)
    return row


def close_case(
    session: Session, ring: KeyRing, settings: Settings, *, user: User, case: Case, outcome: Outcome, summary: str
) -> Case:
    """A closed case has no check-in due any more. A closure by an HR contact (not safeguarding)
    is told to the safeguarding team."""
    cases.close(session, ring, settings, user=user, case=case, outcome=outcome, summary=summary)
    checkins.cancel_open(session, case_id=case.id)
    if not user.may(Capability.READ_EVERY_CASE):
        notify.closed_by_hr(session, case=case, by=user)
    return case


def reporter_message(
    session: Session, ring: KeyRing, *, case: Case, body: str, attachment_ids: Sequence[uuid.UUID] = (),
    settings: Settings | None = None, files: Sequence[attachments.Prepared] = (),
) -> Message:
    """The reporter wrote: their HR contact (or the safeguarding team) is told. Files they
    uploaded (`attachment_ids`), or chose in the page's form (`files`, cleaned), are shown on it."""
    message = reports.post_message(session, ring, case=case, body=body)
    ids = list(attachment_ids) + _store(session, ring, settings, case=case, files=files, sender=Sender.REPORTER)
    attachments.attach(session, case=case, ids=ids, sender=Sender.REPORTER, author=None, message=message)
    found = cases.flag_risk(session, ring, case=case, text=body)
    notify.reporter_message(session, case=case, risk_words=bool(found))
    return message


def complete_check_in(
    session: Session, ring: KeyRing, settings: Settings, *, user: User, case_id: uuid.UUID, check_in_id: uuid.UUID,
    summary: str, support_suitable: bool,
) -> tuple[CheckIn, CheckIn]:
    """A check-in recorded: risk words in its summary raise the case's "possible risk" flag, and
    they, or "support not suitable" on an urgent case, tell the safeguarding team."""
    done, following = checkins.complete(session, ring, settings, user, case_id=case_id, check_in_id=check_in_id,
                                        summary=summary, support_suitable=support_suitable)
    case = session.get(Case, case_id)
    assert case is not None
    found = cases.flag_risk(session, ring, case=case, text=summary)
    notify.check_in_recorded(session, case=case, by=user, unsuitable=not support_suitable, risk_words=bool(found))
    return done, following


def staff_message(
    session: Session, ring: KeyRing, *, user: User, case: Case, body: str, attachment_ids: Sequence[uuid.UUID] = (),
    settings: Settings | None = None, files: Sequence[attachments.Prepared] = (),
) -> Message:
    """A message to the reporter, with files the writer uploaded shown on it (the reporter may download them)."""
    message = _to_reporter(session, ring, user=user, case=case, body=body)
    ids = list(attachment_ids) + _store(session, ring, settings, case=case, files=files, sender=Sender.STAFF, author=user)
    attachments.attach(session, case=case, ids=ids, sender=Sender.STAFF, author=user, message=message)
    return message


def add_note(
    session: Session, ring: KeyRing, *, user: User, case: Case, body: str, attachment_ids: Sequence[uuid.UUID] = (),
    settings: Settings | None = None, files: Sequence[attachments.Prepared] = (),
    visibility: NoteVisibility = NoteVisibility.CASE_TEAM,
) -> Note:
    """An internal note, with files the writer uploaded on it (seen as the note is, never by the reporter)."""
    note = cases.add_note(session, ring, user=user, case=case, body=body, visibility=visibility)
    ids = list(attachment_ids) + _store(session, ring, settings, case=case, files=files, sender=Sender.STAFF, author=user)
    attachments.attach(session, case=case, ids=ids, sender=Sender.STAFF, author=user, note=note)
    if note.under_sg_key:  # its files (and older such notes' files) under the safeguarding-only key too
        attachments.seal_note_files(session, ring, case_id=case.id)
    return note


def seal_cases(session: Session, ring: KeyRing, *, user: User,
               done: Callable[[int], None] | None = None) -> tuple[int, keyholders.SealedNotes]:
    """`safeshare seal-cases`: first every older safeguarding-only note (and its files) the acting
    session can open goes under its case's safeguarding-only key, then every case key (and
    safeguarding-only key) the master key still wraps is wrapped to people (`keyholders.seal_cases`).
    Returns how many case keys moved, and what happened to the notes."""
    notes = keyholders.seal_older_notes(session, ring)
    for case_id in notes.cases:
        attachments.seal_note_files(session, ring, case_id=case_id)
    saved_views.seal_to_owners(session, ring)  # saved searches: to their owners' own keys
    return keyholders.seal_cases(session, ring, by=user, done=done), notes


def signpost(
    session: Session, ring: KeyRing, *, user: User, case: Case, entry_ids: Sequence[uuid.UUID], message: str | None
) -> tuple[Message, str]:
    """Organisations from the support directory sent to the reporter in one message of the thread,
    and recorded on the case (`case.signpost`, with how many). Returns the message and its text."""
    entries = signposting.chosen(session, entry_ids)
    body = signposting.compose(entries, message=message)
    sent = _to_reporter(session, ring, user=user, case=case, body=body)
    signposting.record_sent(session, by=auth.actor(user), case_id=case.id, entries=entries)
    return sent, body


def give_feedback(session: Session, ring: KeyRing, *, case: Case, ratings: dict[str, int], comment: str | None
                  ) -> Feedback:
    """The reporter's feedback on a closed case: its month's figures are stale."""
    given = feedback.give(session, ring, case=case, ratings=ratings, comment=comment)
    rollup.mark_stale(session, [given.created_at.strftime("%Y-%m")])
    return given


def _to_reporter(session: Session, ring: KeyRing, *, user: User, case: Case, body: str) -> Message:
    """A staff message in the thread; the first one acknowledges the case (a counted date)."""
    acknowledged = case.acknowledged_at is not None
    message = cases.send_message(session, ring, user=user, case=case, body=body)
    if not acknowledged:
        rollup.mark_case(session, case)
    return message


def _store(
    session: Session, ring: KeyRing, settings: Settings | None, *, case: Case, files: Sequence[attachments.Prepared],
    sender: Sender, author: User | None = None,
) -> list[uuid.UUID]:
    """Files a page's form chose, already cleaned, stored on the case (their ids, to show them)."""
    if not files:
        return []
    assert settings is not None
    return [attachments.store(session, ring, settings, case=case, prepared=p, sender=sender, author=author).id
            for p in files]
