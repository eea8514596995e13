"""Intake of concerns and the reporter's thread. Shared by the web form, the API and staff-recorded contacts."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import bindparam, delete, exists, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from app import clock
from app.audit import service as audit
from app.audit.service import Actor
from app.auth.models import User
from app.cases.models import Case, CaseKey, Feedback, Message
from app.checkins import service as checkins
from app.config import Settings
from app.crypto import envelope, receipts
from app.crypto import service as crypto
from app.crypto.keyring import KeyRing
from app.enums import Channel, Risk, Sender, Status
from app.errors import AppError, Conflict, Invalid, Unauthorized
from app.reports.models import IdempotencyRecord, ReporterSession
from app.reports.schemas import ReportIn
from app.themes import service as themes
from app.themes.suggest import suggest_themes
from app.throttle import Throttle, client_bucket, key_bucket


def receipt_lookup(ring: KeyRing, normalised_receipt: str) -> bytes:
    return ring.lookup_hash("receipt", normalised_receipt)


@dataclass(frozen=True)
class NewCase:
    """What intake hands back: the new case's id and reference, and its receipt (shown once)."""

    id: uuid.UUID
    reference: str
    received_at: datetime
    receipt: str


@lru_cache(maxsize=None)
def _intake_statements(dialect_name: str, columns: tuple[str, ...]) -> tuple[Any, Any | None]:
    """The INSERTs of a new case, its wrapped key and (on PostgreSQL) its audit entry, built once.

    The case goes in with ON CONFLICT (reference) DO NOTHING: nothing back means the reference
    was taken, and the caller draws another. On PostgreSQL one statement writes all three rows
    (data-modifying CTEs: the key and the audit entry take the case's id from the case's
    INSERT, and the chain's head advances only if the case went in), so a submission costs one
    round trip before its COMMIT. SQLite runs the key's INSERT as a second statement, and the
    audit entry joins the chain at commit as every other entry does.
    """
    cases, keys = Case.__table__, CaseKey.__table__
    # Named apart from every column of the tables in the statement: a parameter named like a
    # column of audit_head would otherwise be taken as a value to SET there.
    params = {name: bindparam(f"new_case_{name}", type_=cases.c[name].type) for name in columns}
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    insert_case = dialect.insert(cases).values(params).on_conflict_do_nothing(index_elements=["reference"])
    kek_id = bindparam("kek_id", type_=keys.c.kek_id.type)
    wrapped_key = bindparam("wrapped_key", type_=keys.c.wrapped_key.type)
    if dialect_name != "postgresql":
        insert_key = insert(keys).values(case_id=bindparam("new_case_id", type_=keys.c.case_id.type), kek_id=kek_id,
                                         wrapped_key=wrapped_key)
        return insert_case.returning(cases.c.id), insert_key
    new_case = insert_case.returning(cases.c.id).cte("new_case")
    new_key = (
        insert(keys)
        .from_select(["case_id", "kek_id", "wrapped_key"], select(new_case.c.id, kek_id, wrapped_key))
        .returning(keys.c.case_id)
        .cte("new_key")
    )
    head = audit.head_update(only_if=exists(select(new_key.c.case_id))).cte("head")
    return audit.append_from(head, case_id=new_key.c.case_id, source=new_key), None


