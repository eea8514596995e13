"""A new case: a concern raised online, or a contact recorded by the safeguarding team.

The busiest write path of the service, so it skips the ORM's unit of work and any
read-before-write (see `_intake_statements`).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from app import clock, db, dialect
from app.audit import service as audit
from app.auth import keys as person_keys
from app.auth.models import User
from app.auth.service import actor
from app.cases import risk as risk_words
from app.cases.models import Case
from app.cases.schemas import CaseCreate, ReportIn
from app.config import Settings
from app.crypto import fields, holders, keys, receipts
from app.crypto.keyring import KeyRing
from app.crypto.models import CaseKey
from app.db import table_of
from app.enums import Channel, Risk, Status
from app.errors import Invalid
from app.locations import service as locations
from app.themes import service as themes
from app.themes.suggest import suggest_themes


@dataclass(frozen=True)
class NewCase:
    """What intake hands back: the new case's id and reference, and its receipt (shown once)."""

    id: uuid.UUID
    reference: str
    status: Status
    received_at: datetime
    receipt: str
    # The words that raised the "possible risk" flag (app.cases.risk): the reporter's confirmation
    # page shows crisis signposting when there are any.
    risk_signals: tuple[str, ...] = ()


def receipt_lookup(ring: KeyRing, normalised_receipt: str) -> bytes:
    """The keyed hash a receipt is found by (the receipt itself is never stored)."""
    return ring.lookup_hash("receipt", normalised_receipt)


def find_by_receipt(session: Session, ring: KeyRing, receipt: str) -> Case | None:
    """One indexed lookup by keyed hash; never a scan over stored hashes.

    The hash under every lookup key of the ring is tried (`rotate-key` keeps the old key retired:
    the receipt is not stored, so its hash cannot be moved until the reporter brings it); a case
    found under a retired key is re-hashed under the active one now (redemption writes anyway).
    """
    normalised = receipts.normalise(receipt)
    if normalised is None:
        return None
    hashes = ring.lookup_hashes("receipt", normalised)
    case = session.scalar(select(Case).where(Case.receipt_lookup.in_(hashes)) if len(hashes) > 1
                          else select(Case).where(Case.receipt_lookup == hashes[0]))
    if case is not None and case.receipt_lookup is not None and case.receipt_lookup != hashes[0]:
        case.receipt_lookup = hashes[0]
        session.flush()
    return case


# A write the caller adds to the case's (`store(along=...)`): a statement and its parameters,
# named apart from the case's.
Along = tuple[Any, dict[str, Any]]


@cache
def _intake_statements(dialect_name: str, columns: tuple[str, ...], along: tuple[Any, ...] = ()
                       ) -> tuple[Any, Any | None]:
    """The INSERTs of a new case and its wrapped key, built once.

    The case goes in with ON CONFLICT (reference) DO NOTHING: nothing back means the reference
    was taken, and the caller draws another. Where the database runs data-modifying CTEs
    (PostgreSQL), one statement writes both rows (the key takes the case's id from the case's
    INSERT) and the caller's `along` writes; SQLite runs the key's INSERT as a second statement
    (and `store` the `along` ones before). The audit entry joins the chain at commit, as every
    other entry does: on PostgreSQL in the COMMIT's own round trip, so the chain's lock is never
    held while this request's thread waits (app.audit.service._chain_pending). The key's part
    comes from the package that owns it (app.crypto.keys).
    """
    cases = table_of(Case)
    # Named apart from every column of the tables in the statement.
    params = {name: bindparam(f"new_case_{name}", type_=cases.c[name].type) for name in columns}
    insert_case = (
        dialect.insert(dialect_name, cases)
        .values(params)
        .on_conflict_do_nothing(index_elements=["reference"])
    )
    if not dialect.writable_ctes(dialect_name):
        return insert_case.returning(cases.c.id), keys.key_insert()
    new_case = insert_case.returning(cases.c.id).cte("new_case")
    both = keys.key_insert(source=new_case).returning(table_of(CaseKey).c.case_id)
    return both.add_cte(*(write.cte(f"along_{n}") for n, write in enumerate(along))), None


