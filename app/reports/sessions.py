"""The reporter's own session: a receipt exchanged for a short-lived token (`ssr_…`). Sole writer
of `reporter_sessions`, which keeps only a SHA-256 of each token.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from app import clock
from app.audit import service as audit
from app.cases import intake
from app.cases.models import Case
from app.config import Settings
from app.crypto import holders, keys, people, receipts
from app.crypto.keyring import KeyRing
from app.db import separately
from app.errors import Unauthorized
from app.reports.models import ReporterSession
from app.throttle import Attempt, Bucket, Throttle, client_bucket

PREFIX = "ssr_"
BAD_RECEIPT = "That receipt was not recognised. Check it and try again."
# How often a session's last use is written down: often enough for an idle limit counted in minutes.
LAST_SEEN_EVERY = timedelta(minutes=1)


def _token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def receipt_buckets(ring: KeyRing, settings: Settings, *, client_host: str | None) -> list[Bucket]:
    """Where a receipt's failures count: the client's own bucket only, so nobody's failures refuse a
    reporter who has made none (docs/reporters.md).
    """
    return [Bucket(client_bucket(ring, "receipt", client_host), settings.receipt_max_failures)]


def redeem_receipt(
    session: Session, ring: KeyRing, settings: Settings, throttle: Throttle, *, receipt: str,
    buckets: list[Bucket], tried: Attempt,
) -> tuple[str, datetime]:
    """Exchange a receipt for a reporter token once its attempt was counted; any wrong receipt is
    the same 401. No slow hash: 115 random bits cannot be searched.
    """
    case = intake.find_by_receipt(session, ring, receipt)
    if case is None or case.purged_at is not None:
        raise Unauthorized(BAD_RECEIPT)
    throttle.forgive([b.key for b in buckets], session=session, attempt=tried)
    token = PREFIX + secrets.token_urlsafe(32)
    expires = clock.now() + timedelta(minutes=settings.reporter_token_minutes)
    normalised = receipts.normalise(receipt)
    dek = keys.reporter_key(session, ring, case.id, normalised) if normalised is not None else None
    session.execute(update(ReporterSession).where(  # lapsed sessions' case keys go (issue 27)
        ReporterSession.case_key_ct.is_not(None), ReporterSession.expires_at <= clock.now()).values(case_key_ct=None))
    session.add(ReporterSession(token_hash=_token_hash(token), case_id=case.id, expires_at=expires,
                                case_key_ct=people.seal_for_reporter_session(token, case.id, dek) if dek else None))
    session.flush()
    audit.record(session, audit.REPORTER, "reporter.session.start", case_id=case.id)
    return token, expires


def case_for_token(
    session: Session, token: str, *, idle: timedelta | None = None, touch: bool = False,
    touch_apart: sessionmaker[Session] | None = None,
) -> Case | None:
    """The case behind a live reporter token (staff tokens never match); refreshed like staff sessions."""
    if not token.startswith(PREFIX):
        return None
    now = clock.now()
    row = session.execute(
        select(Case, ReporterSession.created_at, ReporterSession.last_seen_at, ReporterSession.case_key_ct)
        .join(ReporterSession, ReporterSession.case_id == Case.id)
        .where(
            ReporterSession.token_hash == _token_hash(token),
            ReporterSession.revoked_at.is_(None),
            ReporterSession.expires_at > now,
            Case.purged_at.is_(None),
        )
    ).first()
    if row is None:
        return None
    case, created, last_seen, sealed_key = row
    seen = last_seen or created
    if idle is not None and seen < now - idle:
        return None
    if sealed_key is not None:  # issue 27: the request holds the case's key, opened with the token
        dek = people.open_for_reporter_session(token, case.id, sealed_key)
        if dek is not None:
            holders.hold_case_key(session, case.id, dek)
    if seen < now - LAST_SEEN_EVERY:
        refresh = (update(ReporterSession).where(ReporterSession.token_hash == _token_hash(token))
                   .values(last_seen_at=now))
        if touch:
            # A bulk UPDATE, not a change to a loaded row: `end_reads` still sees a read.
            session.execute(refresh.execution_options(synchronize_session=False))
        elif touch_apart is not None:
            with separately(touch_apart) as apart:
                apart.execute(refresh)
    return case


def end(session: Session, token: str) -> None:
    """Revoke a reporter token (signing out). Unknown or already ended tokens are ignored."""
    row = session.scalar(
        select(ReporterSession).where(
            ReporterSession.token_hash == _token_hash(token), ReporterSession.revoked_at.is_(None)
        )
    )
    if row is None:
        return
    row.revoked_at = clock.now()
    row.case_key_ct = None  # issue 27: a token kept after sign-out opens nothing
    session.flush()
    audit.record(session, audit.REPORTER, "reporter.session.end", case_id=row.case_id)


def erase(session: Session, *, case_id: uuid.UUID) -> None:
    session.execute(delete(ReporterSession).where(ReporterSession.case_id == case_id))