def create_case(
    session: Session,
    ring: KeyRing,
    settings: Settings,
    *,
    data: ReportIn,
    channel: Channel,
    received_at: datetime | None = None,
    duration_minutes: int | None = None,
    recorded_by: User | None = None,
) -> NewCase:
    """Store a new concern and return it with its receipt (shown once, never stored in clear).

    The description and the reporter's identity are encrypted under the case's own data key;
    the receipt is kept only as a keyed lookup hash. This is the busiest write path, so it
    skips the ORM's unit of work and any read-before-write: see `_intake_statements`.
    """
    # The CPU-only work before the first statement: on SQLite that statement takes the write lock.
    suggested = suggest_themes(data.description)
    received_at = received_at or clock.now()
    receipt = receipts.new_receipt()
    normalised = receipts.normalise(receipt)
    assert normalised is not None
    case_id = uuid.uuid4()
    dek = envelope.new_data_key()
    kek_id, wrapped = envelope.wrap_data_key(ring, case_id, dek)
    cipher = envelope.CaseCipher(case_id, dek)
    reporter_ct = None
    if data.reporter is not None:
        identity = json.dumps(data.reporter.model_dump(mode="json"), sort_keys=True)
        reporter_ct = cipher.encrypt("cases", "reporter", case_id, identity)
    columns = {  # every column with a default too: inside a CTE, SQLAlchemy does not fill those in
        "id": case_id,
        "channel": channel,
        "status": Status.RECEIVED,
        "risk": Risk.STANDARD,
        "created_at": clock.now(),
        "anonymous": data.anonymous,
        "about": data.about,
        "description_ct": cipher.encrypt("cases", "description", case_id, data.description),
        "reporter_ct": reporter_ct,
        "receipt_lookup": receipt_lookup(ring, normalised),
        "reporter_themes": themes.require_known(session, data.themes, field="themes"),
        "suggested_themes": suggested,
        "wishes": [w.value for w in data.wishes],
        "received_at": received_at,
        "received_month": received_at.strftime("%Y-%m"),
        "out_of_hours": settings.hours.is_out_of_hours(received_at),
        "duration_minutes": duration_minutes,
        "recorded_by_id": recorded_by.id if recorded_by else None,
    }
    insert_case, insert_key = _intake_statements(session.get_bind().dialect.name, (*columns, "reference"))
    values = {f"new_case_{name}": value for name, value in columns.items()}
    values["kek_id"], values["wrapped_key"] = kek_id, wrapped
    who = Actor(label=recorded_by.email, user_id=recorded_by.id) if recorded_by else audit.REPORTER
    if insert_key is None:  # PostgreSQL: the audit entry goes in with the case (see _intake_statements)
        values.update(audit.entry_params(audit.entry(who, "case.create", case_id=case_id, target=channel.value)))
    for _ in range(20):  # a reference has 40 random bits: a clash is rare, and then we draw again
        values["new_case_reference"] = reference = receipts.new_reference()
        if session.execute(insert_case, values).first() is not None:
            break
        if insert_key is None and session.scalar(select(Case.id).where(Case.id == case_id)) is not None:
            raise RuntimeError("the audit chain's head row is missing")  # the case went in, its entry did not
    else:
        raise RuntimeError("could not find a free reference")
    if insert_key is not None:
        session.execute(insert_key, values)
        audit.record(session, who, "case.create", case_id=case_id, target=channel.value)
    return NewCase(id=case_id, reference=reference, received_at=received_at, receipt=receipt)


def find_case_by_receipt(session: Session, ring: KeyRing, receipt: str) -> Case | None:
    """One indexed lookup by keyed hash; never a scan over stored hashes."""
    normalised = receipts.normalise(receipt)
    if normalised is None:
        return None
    return session.scalar(select(Case).where(Case.receipt_lookup == receipt_lookup(ring, normalised)))


def read_description(session: Session, ring: KeyRing, case: Case) -> str | None:
    if case.description_ct is None:
        return None
    return crypto.case_cipher(session, ring, case.id).decrypt("cases", "description", case.id, case.description_ct)


def read_reporter(session: Session, ring: KeyRing, case: Case) -> dict[str, str | None] | None:
    if case.reporter_ct is None:
        return None
    return json.loads(crypto.case_cipher(session, ring, case.id).decrypt("cases", "reporter", case.id, case.reporter_ct))


def add_message(
    session: Session, ring: KeyRing, *, case: Case, sender: Sender, body: str, author: User | None = None
) -> Message:
    """Append to the two-way thread. The first staff message acknowledges the case."""
    msg = Message(id=uuid.uuid4(), case_id=case.id, sender=sender, author_id=author.id if author else None)
    msg.body_ct = crypto.case_cipher(session, ring, case.id).encrypt("messages", "body", msg.id, body)
    session.add(msg)
    if sender is Sender.STAFF and case.acknowledged_at is None:
        case.acknowledged_at = clock.now()
    session.flush()
    who = Actor(label=author.email, user_id=author.id) if author else audit.REPORTER
    audit.record(session, who, "message.create", case_id=case.id, target=sender.value)
    return msg


