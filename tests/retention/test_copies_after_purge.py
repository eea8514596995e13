"""A copy of the database taken before a purge (a backup), restored after it and opened with the
key ring as the purge left it, shows the purged case to no one; every other case stays readable.

Closed cases' data keys are kept under their retention day's key, which the purge destroys once
the day has passed (app.crypto.keyring). The same restore with a copy of the ring taken before
the purge does open the case: that is what the destruction took away."""

from __future__ import annotations

import shutil
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from app import backup, clock, flows
from app.auth.models import User
from app.cases import service as cases
from app.cases.models import Case
from app.crypto import keys
from app.crypto.envelope import Shredded
from app.crypto.keyring import KeyRing
from app.crypto.models import CaseKey
from app.db import make_engine, make_sessionmaker
from app.enums import Outcome
from tests.cases.conftest import World, run_purge


def _close(app: Any, world: World, case_id: uuid.UUID) -> None:
    with app.state.sessionmaker() as s, s.begin():
        flows.close_case(s, app.state.keyring, app.state.settings, user=s.get(User, uuid.UUID(world.id("safeguarding"))),
                         case=s.get(Case, case_id), outcome=Outcome.WITHDRAWN, summary="Withdrawn.")


def _descriptions(url: str, ring: KeyRing, user_id: str, ids: dict[str, uuid.UUID]) -> dict[str, str | None]:
    """What a safeguarding user (who may read every case) is shown of each case."""
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as s:
            user = s.get(User, uuid.UUID(user_id))
            assert user is not None
            shown = {}
            for name, case_id in ids.items():
                case = s.get(Case, case_id)
                assert case is not None
                shown[name] = cases.read_content(s, ring, user=user, case=case, audited=False).description
            return shown
    finally:
        engine.dispose()


def test_a_backup_from_before_a_purge_cannot_show_the_purged_case(
    app: Any, client: Any, world: World, settings: Any, empty_database: str, tmp_path: Path
) -> None:
    clock.set_frozen(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))
    ids = {"purged": world.new_case(description="Purged: the fuel card was misused.")}
    _close(app, world, ids["purged"])
    clock.set_frozen(datetime(2027, 3, 2, 10, 0, tzinfo=UTC))
    ids["closed, kept"] = world.new_case(description="Closed, kept: rota favouritism.")
    _close(app, world, ids["closed, kept"])
    ids["open"] = world.new_case(description="Open: shouting at the morning briefing.")
    with app.state.sessionmaker() as s:  # closed cases wait under their last day's key; the open one under a master key
        assert s.get(CaseKey, ids["purged"]).kek_id == "retain-2032-03-02"  # type: ignore[union-attr]
        assert s.get(CaseKey, ids["closed, kept"]).kek_id == "retain-2033-03-02"  # type: ignore[union-attr]
        assert s.get(CaseKey, ids["open"]).kek_id.startswith("kek-")  # type: ignore[union-attr]

    copy = tmp_path / "before-purge.backup"
    backup.backup_database(settings.database_url, copy)
    ring_before = tmp_path / "keys-before-purge.json"
    shutil.copyfile(settings.key_file, ring_before)

    clock.set_frozen(datetime(2032, 6, 1, 9, 0, tzinfo=UTC))
    out = run_purge(settings)
    assert out.startswith("purged 1 case(s) past their retention date;")
    assert "destroyed the retention keys of" in out
    ring_after = KeyRing.load(settings.key_file)
    assert ring_after.retention is not None and ring_after.retention.destroyed_before == date(2032, 6, 1)
    # What a start-up check asks of the ring: the purged day is destroyed on purpose, not missing.
    assert [ring_after.status(k) for k in ("retain-2032-03-02", "retain-2033-03-02", ring_after.active_id, "kek-gone")] \
        == ["destroyed", "present", "present", "missing"]

    backup.restore_database(copy, empty_database)
    sg = world.id("safeguarding")
    shown = _descriptions(empty_database, ring_after, sg, ids)
    assert shown == {"purged": None, "closed, kept": "Closed, kept: rota favouritism.",
                     "open": "Open: shouting at the morning briefing."}
    engine = make_engine(empty_database)
    try:
        with make_sessionmaker(engine)() as s:  # no other way in either: the data key cannot be unwrapped
            with pytest.raises(Shredded):
                keys.case_cipher(s, ring_after, ids["purged"])
    finally:
        engine.dispose()
    # With the ring as it was before the purge, the same copy does show it: keep ring backups
    # on the same cadence as the purge (docs/operations.md).
    assert _descriptions(empty_database, KeyRing.load(ring_before), sg, ids)["purged"] == "Purged: the fuel card was misused."


def test_a_running_server_never_seals_under_a_key_the_purge_destroys(app: Any, client: Any, world: World,
                                                                      settings: Any) -> None:
    """The server keeps the ring it loaded before the purge: whatever it seals after it (a new
    report, a closure) stays readable with the ring the purge wrote, and stays so after the next purge."""
    clock.set_frozen(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))
    old = world.new_case()
    _close(app, world, old)
    clock.set_frozen(datetime(2032, 6, 1, 9, 0, tzinfo=UTC))
    stale_ring = app.state.keyring
    run_purge(settings)
    report = client.post("/api/v1/reports", json={"description": "Sent during the purge."})
    assert report.status_code == 201
    closed_now = world.new_case(description="Closed just after the purge.")
    _close(app, world, closed_now)  # with the server's ring, loaded before the purge
    clock.set_frozen(datetime(2032, 6, 2, 9, 0, tzinfo=UTC))
    run_purge(settings)
    fresh = KeyRing.load(settings.key_file)
    assert fresh.retention is not None and stale_ring.retention is not None
    sg = world.id("safeguarding")
    with app.state.sessionmaker() as s:
        new_id = s.scalar(sa.select(Case.id).where(Case.reference == report.json()["reference"]))
    assert new_id is not None
    assert _descriptions(settings.database_url, fresh, sg, {"report": new_id, "closed": closed_now}) == {
        "report": "Sent during the purge.", "closed": "Closed just after the purge."}


def test_a_ring_from_before_retention_keys_gets_its_chain_from_purge(app: Any, client: Any, world: World,
                                                                     settings: Any) -> None:
    """Upgrade: a ring with no retention chain keeps closed cases under the master key; the first
    purge adds the chain and moves every closed case's key under its retention day."""
    import json

    doc = json.loads(settings.key_file.read_text())
    doc.pop("retention")
    settings.key_file.write_text(json.dumps(doc))
    clock.set_frozen(datetime(2026, 12, 2, 10, 0, tzinfo=UTC))
    case_id = world.new_case(description="Closed before the upgrade.")
    _close(app, world, case_id)
    with app.state.sessionmaker() as s:
        assert s.get(CaseKey, case_id).kek_id.startswith("kek-")  # type: ignore[union-attr]
    out = run_purge(settings)
    assert "added a retention chain" in out and "moved 1 closed case key(s)" in out
    with app.state.sessionmaker() as s:
        assert s.get(CaseKey, case_id).kek_id == "retain-2032-12-02"  # type: ignore[union-attr]
    fresh = KeyRing.load(settings.key_file)
    assert _descriptions(settings.database_url, fresh, world.id("safeguarding"), {"c": case_id}) == {
        "c": "Closed before the upgrade."}
