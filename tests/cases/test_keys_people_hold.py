"""Keys only people hold (issue 27): key pairs, the session's key, case keys wrapped to people,
`seal-cases`, grants, and the stolen server that reads nothing."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from sqlalchemy import select, text

from app import flows
from app.crypto import fields, people
from app.crypto.envelope import DecryptionError
from tests.cases.conftest import World

SECRET = "The station manager has been taking fuel cards home; I saw the receipts myself."
FAST = people.Argon2Params(1, 8, 1)
OLD_SG_NOTE = "Written before the second key: the brother-in-law works in IT."
SG_NOTE = "Strategy discussion with the police: do not tell the HR contact."


# --- the primitives (no database) -----------------------------------------------------------------------

def test_a_private_key_opens_with_its_password_its_recovery_key_and_its_session_token_only() -> None:
    user_id, other = uuid.uuid4(), uuid.uuid4()
    private = X25519PrivateKey.generate()
    pub = people.public_bytes(private)
    sealed = people.seal_under_password(user_id, private, "a long enough password", FAST)
    assert people.open_under_password(user_id, pub, sealed.by_password, sealed.spec, "a long enough password") is not None
    assert people.open_under_password(user_id, pub, sealed.by_password, sealed.spec, "another password") is None
    assert people.open_under_password(other, pub, sealed.by_password, sealed.spec, "a long enough password") is None

    recovery = people.new_recovery_key()
    blob = people.seal_under_recovery(user_id, private, recovery)
    opened = people.open_under_recovery(user_id, pub, blob, recovery.lower().replace("-", " "))
    assert opened is not None and people.public_bytes(opened) == pub
    assert people.open_under_recovery(user_id, pub, blob, people.new_recovery_key()) is None

    token = "sst_" + "x" * 43
    held = people.seal_for_session(token, user_id, private)
    assert people.open_for_session(token, user_id, held) is not None
    assert people.open_for_session(token + "y", user_id, held) is None


def test_a_wrapped_case_key_opens_for_its_person_and_case_only() -> None:
    mine, theirs = X25519PrivateKey.generate(), X25519PrivateKey.generate()
    case_id, dek = uuid.uuid4(), b"k" * 32
    wrapped = people.wrap_to(people.public_bytes(mine), case_id, dek)
    assert people.unwrap_with(mine, case_id, wrapped) == dek
    with pytest.raises(DecryptionError):
        people.unwrap_with(theirs, case_id, wrapped)
    with pytest.raises(DecryptionError):
        people.unwrap_with(mine, uuid.uuid4(), wrapped)


def test_the_sign_in_page_carries_the_key_to_the_code_step_sealed(tmp_path: Any) -> None:
    from app.auth import keys as person_keys
    from app.crypto import holders
    from app.crypto.keyring import KeyRing

    ring, user_id = KeyRing.load_or_create(tmp_path / "keys.json"), uuid.uuid4()
    pair = holders.new_key_pair(user_id, "a long enough password", FAST)
    text = person_keys.carry(ring, user_id, person_keys.Unlocked(pair.private, pair))
    back = person_keys.carried(ring, user_id, text)
    assert back is not None and back.new is not None and back.new.recovery_key == pair.recovery_key
    assert people.public_bytes(back.private) == pair.sealed.public
    assert person_keys.carried(ring, uuid.uuid4(), text) is None  # bound to the account
    assert person_keys.carried(ring, user_id, text[:-4] + "AAAA") is None


# --- through the service ----------------------------------------------------------------------------------

def _raw(app: Any, sql: str) -> list[tuple[Any, ...]]:
    with app.state.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql))]


def _cli(settings: Any, *args: str, stdin: str | None = None) -> str:
    result = _run(settings, *args, stdin=stdin)
    assert result.exit_code == 0, (args, result.output)
    return str(result.output)


def _run(settings: Any, *args: str, stdin: str | None = None) -> Any:
    from typer.testing import CliRunner

    from app.cli import cli

    env = {"SAFESHARE_DATABASE_URL": settings.database_url, "SAFESHARE_KEY_FILE": str(settings.key_file),
           "SAFESHARE_ARGON2_TIME_COST": "1", "SAFESHARE_ARGON2_MEMORY_KIB": "8", "SAFESHARE_ARGON2_PARALLELISM": "1"}
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        return CliRunner().invoke(cli, list(args), env=env, input=stdin)
    finally:
        root.handlers[:], root.level = handlers, level


def _seal(app: Any, email: str, password: str) -> str:
    return _cli(app.state.settings, "seal-cases", "--as", email, "--password-stdin", stdin=password + "\n")


def _login(client: Any, email: str, password: str) -> dict[str, str]:
    r = client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def test_sealed_cases_open_only_for_the_people_who_hold_their_keys(app: Any, world: World, client: Any,
                                                                   make_staff: Any) -> None:
    from app.auth.models import User
    from app.cases.models import Case
    from app.crypto.models import CaseKey, PersonKey

    # Sign-in made key pairs; the first safeguarding key is certified (the bootstrap), and the
    # session row holds the private key only sealed under the token.
    with app.state.sessionmaker() as s:
        keys_by_user = {str(r.user_id): r for r in s.scalars(select(PersonKey))}
    assert keys_by_user[world.id("safeguarding")].certified_at is not None
    assert keys_by_user[world.id("excluded_safeguarding")].certified_at is None
    assert world.id("admin") not in keys_by_user and world.id("leadership") not in keys_by_user
    assert all(ct is not None for (ct,) in _raw(app, "SELECT person_key_ct FROM staff_sessions"
                                                     " WHERE person_key_ct IS NOT NULL"))

    before = world.new_case(description=SECRET)  # assigned to assigned_hr, before sealing
    ring = app.state.keyring
    with app.state.sessionmaker() as s, s.begin():  # the assigner's session opens the key for the HR contact
        from app.cases import keyholders
        assert keyholders.share(s, ring, case_id=before, user_id=uuid.UUID(world.id("assigned_hr")))
    # A safeguarding-only note as one was stored before its case had a safeguarding-only key: under the case key.
    sg = world.staff["safeguarding"]
    r = client.post(f"/api/v1/cases/{before}/notes", json={"body": OLD_SG_NOTE}, headers=world.headers("safeguarding"))
    assert r.status_code == 201, r.text
    from sqlalchemy import update

    from app.cases.models import Note
    from app.enums import NoteVisibility
    with app.state.sessionmaker() as s, s.begin():
        s.execute(update(Note).where(Note.id == uuid.UUID(r.json()["id"])).values(visibility=NoteVisibility.SAFEGUARDING))
    out = _seal(app, sg.email, sg.password)
    assert "1 case key(s) moved" in out and "1 older note(s) on 1 case(s) moved" in out
    assert _raw(app, "SELECT count(*) FROM case_keys WHERE wrapped_key IS NOT NULL") == [(0,)]
    # The database alone names nobody who holds (or lacks: the excluded) a case's key.
    flat = b"".join(v if isinstance(v, bytes) else str(v).encode() for row in _raw(app, "SELECT * FROM case_key_wraps")
                    for v in row)
    for who in world.staff.values():
        u = uuid.UUID(who.id)
        assert not any(form in flat for form in (u.bytes, u.hex.encode(), str(u).encode()))

    # After sealing: the holders read, the excluded stay out, a newcomer sees metadata only.
    def read(headers: dict[str, str], case_id: uuid.UUID) -> dict[str, Any]:
        r = client.get(f"/api/v1/cases/{case_id}", headers=headers)
        assert r.status_code == 200, r.text
        return dict(r.json())

    sg_headers = _login(client, sg.email, sg.password)
    assert read(sg_headers, before)["description"] == SECRET
    assert read(world.headers("assigned_hr"), before)["content_access"] is True
    assert client.get(f"/api/v1/cases/{before}", headers=world.headers("excluded_safeguarding")).status_code == 404
    # rotate-key moves the holders' blind indexes and the certifications to the ring's new key: the
    # same people read (the certified one gets the new cases below), the excluded stay out.
    assert "0 key holder row(s)" not in _cli(app.state.settings, "rotate-key")
    assert read(sg_headers, before)["description"] == SECRET
    assert read(world.headers("assigned_hr"), before)["content_access"] is True
    assert client.get(f"/api/v1/cases/{before}", headers=world.headers("excluded_safeguarding")).status_code == 404

    newcomer = make_staff("safeguarding", name="Nia Newcomer")
    blank = read({"Authorization": f"Bearer {newcomer.token}"}, before)
    assert blank["content_access"] is False and blank["description"] is None and blank["reference"]
    assert client.get(f"/api/v1/cases/{before}/messages",
                      headers={"Authorization": f"Bearer {newcomer.token}"}).status_code == 403
    page = client.get(f"/staff/cases/{before}", headers={"Authorization": f"Bearer {newcomer.token}"})
    assert page.status_code == 200 and 'id="no-case-key"' in page.text and "Sam Safeguarding" in page.text
    assert 'Grant the cases I hold' in client.get("/staff/approvals", headers=sg_headers).text

    # New cases after sealing: no master wrap; wrapped to the certified safeguarding users only.
    after = world.new_case(description=SECRET, assign=False, exclude=False)
    with app.state.sessionmaker() as s:
        row = s.get(CaseKey, after)
        assert row is not None and row.wrapped_key is None
    assert read(sg_headers, after)["description"] == SECRET
    assert read({"Authorization": f"Bearer {newcomer.token}"}, after)["content_access"] is False

    # Safeguarding-only notes (and their files) are under the case's second key, which the HR
    # contact does not hold: not only kept from their pages, but past what their key opens.
    hr = world.headers("assigned_hr")
    upload = client.post(f"/api/v1/cases/{before}/attachments", headers=sg_headers,
                         files={"file": ("strategy.txt", b"meeting with the police on Friday", "text/plain")})
    assert upload.status_code == 201, upload.text
    r = client.post(f"/api/v1/cases/{before}/notes", headers=sg_headers, json={
        "body": SG_NOTE, "visibility": "safeguarding", "attachment_ids": [upload.json()["id"]]})
    assert r.status_code == 201 and r.json()["body"] == SG_NOTE, r.text
    assert client.post(f"/api/v1/cases/{before}/notes", json={"body": "Team note."}, headers=hr).status_code == 201
    assert [n["body"] for n in client.get(f"/api/v1/cases/{before}/notes", headers=hr).json()] == ["Team note."]
    assert [n["body"] for n in client.get(f"/api/v1/cases/{before}/notes", headers=sg_headers).json()] == [
        OLD_SG_NOTE, SG_NOTE, "Team note."]
    hits = client.get("/api/v1/cases", params={"q": "strategy discussion"}, headers=sg_headers).json()["items"]
    assert [c["id"] for c in hits] == [str(before)]
    assert client.get("/api/v1/cases", params={"q": "strategy discussion"}, headers=hr).json()["items"] == []
    _hr_key_opens_no_safeguarding_note(app, world, before, sg_holders=1)  # Sam's only

    # A holder grants the newcomer everything they hold, in one action; it is audited.
    r = client.post("/api/v1/key-grants", json={"user_id": newcomer.id}, headers=sg_headers)
    assert r.status_code == 200, r.text
    assert r.json()["cases"] == 2
    assert read({"Authorization": f"Bearer {newcomer.token}"}, before)["description"] == SECRET
    newcomer_notes = client.get(f"/api/v1/cases/{before}/notes", headers={"Authorization": f"Bearer {newcomer.token}"})
    assert [n["body"] for n in newcomer_notes.json()] == [OLD_SG_NOTE, SG_NOTE, "Team note."]
    assert [a["filename"] for a in newcomer_notes.json()[1]["attachments"]] == ["strategy.txt"]
    # A grant to the HR contact passes them no safeguarding-only key.
    assert client.post("/api/v1/key-grants", json={"user_id": world.id("assigned_hr")},
                       headers=sg_headers).status_code == 200
    _hr_key_opens_no_safeguarding_note(app, world, before, sg_holders=2)  # Sam's and the newcomer's
    assert _raw(app, "SELECT count(*) FROM audit_events WHERE action = 'keys.granted'") == [(2,)]  # and the HR contact's
    assert client.post("/api/v1/key-grants", json={"user_id": sg.id}, headers=sg_headers).status_code == 403

    # Changing one's password keeps the key pair: sealed again, with no need to retype the old one.
    fresh = _login(client, newcomer.email, newcomer.password)
    r = client.post("/api/v1/auth/password", json={"new_password": "a different long passphrase"}, headers=fresh)
    assert r.status_code == 204, r.text
    assert read(_login(client, newcomer.email, "a different long passphrase"), after)["description"] == SECRET

    # Deactivating an account removes its wraps.
    with app.state.sessionmaker() as s, s.begin():
        from app.audit.service import Actor
        from app.auth import service as auth
        auth.update_user(s, user_id=uuid.UUID(newcomer.id), roles=None, active=False, name=None,
                         by=Actor.system("test"))
        flows.finish(s)
    with app.state.sessionmaker() as s:
        from app.crypto import holders
        assert holders.held_cases(s, user_id=uuid.UUID(newcomer.id)) == []
        assert holders.held_cases(s, user_id=uuid.UUID(newcomer.id), part="safeguarding") == []
        gone = holders.person_key(s, uuid.UUID(newcomer.id))
        assert gone is not None and gone.certified_at is None  # intake no longer wraps to it
        assert s.get(User, uuid.UUID(newcomer.id)) is not None and s.get(Case, after) is not None


def _hr_key_opens_no_safeguarding_note(app: Any, world: World, case_id: uuid.UUID, *, sg_holders: int) -> None:
    """The HR contact's own private key (from their session) and the database: the case key opens,
    the safeguarding-only key does not, and no safeguarding-only note or file opens with the case key."""
    from app.attachments.models import Attachment
    from app.auth import keys as person_keys
    from app.auth.models import StaffSession
    from app.auth.service import token_hash
    from app.cases.models import Note
    from app.crypto import holders, keys
    from app.crypto.envelope import NoCaseKey
    from app.crypto.models import CaseKeyWrap

    token = world.staff["assigned_hr"].token
    with app.state.sessionmaker() as s:
        row = s.scalar(select(StaffSession).where(StaffSession.token_hash == token_hash(token)))
        assert row is not None
        person_keys.from_session(s, row, token)
        holding = holders.held(s)
        assert holding is not None and str(holding.user_id) == world.id("assigned_hr")
        main = keys.case_cipher(s, app.state.keyring, case_id)  # the HR contact holds the case key
        with pytest.raises(NoCaseKey):
            keys.sg_cipher(s, app.state.keyring, case_id)
        assert not holders.holds(s, case_id=case_id, user_id=holding.user_id, part="safeguarding")
        sg_wraps = s.scalars(select(CaseKeyWrap.wrapped).where(CaseKeyWrap.case_id == case_id,
                                                               CaseKeyWrap.part == "safeguarding")).all()
        assert len(sg_wraps) == sg_holders
        for blob in sg_wraps:
            with pytest.raises(DecryptionError):
                people.unwrap_with(holding.private, case_id, blob, "safeguarding")
        sg_notes = s.scalars(select(Note).where(Note.case_id == case_id, Note.visibility == "safeguarding")).all()
        assert len(sg_notes) == 2 and all(n.under_sg_key for n in sg_notes)
        for note in sg_notes:
            assert note.body_ct is not None
            with pytest.raises(DecryptionError):
                main.decrypt(fields.NOTE_BODY, note.id, note.body_ct)
        files = s.scalars(select(Attachment).where(Attachment.note_id.in_([n.id for n in sg_notes]))).all()
        assert len(files) == 1 and files[0].under_sg_key and files[0].key_ct is not None
        with pytest.raises(DecryptionError):
            main.decrypt_bytes(fields.ATTACHMENT_FILE_KEY, files[0].id, files[0].key_ct)


def test_a_stolen_server_and_an_administrator_takeover_read_no_case(app: Any, world: World, client: Any,
                                                                     settings: Any) -> None:
    from app.audit.service import Actor
    from app.auth import service as auth
    from app.cases import search
    from app.cases.models import Case
    from app.crypto import keys
    from app.crypto.envelope import NoCaseKey
    from app.main import create_app

    ids = [world.new_case(description=SECRET) for _ in range(2)]
    sg = world.staff["safeguarding"]
    _seal(app, sg.email, sg.password)
    app.state.engine.dispose()

    # The database, the ring and the settings in a fresh process with no live session.
    stolen = create_app(settings)
    ring = stolen.state.keyring
    with stolen.state.sessionmaker() as s:
        for case_id in ids:
            with pytest.raises(NoCaseKey):
                keys.case_cipher(s, ring, case_id)
        assert keys.case_ciphers(s, ring, within=select(Case.id)) == {}
        assert keys.migration_cipher(ring)(s.connection(), ids[0]) is None
        assert keys.first_unreadable(s, ring) is None  # nothing left for the ring to open
        assert search is not None
    flat = b"".join(v for (v,) in _raw(stolen, "SELECT description_ct FROM cases"))
    assert SECRET.encode() not in flat
    # Every command that runs with the database and the ring alone: none needs (or finds) a case key.
    for command in (["remind"], ["publish-equality"], ["stats-refresh"], ["report"], ["purge"], ["rotate-key"],
                    ["audit-head"]):
        assert "fuel cards" not in _cli(settings, *command)

    # An administrator's break-glass set-password: a fresh key pair holding no case key.
    with stolen.state.sessionmaker() as s, s.begin():
        _, recovery = auth.set_password(s, stolen.state.passwords, email=sg.email, password="taken over by the admin",
                                        by=Actor.system("set-password"), settings=settings)
        assert recovery is not None
        flows.finish(s)
    from fastapi.testclient import TestClient
    with TestClient(stolen) as thief:
        headers = _login(thief, sg.email, "taken over by the admin")
        for case_id in ids:
            r = thief.get(f"/api/v1/cases/{case_id}", headers=headers)
            assert r.status_code == 200 and r.json()["content_access"] is False and r.json()["description"] is None
        found = thief.get("/api/v1/cases", params={"q": "fuel cards"}, headers=headers)
        assert found.status_code == 200 and found.json()["items"] == []
        queue = thief.get("/api/v1/cases", headers=headers)  # the queue needs no key
        assert queue.status_code == 200 and len(queue.json()["items"]) == 2

        # The review's chain: an administrator's reset of the HR contact (as applied once confirmed).
        from app.auth.models import User
        with stolen.state.sessionmaker() as s, s.begin():
            confirmer, contact = (s.get(User, uuid.UUID(world.id(w))) for w in ("excluded_safeguarding", "assigned_hr"))
            assert confirmer is not None and contact is not None
            one_time, _ = auth._apply_password_reset(s, stolen.state.passwords, settings, user=contact, by=confirmer)
            flows.finish(s)
        hr = _login(thief, world.staff["assigned_hr"].email, one_time)
        from app.crypto import holders

        def pair() -> object:
            with stolen.state.sessionmaker() as s:
                return holders.person_key(s, uuid.UUID(world.id("assigned_hr")))

        assert pair() is None  # a one-time password makes no key pair
        assert thief.post("/api/v1/auth/password", headers=hr, json={
            "current_password": one_time, "new_password": "the administrator's own"}).status_code == 204
        assert pair() is not None  # the password its owner chose does
        r = thief.get(f"/api/v1/cases/{ids[0]}", headers=hr)
        assert r.status_code == 200 and r.json()["content_access"] is False
    # A database writer without the ring plants a reader: the HR contact's key given the safeguarding
    # role and marked certified, with a valid certification copied from a real holder's row.
    from app import clock
    from app.auth.models import UserRole
    from app.cases import intake
    from app.cases.schemas import ReportIn
    from app.crypto.models import PersonKey
    from app.enums import Channel, Role
    hr_id, real_id = uuid.UUID(world.id("assigned_hr")), uuid.UUID(world.id("excluded_safeguarding"))
    with stolen.state.sessionmaker() as s, s.begin():
        s.add(UserRole(user_id=hr_id, role=Role.SAFEGUARDING))
        planted, real = s.get(PersonKey, hr_id), s.get(PersonKey, real_id)
        assert planted is not None and real is not None and real.certification is not None
        planted.certified_at, planted.certification = clock.now(), real.certification
    with stolen.state.sessionmaker() as s, s.begin():
        new = intake.create_case(s, ring, settings, data=ReportIn(description=SECRET), channel=Channel.WEB).id
    with stolen.state.sessionmaker() as s:
        assert holders.holds(s, case_id=new, user_id=real_id)  # intake wraps to the certified holder
        assert not holders.holds(s, case_id=new, user_id=hr_id)  # not to the planted key
    # An ended session keeps no sealed private key: a token kept after its end opens nothing.
    assert _raw(stolen, "SELECT count(*) FROM staff_sessions WHERE revoked_at IS NOT NULL"
                        " AND person_key_ct IS NOT NULL") == [(0,)]
    assert _raw(stolen, "SELECT count(*) FROM staff_sessions WHERE revoked_at IS NOT NULL") != [(0,)]
    stolen.state.engine.dispose()


def test_a_closed_case_needs_its_retention_day_too_so_a_copy_from_before_the_purge_opens_nothing(
        app: Any, world: World, client: Any) -> None:
    from datetime import timedelta

    from sqlalchemy import func

    from app.cases.models import Case
    from app.crypto.models import CaseKey, CaseKeyWrap

    case_id = world.new_case(description=SECRET)
    sg = world.staff["safeguarding"]
    _seal(app, sg.email, sg.password)
    headers = _login(client, sg.email, sg.password)
    assert client.post(f"/api/v1/cases/{case_id}/close", headers=headers,
                       json={"outcome": "referred", "summary": "Sorted."}).status_code == 200
    with app.state.sessionmaker() as s:
        row, case = s.get(CaseKey, case_id), s.get(Case, case_id)
        assert row is not None and case is not None and case.retain_until is not None
        assert row.wrapped_key is None and row.lock_kek_id == f"retain-{case.retain_until.isoformat()}"
        day = case.retain_until
    assert client.get(f"/api/v1/cases/{case_id}", headers=headers).json()["description"] == SECRET
    # `purge` destroys the day; the rows here are all still there, as in a backup made before it.
    assert app.state.keyring.destroy_retention_before(day + timedelta(days=1)) > 0
    with app.state.sessionmaker() as s:  # the holder's wrap is still there: it is the lock that is gone
        assert s.scalar(select(func.count()).select_from(CaseKeyWrap).where(CaseKeyWrap.case_id == case_id))
    r = client.get(f"/api/v1/cases/{case_id}", headers=headers)
    assert r.status_code == 200 and r.json()["description"] is None


def _before_locks(app: Any, receipts: dict[uuid.UUID, str | None]) -> None:
    """Make these cases as a version before case locks (revision 0023) left them: no lock, every wrap
    (a person's, the escrow key's, the receipt's) holding the case's keys themselves. Before sealing."""
    from app.crypto import holders
    from app.crypto import receipts as codes
    from app.crypto.envelope import unwrap_data_key
    from app.crypto.models import CaseKey

    ring = app.state.keyring
    with app.state.sessionmaker() as s, s.begin():
        publics = holders.public_keys_by_holder(s)
        for case_id, receipt in receipts.items():
            row = s.get(CaseKey, case_id)
            assert row is not None and row.wrapped_key is not None
            parts = {"case": unwrap_data_key(ring, case_id, row.kek_id, row.wrapped_key)}
            if row.sg_wrapped_key is not None:
                parts["safeguarding"] = unwrap_data_key(ring, case_id, row.kek_id, row.sg_wrapped_key,
                                                        column="sg_wrapped_key")
            assert holders.rewrap_case(s, case_id, parts, publics)
            row.lock_kek_id = row.lock_wrapped = None
            normalised = codes.normalise(receipt) if receipt else None
            row.reporter_wrapped = people.wrap_to_receipt(normalised, case_id, parts["case"]) if normalised else None


def test_seal_cases_locks_the_cases_made_before_locks_in_a_deployment_sealed_before(
        app: Any, world: World, client: Any, make_staff: Any, monkeypatch: Any) -> None:
    from datetime import timedelta

    from sqlalchemy import func

    from app.audit.service import Actor
    from app.cases import keyholders
    from app.cases.models import Case
    from app.crypto.models import CaseKey, CaseKeyWrap
    from app.retention import erase_case

    settings, sg, eve = app.state.settings, world.staff["safeguarding"], world.staff["excluded_safeguarding"]
    made = _run(settings, "escrow", "create")
    assert made.exit_code == 0, made.output
    a, b = dict(line.split(": ", 1) for line in made.stdout.splitlines()).values()
    opened = world.new_case(description=SECRET)  # Eve is excluded from it; its HR contact is assigned_hr
    closed = world.new_case(description=SECRET, assign=False)
    reported = client.post("/api/v1/reports", json={"description": SECRET})
    assert reported.status_code == 201, reported.text
    receipt = reported.json()["receipt"]
    with app.state.sessionmaker() as s, s.begin():
        assert keyholders.share(s, app.state.keyring, case_id=opened, user_id=uuid.UUID(world.id("assigned_hr")))
        by_receipt = s.scalar(select(Case.id).where(Case.id.not_in([opened, closed])))
        assert by_receipt is not None
    sg_headers = world.headers("safeguarding")
    assert client.post(f"/api/v1/cases/{opened}/notes", json={"body": SG_NOTE, "visibility": "safeguarding"},
                       headers=sg_headers).status_code == 201
    assert client.post(f"/api/v1/cases/{closed}/close", headers=sg_headers,
                       json={"outcome": "referred", "summary": "Sorted."}).status_code == 200
    _before_locks(app, {opened: None, closed: None, by_receipt: receipt})
    # Sealed by a version that made no locks: its wraps to people and the escrow key hold the keys themselves.
    monkeypatch.setattr(keyholders, "lock_older_cases", lambda *_, **__: keyholders.Locked(0, 0, None))
    assert "locked:" not in _seal(app, sg.email, sg.password)
    monkeypatch.undo()

    def state() -> list[tuple[Any, ...]]:
        return (_raw(app, "SELECT case_id, kek_id, lock_kek_id, lock_wrapped, reporter_wrapped, reporter_unmasked"
                          " FROM case_keys ORDER BY case_id")
                + _raw(app, "SELECT case_id, holder, part, wrapped FROM case_key_wraps ORDER BY case_id, holder, part"))

    # Each runner locks the cases they open; Eve, excluded from two, leaves those to Sam.
    assert "locked: 1 case(s)" in (out := _seal(app, eve.email, eve.password)) and "2 such case(s) are not yours" in out
    assert "locked: 2 case(s)" in (out := _seal(app, sg.email, sg.password)) and "not yours" not in out
    before = state()
    assert "locked:" not in _seal(app, sg.email, sg.password)  # a second run changes nothing
    assert state() == before
    assert _raw(app, "SELECT count(*) FROM audit_events WHERE action = 'keys.locked'") == [(2,)]
    with app.state.sessionmaker() as s:
        rows = {r.case_id: r for r in s.scalars(select(CaseKey))}
        retain_until = s.scalar(select(Case.retain_until).where(Case.id == closed))
        assert all(r.lock_wrapped is not None and r.wrapped_key is None for r in rows.values())
        assert rows[closed].lock_kek_id == f"retain-{retain_until}"  # under its retention day at once
        assert not rows[opened].lock_kek_id.startswith("retain-")  # type: ignore[union-attr]
        assert rows[by_receipt].reporter_unmasked and not rows[opened].reporter_unmasked

    # Reads, the safeguarding-only key, the HR contact, reassignment, a grant and escrow recovery.
    sg_headers = _login(client, sg.email, sg.password)
    for case_id in (opened, closed, by_receipt):
        assert client.get(f"/api/v1/cases/{case_id}", headers=sg_headers).json()["description"] == SECRET
    assert [n["body"] for n in client.get(f"/api/v1/cases/{opened}/notes", headers=sg_headers).json()] == [SG_NOTE]
    assert client.get(f"/api/v1/cases/{opened}", headers=world.headers("assigned_hr")).json()["content_access"] is True
    assert client.put(f"/api/v1/cases/{opened}/hr-contact", json={"user_id": world.id("other_hr")},
                      headers=sg_headers).status_code == 200
    assert client.get(f"/api/v1/cases/{opened}", headers=world.headers("other_hr")).json()["description"] == SECRET
    newcomer = make_staff("safeguarding", name="Nia Newcomer")
    assert client.post("/api/v1/key-grants", json={"user_id": newcomer.id}, headers=sg_headers).json()["cases"] == 3
    recovered = make_staff("safeguarding", name="Rory Recovered")
    assert "recovered: 3 case key(s)" in _cli(settings, "escrow", "recover", "--to", recovered.email, stdin=f"{a}\n{b}\n")
    for who in (newcomer, recovered):
        headers = {"Authorization": f"Bearer {who.token}"}
        assert client.get(f"/api/v1/cases/{opened}", headers=headers).json()["description"] == SECRET
        assert [n["body"] for n in client.get(f"/api/v1/cases/{opened}/notes", headers=headers).json()] == [SG_NOTE]

    # The reporter's receipt wrap could not be re-made without the receipt: it opens as it was, and
    # their visit re-makes it masked by the lock.
    token = client.post("/api/v1/reporter/session", json={"receipt": receipt}).json()["token"]
    assert client.get("/api/v1/reporter/case", headers={"Authorization": f"Bearer {token}"}).json()[
        "description"] == SECRET
    with app.state.sessionmaker() as s:
        row = s.get(CaseKey, by_receipt)
        assert row is not None and not row.reporter_unmasked and row.reporter_wrapped != rows[by_receipt].reporter_wrapped
    token = client.post("/api/v1/reporter/session", json={"receipt": receipt}).json()["token"]
    assert client.get("/api/v1/reporter/case", headers={"Authorization": f"Bearer {token}"}).json()[
        "description"] == SECRET

    # Purge destroys the closed case's day: a copy of the database from before it, wraps and all, opens nothing.
    assert retain_until is not None and app.state.keyring.destroy_retention_before(retain_until + timedelta(days=1))
    with app.state.sessionmaker() as s:
        assert s.scalar(select(func.count()).select_from(CaseKeyWrap).where(CaseKeyWrap.case_id == closed))
    r = client.get(f"/api/v1/cases/{closed}", headers=sg_headers)
    assert r.status_code == 200 and r.json()["description"] is None
    assert client.get(f"/api/v1/cases/{opened}", headers=sg_headers).json()["description"] == SECRET
    with app.state.sessionmaker() as s, s.begin():
        erase_case(s, case=s.get(Case, closed), by=Actor.system("purge"))
    with app.state.sessionmaker() as s:
        assert s.scalar(select(func.count()).select_from(CaseKeyWrap).where(CaseKeyWrap.case_id == closed)) == 0


def test_an_hr_contact_assigned_while_seal_cases_locks_the_case_still_reads_it(app: Any, world: World, client: Any,
                                                                                backend: Any) -> None:
    """A wrap copied in the same moment as the case gets its lock must hold the same form as the others."""
    if backend.name != "postgresql":
        pytest.skip("on SQLite a writing transaction holds the whole database from its first statement")
    import threading

    from app.auth.models import User
    from app.cases import keyholders

    case = world.new_case(description=SECRET, assign=False)
    _before_locks(app, {case: None})
    sg, hr = world.staff["safeguarding"], uuid.UUID(world.id("assigned_hr"))
    locked: list[object] = []

    def lock_pass() -> None:
        with app.state.sessionmaker() as s, s.begin():
            locked.append(keyholders.lock_older_cases(s, app.state.keyring, by=s.get(User, uuid.UUID(sg.id))))

    with app.state.sessionmaker() as s, s.begin():
        assert keyholders.share(s, app.state.keyring, case_id=case, user_id=hr)  # the case's key to its HR contact
        other = threading.Thread(target=lock_pass)
        other.start()
        other.join(0.5)
        assert other.is_alive()  # seal-cases waits for the copy ...
    other.join(10)
    assert locked and locked[0].locked == 1  # type: ignore[attr-defined]
    # ... and then re-makes the new wrap masked with the others: the HR contact reads the case.
    with app.state.sessionmaker() as s, s.begin():
        s.execute(text("UPDATE cases SET hr_contact_id = :hr WHERE id = :id"), {"hr": hr.hex, "id": case.hex})
    r = client.get(f"/api/v1/cases/{case}", headers=world.headers("assigned_hr"))
    assert r.json()["description"] == SECRET, r.text


def test_the_reporter_keeps_their_case_after_sealing_through_their_receipt(app: Any, world: World, client: Any) -> None:
    from app.crypto.models import CaseKey

    made = client.post("/api/v1/reports", json={"description": SECRET})
    assert made.status_code == 201, made.text
    receipt = made.json()["receipt"]
    sg = world.staff["safeguarding"]
    _seal(app, sg.email, sg.password)
    with app.state.sessionmaker() as s:
        assert all(r.wrapped_key is None and r.reporter_wrapped is not None for r in s.scalars(select(CaseKey)))

    token = client.post("/api/v1/reporter/session", json={"receipt": receipt}).json()["token"]
    reporter = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/reporter/case", headers=reporter).json()["description"] == SECRET
    assert client.post("/api/v1/reporter/messages", json={"body": "There is more."}, headers=reporter).status_code == 201
    case_id = client.get("/api/v1/cases", headers=_login(client, sg.email, sg.password)).json()["items"][0]["id"]
    thread = client.get(f"/api/v1/cases/{case_id}/messages", headers=_login(client, sg.email, sg.password)).json()
    assert [m["body"] for m in thread] == ["There is more."]


def test_the_owners_recovery_key_brings_back_what_a_reset_set_aside(app: Any, world: World, client: Any) -> None:
    from app.audit.service import Actor
    from app.auth import service as auth

    case_id = world.new_case(description=SECRET)
    sg = world.staff["safeguarding"]
    _seal(app, sg.email, sg.password)
    before_reset = _login(client, sg.email, sg.password)
    assert client.post(f"/api/v1/cases/{case_id}/notes", json={"body": SG_NOTE, "visibility": "safeguarding"},
                       headers=before_reset).status_code == 201
    recovery = client.post("/api/v1/auth/recovery-key", headers=before_reset).json()
    with app.state.sessionmaker() as s, s.begin():  # break-glass by the operator
        auth.set_password(s, app.state.passwords, email=sg.email, password="the operator's choice now",
                          by=Actor.system("set-password"), settings=app.state.settings)
        flows.finish(s)

    headers = _login(client, sg.email, "the operator's choice now")
    assert client.get(f"/api/v1/cases/{case_id}", headers=headers).json()["content_access"] is False
    page = client.get("/staff/account", headers=headers)
    assert 'id="access-waiting"' in page.text
    wrong = client.post("/api/v1/auth/recovery-key/restore", json={"recovery_key": "0" * 26}, headers=headers)
    assert wrong.status_code == 403
    r = client.post("/api/v1/auth/recovery-key/restore", json=recovery, headers=headers)
    assert r.status_code == 200 and r.json() == {"cases": 1}
    assert client.get(f"/api/v1/cases/{case_id}", headers=headers).json()["description"] == SECRET
    assert [n["body"] for n in client.get(f"/api/v1/cases/{case_id}/notes", headers=headers).json()] == [SG_NOTE]
    assert _raw(app, "SELECT count(*) FROM audit_events WHERE action = 'keys.recovered'") == [(1,)]
    assert client.post("/api/v1/auth/recovery-key/restore", json=recovery, headers=headers).status_code == 409


def test_an_escrow_key_in_two_shares_recovers_the_cases_to_a_new_holder(app: Any, world: World, client: Any,
                                                                         make_staff: Any) -> None:
    from app.audit.service import Actor
    from app.cases.models import Case
    from app.crypto import escrow, holders
    from app.retention import erase_case

    settings, sg = app.state.settings, world.staff["safeguarding"]
    before = world.new_case(description=SECRET)  # excludes excluded_safeguarding
    _seal(app, sg.email, sg.password)
    assert client.post(f"/api/v1/cases/{before}/notes", json={"body": SG_NOTE, "visibility": "safeguarding"},
                       headers=world.headers("safeguarding")).status_code == 201

    def escrowed() -> set[uuid.UUID]:
        with app.state.sessionmaker() as s:
            return {case_id for case_id, _ in holders.escrowed(s)}

    def refused(*args: str, stdin: str = "") -> str:
        result = _run(settings, *args, stdin=stdin)
        assert result.exit_code == 2, result.output
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        return str(result.stderr)

    # Off by default: nothing is wrapped to an escrow key, and there is nothing to recover with.
    assert escrowed() == set()
    assert "no escrow key is configured" in refused("escrow", "recover", "--to", sg.email)

    # The ceremony: standard output carries the two labelled shares and nothing else; the database
    # keeps only the public key.
    made = _run(settings, "escrow", "create")
    assert made.exit_code == 0, made.output
    shares = dict(line.split(": ", 1) for line in made.stdout.splitlines())
    assert list(shares) == ["person A's share", "person B's share"]
    a, b = shares.values()
    assert a.startswith("A-") and b.startswith("B-") and a not in made.stderr
    assert [len(k) for (k,) in _raw(app, "SELECT public_key FROM escrow_key")] == [32]
    after = world.new_case(description=SECRET, assign=False, exclude=False)
    assert escrowed() == {after}  # a new case is wrapped to escrow; the one sealed before is not...
    assert "covered: 1 more" in _cli(settings, "escrow", "cover", "--as", sg.email, "--password-stdin",
                                     stdin=sg.password + "\n")
    assert escrowed() == {before, after}  # ...until a holder covers it

    # Wrong shares are refused in one line and change nothing; so is an unknown account.
    newcomer = make_staff("safeguarding", name="Rory Recovered")
    typo = a[:-1] + ("1" if a[-1] == "0" else "0")
    other = escrow.new_escrow_key()
    for stdin, why in ((f"{typo}\n{b}\n", "mistyped"), (f"{a}\n{a}\n", "both are share A"),
                       (f"{a}\n{other.share_b}\n", "different escrow ceremonies"),
                       (f"{other.share_a}\n{other.share_b}\n", "another escrow key")):
        assert why in refused("escrow", "recover", "--to", newcomer.email, stdin=stdin)
    assert "No user" in refused("escrow", "recover", "--to", "nobody@example.org", stdin=f"{a}\n{b}\n")
    newcomer_headers = {"Authorization": f"Bearer {newcomer.token}"}
    assert client.get(f"/api/v1/cases/{before}", headers=newcomer_headers).json()["content_access"] is False

    # The two shares (in either order) recover every escrowed case to the new safeguarding user,
    # but never a case to someone excluded from it.
    assert "recovered: 2 case key(s)" in _cli(settings, "escrow", "recover", "--to", newcomer.email, stdin=f"{b}\n{a}\n")
    assert client.get(f"/api/v1/cases/{before}", headers=newcomer_headers).json()["description"] == SECRET
    # ...with its safeguarding-only key (covered with the case key), so its safeguarding-only note.
    notes = client.get(f"/api/v1/cases/{before}/notes", headers=newcomer_headers).json()
    assert [n["body"] for n in notes] == [SG_NOTE]
    excluded = world.staff["excluded_safeguarding"].email
    assert "recovered: 0 case key(s)" in _cli(settings, "escrow", "recover", "--to", excluded, stdin=f"{a}\n{b}\n")
    with app.state.sessionmaker() as s:
        assert not holders.holds(s, case_id=before, user_id=uuid.UUID(world.id("excluded_safeguarding")))
    assert _raw(app, "SELECT count(*) FROM audit_events WHERE action = 'keys.escrow_recovered'") == [(2,)]

    # Erasure shreds the escrow wrap with the others; `escrow remove` turns escrow off again.
    with app.state.sessionmaker() as s, s.begin():
        erase_case(s, case=s.get(Case, after), by=Actor.system("purge"))
    assert escrowed() == {before}
    assert "2 case key wrap(s)" in _cli(settings, "escrow", "remove", "--yes")  # the case key's and its second key's
    world.new_case(description=SECRET, assign=False, exclude=False)
    assert escrowed() == set() and _raw(app, "SELECT count(*) FROM escrow_key") == [(0,)]