def read_messages(session: Session, ring: KeyRing, case: Case) -> list[tuple[Message, str]]:
    cipher = crypto.case_cipher(session, ring, case.id)
    rows = session.scalars(
        select(Message).where(Message.case_id == case.id).order_by(Message.created_at, Message.id)
    ).all()
    return [(m, cipher.decrypt("messages", "body", m.id, m.body_ct)) for m in rows if m.body_ct is not None]


# -- submissions with an Idempotency-Key --------------------------------------------------------

IDEMPOTENCY_TTL = timedelta(hours=24)
# An in-progress marker this old belongs to a request whose process died; a retry may take it over.
IDEMPOTENCY_STALE = timedelta(minutes=5)
_IDEMPOTENCY_KEY_CHARS = frozenset(chr(c) for c in range(0x21, 0x7F))


def parse_idempotency_key(header: str) -> str:
    """The key from an `Idempotency-Key` header: a Structured Fields string (`"…"`) or a bare token.

    At least 16 visible ASCII characters (a UUID is 36): the key is what encrypts the stored
    receipt, so a short one would protect it poorly.
    """
    value = header.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    if not 16 <= len(value) <= 255 or any(ch not in _IDEMPOTENCY_KEY_CHARS for ch in value):
        raise AppError(
            "The Idempotency-Key header must be 16 to 255 visible ASCII characters; a random UUID is ideal.",
            errors=[{"field": "Idempotency-Key", "message": "16 to 255 visible ASCII characters"}],
        )
    return value