@dataclass(frozen=True)
class Prepared:
    """A new case with its CPU work done (encryption, receipt, suggestion), not yet written."""

    columns: dict[str, Any]
    key_params: dict[str, Any]
    receipt: str
    signals: tuple[str, ...]
    who: audit.Actor
    wraps: list[dict[str, Any]] = field(default_factory=list)  # issue 27: `case_key_wraps` rows

    @property
    def month(self) -> str:
        month: str = self.columns["received_month"]
        return month


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
    risk: Risk = Risk.STANDARD,
) -> NewCase:
    """Store a new concern and return it with its receipt (`prepare`, then `store`)."""
    return store(session, prepare(session, ring, settings, data=data, channel=channel, received_at=received_at,
                                  duration_minutes=duration_minutes, recorded_by=recorded_by, risk=risk))


def prepare(
    session: Session,
    ring: KeyRing,
    settings: Settings,
    *,
    data: ReportIn,
    channel: Channel,
    received_at: datetime | None = None,
    duration_minutes: int | None = None,
    recorded_by: User | None = None,
    risk: Risk = Risk.STANDARD,
    readers: person_keys.NewCaseReaders | None = None,
) -> Prepared:
    """A new concern made ready to store, with its receipt (shown once, never stored in clear).

    The description and the reporter's identity are encrypted under the case's own data key;
    the receipt is kept only as a keyed lookup hash. Reads only (`readers` and the themes' words
    apart, if not given; the chosen themes and location). `readers`: who the case concerns, if the
    caller read them already (`app.auth.keys.new_case_readers`).
    """
    # Nothing on the request's session until the CPU work is done: on SQLite its first statement
    # takes the write lock, and every other report waits behind it (12 in parallel gave 503s when
    # the suggester's query came first). The reads that feed the CPU work go apart, before it.
    readers = readers if readers is not None else person_keys.new_case_readers(session)
    extra_words = themes.admin_words(session)
    signals = risk_words.find_signals(data.description)
    received_at = received_at or clock.now()
    receipt = receipts.new_receipt()
    normalised = receipts.normalise(receipt)
    assert normalised is not None
    case_id = uuid.uuid4()
    key = keys.new_case_key(ring, case_id, receipt=normalised)
    reporter_ct = None
    if data.reporter is not None:
        identity = json.dumps(data.reporter.model_dump(mode="json"), sort_keys=True)
        reporter_ct = key.cipher.encrypt(fields.CASE_REPORTER, case_id, identity)
    description_ct = key.cipher.encrypt(fields.CASE_DESCRIPTION, case_id, data.description)
    signals_ct = key.cipher.encrypt(fields.CASE_RISK_SIGNALS, case_id, json.dumps(signals)) if signals else None
    lookup = receipt_lookup(ring, normalised)
    # Whom the case key is wrapped to (issue 27; no master wrap once the deployment is sealed): its
    # wraps hold the key masked by the case's lock (app.crypto.keys).
    key = key if readers.master else key.people_only()
    wraps = holders.wrap_rows(session, case_id, key.payload, readers.recipients)
    wraps += holders.escrow_rows(session, case_id, key.payload, readers.escrow)  # when escrow is on
    suggested = suggest_themes(data.description, extra=extra_words)
    suggested_ct = key.cipher.encrypt(fields.CASE_SUGGESTED_THEMES, case_id, json.dumps(suggested))
    columns = {  # every column with a default too: inside a CTE, SQLAlchemy does not fill those in
        "id": case_id,
        "channel": channel,
        "status": Status.RECEIVED,
        "risk": risk,
        "risk_signals_ct": signals_ct,
        "risk_flagged_at": clock.now() if signals else None,
        "created_at": clock.now(),
        "anonymous": data.anonymous,
        "identity_sharing": data.identity_sharing,
        "about": data.about,
        "description_ct": description_ct,
        "reporter_ct": reporter_ct,
        "receipt_lookup": lookup,
        "reporter_themes": themes.require_known(session, data.themes, field="themes"),
        "location": locations.resolve(session, data.location),
        "suggested_themes_ct": suggested_ct,
        "wishes": [w.value for w in data.wishes],
        "received_at": received_at,
        "received_month": received_at.strftime("%Y-%m"),
        "out_of_hours": settings.hours.is_out_of_hours(received_at),
        "duration_minutes": duration_minutes,
        "recorded_by_id": recorded_by.id if recorded_by else None,
    }
    return Prepared(columns=columns, key_params=key.params, receipt=receipt, signals=tuple(signals),
                    who=actor(recorded_by) if recorded_by else audit.REPORTER, wraps=wraps)


