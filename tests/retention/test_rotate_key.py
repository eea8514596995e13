"""`safeshare rotate-key` rotates the key ring's own keys too (docs/operations.md, "Keys over time"):
a new lookup key (the old one retired: it finds and opens, never writes) and a new retention chain.
After it, and after one that stopped between writing the ring and committing the database, a
receipt still redeems, two-factor sign-in and a recovery code work, exclusions exclude, the audit
chain verifies, pooled equality answers publish, and purge still erases a closed case."""

from __future__ import annotations

import logging
import shutil
import uuid
from datetime import timedelta
from typing import Any

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from app import clock, flows, rotation
from app.audit import service as audit
from app.audit.models import AuditEvent
from app.auth.models import User
from app.cases import access
from app.cases import service as cases
from app.cases.models import Case, Exclusion
from app.cli import cli
from app.crypto import blind, envelope, keys, receipts
from app.crypto.blind import exclusion_index
from app.crypto.envelope import Shredded
from app.crypto.keyring import KeyRing
from app.crypto.models import CaseKey
from app.db import make_sessionmaker
from app.enums import Outcome
from app.equality import service as equality
from app.equality.models import EqualityCount
from tests.cases.conftest import World, run_purge
from tests.foundation.conftest import env_for


@pytest.fixture
def run_cli() -> Any:
    """`safeshare ARGS` in this process, against the test's database and ring (logging restored after)."""

    def run(args: list[str], settings: Any) -> Any:
        root = logging.getLogger()
        handlers, level = root.handlers[:], root.level
        try:
            return CliRunner().invoke(cli, args, env=env_for(settings))
        finally:
            root.handlers[:], root.level = handlers, level

    return run


class _Before:
    """What exists before the rotation: a reporter's receipt with pooled equality answers, a case two
    people are excluded from, a closed case under its retention day, a safeguarding user with two-factor."""

    def __init__(self, app: Any, client: TestClient, world: World) -> None:
        sg = world.staff["safeguarding"]
        r = client.post("/api/v1/auth/totp/setup", headers=sg.headers)
        self.secret = r.json()["secret"]
        r = client.post("/api/v1/auth/totp/confirm", json={"code": pyotp.TOTP(self.secret).at(clock.now())},
                        headers=sg.headers)
        assert r.status_code == 200, r.text
        self.recovery = r.json()["recovery_codes"]
        r = client.post("/api/v1/reports", json={"description": "Sent before the rotation.", "equality": {"sex": "female"}})
        assert r.status_code == 201
        self.receipt = r.json()["receipt"]
        self.excluded = world.new_case()
        self.closed = world.new_case(description="Closed before the rotation.")
        with app.state.sessionmaker() as s, s.begin():
            flows.close_case(s, app.state.keyring, app.state.settings, user=s.get(User, uuid.UUID(sg.id)),
                             case=s.get(Case, self.closed), outcome=Outcome.WITHDRAWN, summary="Withdrawn.")

    def still_works(self, app: Any, client: TestClient, world: World, settings: Any, *, code_at: Any) -> None:
        sg = world.staff["safeguarding"]
        redeemed = client.post("/api/v1/reporter/session", json={"receipt": self.receipt})
        assert redeemed.status_code == 200, redeemed.text
        clock.set_frozen(code_at)
        signed_in = client.post("/api/v1/auth/login", json={"email": sg.email, "password": sg.password,
                                                            "totp": pyotp.TOTP(self.secret).at(clock.now())})
        assert signed_in.status_code == 200, signed_in.text
        by_code = client.post("/api/v1/auth/login", json={"email": sg.email, "password": sg.password,
                                                          "totp": self.recovery.pop()})
        assert by_code.status_code == 200, by_code.text
        assert client.get(f"/api/v1/cases/{self.excluded}", headers=world.headers("excluded_safeguarding")).status_code == 404
        assert client.get(f"/api/v1/cases/{self.excluded}", headers=world.headers("safeguarding")).status_code == 200
        assert client.get(f"/api/v1/cases/{self.closed}", headers=world.headers("safeguarding")).status_code == 200
        verified = client.get("/api/v1/audit/verify", headers=world.headers("admin")).json()
        assert verified["intact"] is True, verified


def _erased_by_purge(app: Any, world: World, settings: Any, case_id: uuid.UUID) -> None:
    clock.set_frozen(clock.now() + timedelta(days=365 * 7))
    assert "dropped the retention chain a rotation replaced" in run_purge(settings)
    ring = KeyRing.load(settings.key_file)
    assert ring.retired_chains == []
    with app.state.sessionmaker() as s:
        with pytest.raises(Shredded):
            keys.case_cipher(s, ring, case_id)
        assert cases.read_content(s, ring, user=s.get(User, uuid.UUID(world.id("safeguarding"))),
                                  case=s.get(Case, case_id), audited=False).description is None