@dataclass(frozen=True)
class IdempotencyKey:
    """What the server derives from a client's Idempotency-Key (the key itself is never stored).

    `lookup` finds the row (an HMAC under the key ring). `seal_key` encrypts the stored response
    and `mac_key` fingerprints the request: both come from the client's key by HKDF (salted with
    a key-ring subkey), so reading a stored receipt needs the client's key *and* the key ring.
    """

    lookup: bytes
    seal_key: bytes
    mac_key: bytes

    @classmethod
    def derive(cls, ring: KeyRing, value: str) -> "IdempotencyKey":
        okm = HKDF(
            algorithm=hashes.SHA256(), length=64, salt=ring.subkey("idempotency-response"), info=b"safeshare:idempotency:v1"
        ).derive(value.encode())
        return cls(lookup=ring.lookup_hash("idempotency", value), seal_key=okm[:32], mac_key=okm[32:])

    def fingerprint(self, data: ReportIn) -> bytes:
        """A keyed hash of the parsed body: equal for equal requests, and no help to anyone guessing its text."""
        canonical = json.dumps(data.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hmac.new(self.mac_key, canonical.encode(), hashlib.sha256).digest()

    def _ad(self) -> bytes:
        return b"safeshare:v1:idempotency_keys:response_ct:" + self.lookup.hex().encode()

    def seal(self, response: dict[str, Any]) -> bytes:
        return envelope.seal(self.seal_key, json.dumps(response).encode(), self._ad())

    def open(self, blob: bytes) -> dict[str, Any]:
        return json.loads(envelope.open_(self.seal_key, blob, self._ad()))


def _upsert_module(session: Session) -> Any:
    return postgresql if session.get_bind().dialect.name == "postgresql" else sqlite


def claim_idempotency_key(
    sessions: sessionmaker[Session], key: IdempotencyKey, *, fingerprint: bytes
) -> dict[str, Any] | None:
    """Claim the key for this request, in its own short committed transaction, before any work.

    Returns None when this request now holds the key, or the stored response of an earlier
    request that finished (a replay). Raises 422 if the key was used with another body, 409 if
    that request is still running. Takes a sessionmaker, not the request's session: the marker
    must be visible to a concurrent retry before this request's own transaction commits.
    """
    now = clock.now()
    table = IdempotencyRecord.__table__
    with sessions() as s, s.begin():
        s.execute(delete(IdempotencyRecord).where(IdempotencyRecord.expires_at <= now))
        ins = (
            _upsert_module(s)
            .insert(table)
            .values(
                key_hash=key.lookup,
                request_hash=fingerprint,
                state="in_progress",
                expires_at=now + IDEMPOTENCY_TTL,
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=["key_hash"])
            .returning(table.c.key_hash)
        )
        if s.execute(ins).first() is not None:  # rowcount is not reliable here on every driver
            return None
        row = s.get(IdempotencyRecord, key.lookup)
        if row is None:  # released by the other request between our insert and this read
            raise Conflict("A request with this Idempotency-Key was just being processed. Please try again.")
        if not hmac.compare_digest(row.request_hash, fingerprint):
            raise Invalid(
                "This Idempotency-Key was already used with a different request body.", field="Idempotency-Key"
            )
        if row.state == "done" and row.response_ct is not None:
            return key.open(row.response_ct)
        if row.created_at <= now - IDEMPOTENCY_STALE:
            taken = s.execute(
                update(IdempotencyRecord)
                .where(
                    IdempotencyRecord.key_hash == key.lookup,
                    IdempotencyRecord.state == "in_progress",
                    IdempotencyRecord.created_at == row.created_at,
                )
                .values(created_at=now)
            ).rowcount
            if taken == 1:
                return None
        raise Conflict("A request with this Idempotency-Key is still being processed. Please try again shortly.")


def release_idempotency_key(sessions: sessionmaker[Session], key: IdempotencyKey) -> None:
    """Forget a claim whose request failed, so the client's retry runs afresh (own transaction)."""
    with sessions() as s, s.begin():
        s.execute(
            delete(IdempotencyRecord).where(
                IdempotencyRecord.key_hash == key.lookup, IdempotencyRecord.state == "in_progress"
            )
        )


def submit_report(
    session: Session, ring: KeyRing, settings: Settings, *, data: ReportIn, idempotency: IdempotencyKey | None
) -> dict[str, Any]:
    """A concern submitted online. With a claimed Idempotency-Key, its record is completed in this
    same transaction, holding the response encrypted so that a retry can be answered with it."""
    case = create_case(session, ring, settings, data=data, channel=Channel.WEB)
    response = {
        "reference": case.reference,
        "receipt": case.receipt,
        "status": Status.RECEIVED.value,
        "created_at": clock.rfc3339(case.received_at),
    }
    if idempotency is not None:
        session.execute(
            update(IdempotencyRecord)
            .where(IdempotencyRecord.key_hash == idempotency.lookup)
            .values(state="done", case_id=case.id, response_ct=idempotency.seal(response))
        )
    return response


# -- reporter sessions --------------------------------------------------------------------------

REPORTER_PREFIX = "ssr_"
BAD_RECEIPT = "That receipt was not recognised. Check it and try again."


def _token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def redeem_receipt(
    session: Session,
    ring: KeyRing,
    settings: Settings,
    throttle: Throttle,
    *,
    receipt: str,
    client_host: str | None,
) -> tuple[str, datetime]:
    """Exchange a receipt for a short-lived reporter token. Returns (token, expires_at).

    No slow hash: a receipt has 120 random bits, so its keyed lookup hash cannot be searched.
    Any wrong or malformed receipt is the same 401. Failures are counted in the database
    (shared by every server process) per coarse client bucket and for all clients together;
    past either limit the answer is 429 with Retry-After. The client's address is never stored.
    """
    per_client = [client_bucket(ring, "receipt", client_host)]
    everyone = [key_bucket(ring, "receipt", "all-clients")]
    overall = Throttle(
        throttle.sessions,
        limit=settings.receipt_global_max_failures,
        window_seconds=int(throttle.window.total_seconds()),
    )
    # Both limits in one query, in the request's own transaction (no second connection).
    throttle.check(per_client + everyone, limits=[throttle.limit, overall.limit], session=session)
    case = find_case_by_receipt(session, ring, receipt)
    if case is None or case.purged_at is not None:
        # End the request's (read-only) transaction first: on SQLite it holds the write lock
        # that the throttle's own short transaction needs. Nothing was written on this path.
        session.rollback()
        throttle.fail(per_client)
        overall.fail(everyone)
        raise Unauthorized(BAD_RECEIPT)
    token = REPORTER_PREFIX + secrets.token_urlsafe(32)
    expires = clock.now() + timedelta(minutes=settings.reporter_token_minutes)
    session.add(ReporterSession(token_hash=_token_hash(token), case_id=case.id, expires_at=expires))
    session.flush()
    audit.record(session, audit.REPORTER, "reporter.session.start", case_id=case.id)
    return token, expires


def case_for_reporter_token(session: Session, token: str) -> Case | None:
    """The case behind a live reporter token. Staff tokens never match (other prefix, other table)."""
    if not token.startswith(REPORTER_PREFIX):
        return None
    return session.scalar(
        select(Case)
        .join(ReporterSession, ReporterSession.case_id == Case.id)
        .where(
            ReporterSession.token_hash == _token_hash(token),
            ReporterSession.revoked_at.is_(None),
            ReporterSession.expires_at > clock.now(),
            Case.purged_at.is_(None),
        )
    )


def end_reporter_session(session: Session, token: str) -> None:
    """Revoke a reporter token (signing out). Unknown or already ended tokens are ignored."""
    row = session.scalar(
        select(ReporterSession).where(
            ReporterSession.token_hash == _token_hash(token), ReporterSession.revoked_at.is_(None)
        )
    )
    if row is None:
        return
    row.revoked_at = clock.now()
    session.flush()
    audit.record(session, audit.REPORTER, "reporter.session.end", case_id=row.case_id)


# -- what the reporter sees and does ------------------------------------------------------------


def message_view(message: Message, body: str) -> dict[str, Any]:
    return {
        "id": str(message.id),
        "from": message.sender.value,
        "body": body,
        "created_at": clock.rfc3339(message.created_at),
    }


def reporter_view(session: Session, ring: KeyRing, case: Case) -> dict[str, Any]:
    """The reporter's view of their case: status, the thread, the next check-in, whether feedback is asked for."""
    due = checkins.next_due(session, case_id=case.id)
    view = {
        "reference": case.reference,
        "status": case.status.value,
        "created_at": clock.rfc3339(case.received_at),
        "messages": [message_view(m, body) for m, body in read_messages(session, ring, case)],
        "next_check_in": due.isoformat() if due else None,
        "feedback_requested": case.status is Status.CLOSED and session.get(Feedback, case.id) is None,
    }
    audit.record(session, audit.REPORTER, "reporter.case.view", case_id=case.id)
    return view


def post_reporter_message(session: Session, ring: KeyRing, *, case: Case, body: str) -> dict[str, Any]:
    """The reporter adds to the thread (not once the case is closed: nobody would be reading)."""
    if case.status is Status.CLOSED:
        raise Conflict("This case is closed, so messages can no longer be sent. You can raise a new concern.")
    message = add_message(session, ring, case=case, sender=Sender.REPORTER, body=body)
    return message_view(message, body)


RATING_KEYS = ("listened_to", "kept_informed", "support_suitable", "would_recommend")


def give_feedback(
    session: Session, ring: KeyRing, *, case: Case, ratings: dict[str, int], comment: str | None
) -> Feedback:
    """The reporter's closing feedback: once, and only after the case is closed (409 otherwise).

    Ratings are 1 to 5 for each of RATING_KEYS; the optional comment (up to 5,000 characters)
    is encrypted under the case's key, so it is shredded with the case while the ratings stay
    for statistics.
    """
    if set(ratings) != set(RATING_KEYS) or any(
        isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 5 for v in ratings.values()
    ):
        raise Invalid("Give each of the four ratings as a whole number from 1 to 5.", field="ratings")
    comment = (comment or "").strip() or None
    if comment is not None and len(comment) > 5000:
        raise Invalid("The comment can be at most 5,000 characters.", field="comment")
    if case.status is not Status.CLOSED:
        raise Conflict("Feedback can be given once the case is closed.")
    if session.get(Feedback, case.id) is not None:
        raise Conflict("Feedback has already been given for this case. Thank you.")
    feedback = Feedback(case_id=case.id, **{k: ratings[k] for k in RATING_KEYS})
    if comment is not None:
        feedback.comment_ct = crypto.case_cipher(session, ring, case.id).encrypt("feedback", "comment", case.id, comment)
    session.add(feedback)
    try:
        session.flush()
    except IntegrityError:  # a concurrent second submission lost the race
        raise Conflict("Feedback has already been given for this case. Thank you.") from None
    audit.record(session, audit.REPORTER, "feedback.create", case_id=case.id)
    return feedback
