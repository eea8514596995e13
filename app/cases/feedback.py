"""The reporter's closing survey: four ratings that outlive the case, and a comment that does not."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.cases.models import Case, Feedback
from app.crypto import fields, keys
from app.crypto.keyring import KeyRing
from app.enums import Status
from app.errors import Conflict

RATING_KEYS = ("listened_to", "kept_informed", "support_suitable", "would_recommend")


def requested(session: Session, case: Case) -> bool:
    """Closed, and no feedback given yet."""
    return case.status is Status.CLOSED and session.get(Feedback, case.id) is None


def give(session: Session, ring: KeyRing, *, case: Case, ratings: dict[str, int], comment: str | None) -> Feedback:
    """The reporter's closing feedback: once, and only after the case is closed (409 otherwise).

    `ratings` holds each of RATING_KEYS, already validated (1 to 5) by the caller's schema. The
    optional comment is encrypted under the case's key, so it is shredded with the case while
    the ratings stay for statistics.
    """
    if case.status is not Status.CLOSED:
        raise Conflict("Feedback can be given once the case is closed.")
    if session.get(Feedback, case.id) is not None:
        raise Conflict("Feedback has already been given for this case. Thank you.")
    feedback = Feedback(case_id=case.id, **{k: ratings[k] for k in RATING_KEYS})
    if comment:
        feedback.comment_ct = keys.case_cipher(session, ring, case.id).encrypt(fields.FEEDBACK_COMMENT, case.id, comment)
    session.add(feedback)
    try:
        session.flush()
    except IntegrityError:  # a concurrent second submission lost the race
        raise Conflict("Feedback has already been given for this case. Thank you.") from None
    audit.record(session, audit.REPORTER, "feedback.create", case_id=case.id)
    return feedback