def test_rotate_key_moves_the_rings_own_keys_and_everything_still_works(
    app: Any, client: TestClient, world: World, settings: Any, run_cli: Any
) -> None:
    t0 = clock.now()
    clock.set_frozen(t0)
    before = _Before(app, client, world)
    copy = settings.key_file.with_name("keys-before.json")  # a ring object follows its own file
    shutil.copyfile(settings.key_file, copy)
    old = KeyRing.load(copy)

    result = run_cli(["rotate-key"], settings)
    assert result.exit_code == 0, result.output
    assert "new lookup key and retention chain: moved 1 closed case(s)" in result.output
    ring = KeyRing.load(settings.key_file)
    assert ring.lookup_key != old.lookup_key and ring.retired_lookup == [old.lookup_key]
    assert ring.retention is not None and ring.retention.chain_id is not None
    assert [c.chain_id for c in ring.retired_chains] == [None]  # until nothing can still name it: purge drops it

    # What the ring alone can re-seal is under its new keys now, in the database itself.
    sg_id = uuid.UUID(world.id("safeguarding"))
    with app.state.sessionmaker() as s:
        lock_kek_id = s.get(CaseKey, before.closed).lock_kek_id  # type: ignore[union-attr]
        assert lock_kek_id is not None and lock_kek_id.endswith("~" + ring.retention.chain_id)
        sealed = s.get(User, sg_id).totp_secret_ct  # type: ignore[union-attr]
        assert envelope.open_(ring.subkey("users.totp_secret"), sealed, f"safeshare:v1:users:totp_secret_ct:{sg_id}".encode())
        excluded = {exclusion_index(blind.exclusion_key(ring), uuid.UUID(world.id(w)))
                    for w in ("excluded_hr", "excluded_safeguarding")}
        assert set(s.scalars(select(Exclusion.user_lookup).where(Exclusion.case_id == before.excluded))) == excluded
        # The receipt cannot be re-hashed without the receipt: still under the retired key...
        normalised = receipts.normalise(before.receipt)
        assert normalised is not None
        assert s.scalar(select(Case.id).where(Case.receipt_lookup == old.lookup_hash("receipt", normalised)))

    before.still_works(app, client, world, settings, code_at=t0 + timedelta(seconds=30))
    with app.state.sessionmaker() as s:  # ... until it is redeemed: then it is under the active one
        assert s.scalar(select(Case.id).where(Case.receipt_lookup == ring.lookup_hash("receipt", normalised)))
    with app.state.sessionmaker() as s, s.begin():  # the answers pooled before the rotation publish
        assert equality.publish_due(s, app.state.keyring, min_cell=1) == 1
    with app.state.sessionmaker() as s:
        assert s.scalar(select(EqualityCount.respondents)) == 1

    _erased_by_purge(app, world, settings, before.closed)


def test_a_rotation_that_stops_before_its_commit_leaves_everything_readable_and_runs_again(
    app: Any, client: TestClient, world: World, settings: Any, run_cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    t0 = clock.now()
    clock.set_frozen(t0)
    before = _Before(app, client, world)

    def crash(*_: Any, **__: Any) -> Any:
        raise RuntimeError("the machine went down")

    monkeypatch.setattr(access, "rekey_exclusions", crash)  # the ring file is written; the database is not
    result = run_cli(["rotate-key"], settings)
    assert result.exit_code == 2 and "run `safeshare rotate-key` again" in result.output
    ring = KeyRing.load(settings.key_file)
    assert len(ring.retired_lookup) == 1 and len(ring.retired_chains) == 1
    before.still_works(app, client, world, settings, code_at=t0 + timedelta(seconds=30))

    monkeypatch.undo()
    assert run_cli(["rotate-key"], settings).exit_code == 0
    ring = KeyRing.load(settings.key_file)
    assert len(ring.retired_lookup) == 2 and len(ring.retired_chains) == 2
    with app.state.sessionmaker() as s:
        assert rotation.keys.chains_in_use(s) == {ring.retention.chain_id}  # type: ignore[union-attr]
    before.still_works(app, client, world, settings, code_at=t0 + timedelta(seconds=60))
    _erased_by_purge(app, world, settings, before.closed)


def test_after_the_rotation_entry_a_retired_audit_key_adds_nothing(app: Any, settings: Any, run_cli: Any) -> None:
    """Entries under the retired key verify up to the rotation's entry, and after it only if stamped
    before it (a service that read the old ring, committing just after): whoever kept the old key
    cannot append later entries."""
    t0 = clock.now()
    clock.set_frozen(t0)
    copy = settings.key_file.with_name("keys-before.json")
    shutil.copyfile(settings.key_file, copy)
    retired = audit.chain_key(KeyRing.load(copy))
    assert run_cli(["rotate-key"], settings).exit_code == 0
    with_retired_key = make_sessionmaker(app.state.engine, audit_key=retired)

    def append_and_verify(at: Any) -> tuple[bool, int, int | None]:
        clock.set_frozen(at)
        with with_retired_key() as s, s.begin():
            audit.record(s, audit.Actor.system("test"), "case.read")
        with app.state.sessionmaker() as s:
            return audit.verify(s)

    assert append_and_verify(t0 - timedelta(seconds=1))[0] is True
    intact, _, broken = append_and_verify(t0 + timedelta(minutes=1))
    with app.state.sessionmaker() as s:
        assert not intact and broken == s.scalar(select(func.max(AuditEvent.id)))