def store(session: Session, prepared: Prepared, along: Sequence[Along] = ()) -> NewCase:
    """The writes of a prepared case, with the caller's `along` writes: on PostgreSQL one statement
    (the case, its key and those), its audit entry joining the chain at commit; on SQLite run by
    the driver back to back (`_store_by_driver`)."""
    columns = prepared.columns
    dialect_name = dialect.name_of(session)
    in_one = dialect.writable_ctes(dialect_name)
    insert_case, insert_key = _intake_statements(dialect_name, (*columns, "reference"),
                                                 tuple(write for write, _ in along) if in_one else ())
    values = {f"new_case_{name}": value for name, value in columns.items()}
    values.update(prepared.key_params)
    if not in_one:
        assert insert_key is not None
        return _store_by_driver(session, prepared, along, insert_case, insert_key, values)
    for _, params in along:
        values.update(params)
    for _ in range(20):  # a reference has 40 random bits: a clash is rare, and then we draw again
        values["new_case_reference"] = receipts.new_reference()
        if session.execute(insert_case, values).first() is not None:
            break
    else:
        raise RuntimeError("could not find a free reference")
    audit.record(session, prepared.who, "case.create", case_id=columns["id"], target=columns["channel"].value)
    holders.insert_wraps(session, prepared.wraps)  # issue 27: the case key wrapped to people
    return _new_case(prepared, values["new_case_reference"])


def _store_by_driver(session: Session, prepared: Prepared, along: Sequence[Along], insert_case: Any,
                     insert_key: Any, values: dict[str, Any]) -> NewCase:
    """SQLite: every write compiled first, then run by the driver one after another (the write lock,
    taken by the first, is held for SQLite's own work only: `app.db.run_for_driver`). The audit
    entry is chained in place, the lock already making this the chain's only writer."""
    columns = prepared.columns
    values["new_case_reference"] = receipts.new_reference()
    first = [*(db.for_driver(session, write, params) for write, params in along),
             db.for_driver(session, insert_case, values)]
    rest = [db.for_driver(session, insert_key, values),
            audit.driver_append(session, prepared.who, "case.create", case_id=columns["id"],
                                target=columns["channel"].value),
            *(db.for_driver(session, holders.wrap_insert(), row) for row in prepared.wraps)]
    for _ in range(20):  # a reference has 40 random bits: a clash is rare, and then we draw again
        if db.run_for_driver(session, first)[-1] is not None:
            break
        values["new_case_reference"] = receipts.new_reference()
        first = [db.for_driver(session, insert_case, values)]
    else:
        raise RuntimeError("could not find a free reference")
    if db.run_for_driver(session, rest)[1] is None:
        raise RuntimeError("the audit chain's head row is missing")
    return _new_case(prepared, values["new_case_reference"])


def _new_case(prepared: Prepared, reference: str) -> NewCase:
    columns = prepared.columns
    return NewCase(id=columns["id"], reference=reference, status=Status.RECEIVED, received_at=columns["received_at"],
                   receipt=prepared.receipt, risk_signals=prepared.signals)


def record_contact(
    session: Session, ring: KeyRing, settings: Settings, *, user: User, data: CaseCreate
) -> tuple[Case, str]:
    """A contact received by phone, e-mail or in person. Returns the case and its receipt."""
    if data.received_at > clock.now():
        raise Invalid("received_at is in the future.", field="received_at")
    new = create_case(
        session,
        ring,
        settings,
        data=data,
        channel=Channel(data.channel),
        received_at=data.received_at.astimezone(UTC),
        duration_minutes=data.duration_minutes,
        recorded_by=user,
        risk=data.risk,
    )
    case = session.get(Case, new.id)
    assert case is not None
    return case, new.receipt
