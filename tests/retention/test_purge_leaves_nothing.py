"""After `safeshare purge`, nothing of an erased case is left in the live database files: not its
description's ciphertext, not its wrapped data key (which, with the key ring, would open it).

SQLite: the database file and its `-wal` file are scanned byte by byte. PostgreSQL: the heap
pages of every table the purge touched are read with `pageinspect` (`pg_dump` shows live rows
only; dead tuples stay in the pages until VACUUM)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from app import clock, dialect, flows, retention
from app.auth.models import User
from app.cases.models import Case
from app.crypto.models import CaseKey
from app.enums import Outcome
from tests.cases.conftest import World, run_purge

SECRET = "Purge-me-please: the warehouse ledger at Station 7 was altered by my manager. " * 4


def _close(app: Any, world: World, case_id: uuid.UUID) -> None:
    with app.state.sessionmaker() as s, s.begin():
        flows.close_case(s, app.state.keyring, app.state.settings, user=s.get(User, uuid.UUID(world.id("safeguarding"))),
                         case=s.get(Case, case_id), outcome=Outcome.WITHDRAWN, summary="Withdrawn, summary to erase.")


def _secrets_of(app: Any, case_id: uuid.UUID) -> dict[str, bytes]:
    with app.state.sessionmaker() as s:
        case, key = s.get(Case, case_id), s.get(CaseKey, case_id)
        assert case is not None and key is not None and case.description_ct and key.wrapped_key
        return {"description": case.description_ct, "wrapped key": key.wrapped_key}


PURGED_TABLES = ("cases", "case_keys", "case_themes", "messages", "notes", "exclusions", "feedback", "check_ins",
                 "reporter_sessions", "idempotency_keys")


def _hits_in_files(url: str, needles: dict[str, bytes]) -> dict[str, int]:
    path = Path(make_url(url).database or "")
    found: dict[str, int] = {}
    for suffix in ("", "-wal"):
        file = Path(f"{path}{suffix}")
        data = file.read_bytes() if file.exists() else b""
        for name, needle in needles.items():
            found[f"{name} in {file.name}"] = data.count(needle)
    return found


def _hits_in_pages(url: str, needles: dict[str, bytes]) -> dict[str, int]:
    """Every page of every touched table (and its TOAST table), raw, with pageinspect."""
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    found: dict[str, Any] = {name: 0 for name in needles}
    try:
        with engine.connect() as c:
            c.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pageinspect"))
            c.execute(sa.text("CHECKPOINT"))
            for table in PURGED_TABLES:
                rels = [table]
                toast = c.scalar(sa.text("SELECT reltoastrelid::regclass::text FROM pg_class "
                                         "WHERE oid = CAST(:t AS regclass) AND reltoastrelid <> 0"), {"t": table})
                if toast:
                    rels.append(toast)
                for rel in rels:
                    pages = c.scalar(sa.text("SELECT pg_relation_size(CAST(:r AS regclass)) / current_setting('block_size')::int"),
                                     {"r": rel})
                    for n in range(int(pages or 0)):
                        raw = bytes(c.scalar(sa.text("SELECT get_raw_page(:r, :n)"), {"r": rel, "n": n}))
                        for name, needle in needles.items():
                            found[name] += raw.count(needle)
                    # The tuples pageinspect itself lists, live or dead, must not hold it either.
                    items = c.execute(sa.text(
                        "SELECT t_data FROM generate_series(0, greatest(:p - 1, -1)) AS n, "
                        "LATERAL heap_page_items(get_raw_page(:r, n::int)) WHERE t_data IS NOT NULL"),
                        {"r": rel, "p": int(pages or 0)}).scalars().all()
                    for data in items:
                        for name, needle in needles.items():
                            found[name] += bytes(data).count(needle)
    finally:
        engine.dispose()
    return found


def test_purge_leaves_no_ciphertext_and_no_wrapped_key_in_the_live_files(app: Any, client: Any, world: World,
                                                                         settings: Any) -> None:
    clock.set_frozen(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))
    doomed = world.new_case(description=SECRET)
    kept = world.new_case(description="Kept: " + SECRET)
    needles = _secrets_of(app, doomed)
    _close(app, world, doomed)
    with app.state.sessionmaker() as s:
        summary = s.get(Case, doomed).closing_summary_ct  # type: ignore[union-attr]
        rewrapped = s.get(CaseKey, doomed).wrapped_key  # type: ignore[union-attr]  # under its retention day
        assert summary is not None and rewrapped is not None
        needles["closing summary"], needles["key under its retention day"] = summary, rewrapped
    clock.set_frozen(datetime(2032, 6, 1, tzinfo=UTC))
    out = run_purge(settings)
    assert out.startswith("purged 1 case(s)")
    with app.state.sessionmaker() as s:
        gone = s.get(Case, doomed)
        assert gone is not None and gone.description_ct is None and gone.purged_at is not None

    postgresql = dialect.is_postgresql(make_url(settings.database_url).get_backend_name())
    hits = _hits_in_pages(settings.database_url, needles) if postgresql else _hits_in_files(settings.database_url, needles)
    assert not any(hits.values()), hits
    with app.state.sessionmaker() as s:  # the other case is untouched and readable
        assert s.get(Case, kept).description_ct is not None


def test_purge_scrub_runs_again_on_request_when_nothing_is_erased(app: Any, settings: Any) -> None:
    """A run whose scrubbing failed (a lock not granted) is finished by `safeshare purge --scrub`."""
    import logging

    from typer.testing import CliRunner

    from app.cli import cli
    from tests.foundation.conftest import env_for

    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        plain = CliRunner().invoke(cli, ["purge"], env=env_for(settings))
        forced = CliRunner().invoke(cli, ["purge", "--scrub"], env=env_for(settings))
    finally:
        root.handlers[:], root.level = handlers, level
    assert plain.exit_code == 0 and forced.exit_code == 0, forced.output
    postgresql = dialect.is_postgresql(make_url(settings.database_url).get_backend_name())
    if postgresql:
        assert "nothing to scrub" in plain.output and f"vacuumed {len(retention.ERASED_TABLES)} table(s)" in forced.output
    else:
        assert "write-ahead log checkpointed and truncated" in forced.output
