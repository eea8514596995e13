"""Equality answers: pooled, sealed, then published in shuffled batches with no link back to the
concern (docs/statistics.md, "Equality monitoring"). Sole writer of the `equality_*` tables.
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections import Counter
from collections.abc import Iterable

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from app import clock, dialect
from app.audit import service as audit
from app.auth.models import User
from app.auth.service import actor
from app.crypto.envelope import open_any, seal
from app.crypto.keyring import KeyRing
from app.db import table_of
from app.equality.models import EqualityAnswer, EqualityBaseline, EqualityCount, EqualityPending
from app.equality.schemas import CHARACTERISTICS, NOT_ANSWERED, BaselineIn, EqualityIn

PURPOSE = "equality-pending"


def _ad(row_id: uuid.UUID) -> bytes:
    return f"safeshare:v1:equality_pending:answers:{row_id}".encode()


def pool(session: Session, ring: KeyRing, *, answers: EqualityIn, month: str, min_cell: int) -> None:
    """Hold one respondent's answers until the next batch (nothing if no key is answered)."""
    given = answers.answered()
    if not given:
        return
    row_id = uuid.uuid4()
    plaintext = json.dumps({"month": month, "answers": given}, sort_keys=True).encode()
    session.execute(insert(table_of(EqualityPending)).values(
        id=row_id, pooled_in=clock.today().strftime("%Y-%m"),
        answers_ct=seal(ring.subkey(PURPOSE), plaintext, _ad(row_id)),
    ))
    publish_due(session, ring, min_cell=min_cell)


def publish_due(session: Session, ring: KeyRing, *, min_cell: int) -> int:
    """Move the pool into the published table if a batch is due; return how many respondents moved."""
    this_month = clock.today().strftime("%Y-%m")
    waiting, oldest = session.execute(select(func.count(), func.min(EqualityPending.pooled_in))).one()
    if not waiting or (waiting < min_cell and oldest >= this_month):
        return 0
    # Lock what is there (another transaction may be moving the same rows: on PostgreSQL the rows
    # it deleted are skipped once it commits; SQLite's write lock already makes this the only writer).
    rows = session.execute(dialect.for_update(select(EqualityPending.id, EqualityPending.pooled_in,
                                                     EqualityPending.answers_ct), session)).all()
    if not rows or (len(rows) < min_cell and min(r.pooled_in for r in rows) >= this_month):
        return 0
    keys = ring.subkeys(PURPOSE)  # a pool from before `rotate-key` is re-sealed by it; the retired key opens the rest
    batch = []
    for row in rows:
        held = json.loads(open_any(keys, row.answers_ct, _ad(row.id)))
        batch.append((str(held["month"]), dict(held["answers"])))
    publish_batch(session, batch)
    session.execute(delete(table_of(EqualityPending)).where(table_of(EqualityPending).c.id.in_([r.id for r in rows])))
    return len(rows)


def publish_batch(session: Session, batch: list[tuple[str, dict[str, str]]]) -> None:
    """Write a batch into the published table, shuffled under fresh random keys, and count it."""
    published: list[dict[str, object]] = [
        {"month": month, "characteristic": key, "value": answers.get(key, NOT_ANSWERED)}
        for month, answers in batch
        for key in CHARACTERISTICS
    ]
    if not published:
        return
    secrets.SystemRandom().shuffle(published)
    for row_values in published:  # fresh random keys, drawn after the shuffle
        row_values["id"] = uuid.uuid4()
    session.execute(insert(table_of(EqualityAnswer)), published)
    counts = Counter((str(r["month"]), str(r["characteristic"]), str(r["value"])) for r in published)
    table = table_of(EqualityCount)
    upsert = dialect.insert(session, table)
    upsert = upsert.on_conflict_do_update(
        index_elements=["month", "characteristic", "value"],
        set_={"respondents": table.c.respondents + upsert.excluded.respondents},
    )
    session.execute(upsert, [
        {"month": m, "characteristic": c, "value": v, "respondents": n} for (m, c, v), n in sorted(counts.items())
    ])


def waiting(session: Session) -> int:
    """How many respondents are in the pool (the only thing ever read from it besides a move)."""
    return int(session.scalar(select(func.count()).select_from(EqualityPending)) or 0)


def baseline(session: Session) -> dict[str, dict[str, float]]:
    """The workforce baseline: characteristic -> value -> share."""
    out: dict[str, dict[str, float]] = {}
    for row in session.execute(select(EqualityBaseline.characteristic, EqualityBaseline.value, EqualityBaseline.share)):
        out.setdefault(row.characteristic, {})[row.value] = row.share
    return out


def set_baseline(session: Session, *, user: User, data: BaselineIn) -> dict[str, dict[str, float]]:
    """Replace the whole workforce baseline (admin). Audited."""
    table = table_of(EqualityBaseline)
    session.execute(delete(table))
    rows: Iterable[dict[str, object]] = [
        {"characteristic": c.key, "value": r.value, "share": r.share} for c in data.characteristics for r in c.rows
    ]
    rows = list(rows)
    if rows:
        session.execute(insert(table), rows)
    audit.record(session, actor(user), "equality.baseline", target=",".join(c.key for c in data.characteristics) or None)
    return baseline(session)


def reseal_pool(session: Session, ring: KeyRing) -> int:
    """`rotate-key`: the answers waiting for a batch sealed again under the active lookup key; how many."""
    keys = ring.subkeys(PURPOSE)
    rows = session.execute(select(EqualityPending.id, EqualityPending.answers_ct)).all()
    table = table_of(EqualityPending)
    for row_id, sealed in rows:
        session.execute(table.update().where(table.c.id == row_id).values(
            answers_ct=seal(keys[0], open_any(keys, sealed, _ad(row_id)), _ad(row_id))))
    return len(rows)
