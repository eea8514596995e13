"""Encryption at rest: per-case data keys, ciphertexts bound to their row and column, rotation, shredding."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from sqlalchemy import select, update

from app.cases import thread
from app.cases.models import Case, Message
from app.crypto import fields
from app.crypto import keys as crypto
from app.crypto.envelope import DecryptionError, Shredded
from app.crypto.keyring import KeyRing, KeyRingError
from app.crypto.models import CaseKey
from app.enums import Sender
from tests import support
from tests.foundation.conftest import env_for

SECRET = "My manager shouts at me in meetings."


def _case(db: Any, case_id: uuid.UUID) -> Case:
    db.expire_all()
    case = db.get(Case, case_id)
    assert case is not None
    return case


def test_field_round_trip(app: Any, db: Any, make_case: Any) -> None:
    case_id = make_case(SECRET, anonymous=False, reporter={"name": "Sam Jones", "email": "sam@example.org"})
    case = _case(db, case_id)
    assert SECRET.encode() not in case.description_ct
    assert support.read_description(db, app.state.keyring, case) == SECRET
    assert support.read_reporter(db, app.state.keyring, case)["name"] == "Sam Jones"


def test_case_key_is_stored_only_wrapped(app: Any, db: Any, make_case: Any) -> None:
    case_id = make_case(SECRET)
    row = db.get(CaseKey, case_id)
    assert row.kek_id == app.state.keyring.active_id
    dek = crypto.case_cipher(db, app.state.keyring, case_id)._dek
    assert len(dek) == 32 and dek not in row.wrapped_key


def test_wrong_master_key_fails(app: Any, db: Any, make_case: Any, tmp_path: Any) -> None:
    case_id = make_case(SECRET)
    other = KeyRing.load_or_create(tmp_path / "other" / "keys.json")
    other.keks = {app.state.keyring.active_id: other.keks[other.active_id]}
    other.active_id = app.state.keyring.active_id
    with pytest.raises(DecryptionError):
        support.read_description(db, other, _case(db, case_id))


def test_ciphertext_copied_to_another_row_fails(app: Any, db: Any, make_case: Any) -> None:
    first = make_case(SECRET)
    second = make_case("Something else entirely.")
    # Even a case that shares the data key would not help: the row id is in the associated data.
    stolen = _case(db, first).description_ct
    db.execute(update(Case).where(Case.id == second).values(description_ct=stolen))
    db.commit()
    with pytest.raises(DecryptionError):
        support.read_description(db, app.state.keyring, _case(db, second))
    cipher = crypto.case_cipher(db, app.state.keyring, first)
    with pytest.raises(DecryptionError):
        cipher.decrypt(fields.CASE_DESCRIPTION, second, stolen)


def test_ciphertext_copied_to_another_column_fails(app: Any, db: Any, make_case: Any) -> None:
    case_id = make_case(SECRET)
    case = _case(db, case_id)
    db.execute(update(Case).where(Case.id == case_id).values(reporter_ct=case.description_ct))
    db.commit()
    with pytest.raises(DecryptionError):
        support.read_reporter(db, app.state.keyring, _case(db, case_id))
    # Only the fields named in app.crypto.fields are sealed or opened at all.
    cipher = crypto.case_cipher(db, app.state.keyring, case_id)
    with pytest.raises(ValueError, match="not a field sealed"):
        cipher.encrypt(fields.Field("cases", "reference"), case_id, "SS-1")


def test_ciphertext_copied_to_another_table_row_fails(app: Any, db: Any, make_case: Any) -> None:
    case_id = make_case(SECRET)
    case = _case(db, case_id)
    msg = thread.add_message(db, app.state.keyring, case=case, sender=Sender.REPORTER, body="hello")
    db.commit()
    db.execute(update(Message).where(Message.id == msg.id).values(body_ct=case.description_ct))
    db.commit()
    with pytest.raises(DecryptionError):
        thread.read_messages(db, app.state.keyring, _case(db, case_id))


def test_tampered_ciphertext_fails(app: Any, db: Any, make_case: Any) -> None:
    case_id = make_case(SECRET)
    blob = bytearray(_case(db, case_id).description_ct)
    blob[-1] ^= 1
    db.execute(update(Case).where(Case.id == case_id).values(description_ct=bytes(blob)))
    db.commit()
    with pytest.raises(DecryptionError):
        support.read_description(db, app.state.keyring, _case(db, case_id))


def test_wrapped_key_moved_to_another_case_fails(app: Any, db: Any, make_case: Any) -> None:
    first, second = make_case(SECRET), make_case("other")
    wrapped = db.get(CaseKey, first).wrapped_key
    db.execute(update(CaseKey).where(CaseKey.case_id == second).values(wrapped_key=wrapped))
    db.commit()
    db.expire_all()
    with pytest.raises(DecryptionError):
        crypto.case_cipher(db, app.state.keyring, second)


def test_shredded_case_text_is_unrecoverable(app: Any, db: Any, make_case: Any) -> None:
    case_id = make_case(SECRET)
    crypto.shred(db, case_id)
    db.commit()
    db.expire_all()
    row = db.get(CaseKey, case_id)
    assert row.wrapped_key is None and row.destroyed_at is not None
    with pytest.raises(Shredded):
        support.read_description(db, app.state.keyring, _case(db, case_id))
    # Nothing else in the database or key ring opens it: the ciphertext is still there, the key is not.
    assert _case(db, case_id).description_ct is not None


def test_rotate_key_rewraps_every_case_key_and_text_stays_readable(
    app: Any, db: Any, make_case: Any, settings: Any, run_cli: Any
) -> None:
    ids = [make_case(f"{SECRET} #{i}") for i in range(3)]
    shredded = make_case("gone")
    crypto.shred(db, shredded)
    db.commit()
    old_id = app.state.keyring.active_id
    # A second app instance that loaded the key ring before rotation (another worker process).
    from app.main import create_app

    stale = create_app(settings)
    try:
        result = run_cli(["rotate-key"], env_for(settings))
        assert result.exit_code == 0, result.output
        assert "re-wrapped 3 case key(s)" in result.output

        doc = json.loads(settings.key_file.read_text())
        new_id = doc["active"]
        assert new_id != old_id and set(doc["keks"]) == {old_id, new_id}
        db.expire_all()
        kek_ids = {r.case_id: r.kek_id for r in db.scalars(select(CaseKey))}
        assert all(kek_ids[i] == new_id for i in ids)
        assert kek_ids[shredded] == old_id  # nothing to re-wrap once destroyed

        fresh = KeyRing.load(settings.key_file)
        for n, case_id in enumerate(ids):
            assert support.read_description(db, fresh, _case(db, case_id)) == f"{SECRET} #{n}"
        # The stale ring does not know the new master key yet; it re-reads the file on demand.
        assert new_id not in stale.state.keyring.keks
        db.rollback()  # on SQLite every transaction takes the write lock; end ours first
        with stale.state.sessionmaker() as s:
            case = s.get(Case, ids[0])
            assert support.read_description(s, stale.state.keyring, case) == f"{SECRET} #0"
        assert stale.state.keyring.active_id == new_id
    finally:
        stale.state.engine.dispose()


def test_new_cases_after_rotation_use_the_new_master_key(app: Any, db: Any, settings: Any, run_cli: Any, make_case: Any) -> None:
    assert run_cli(["rotate-key"], env_for(settings)).exit_code == 0
    new_id = json.loads(settings.key_file.read_text())["active"]
    # `app` loaded the ring before the rotation: new data keys must not go under the old master key.
    case_id = make_case(SECRET)
    assert db.get(CaseKey, case_id).kek_id == new_id


def test_rotate_key_twice_keeps_everything_readable(app: Any, db: Any, settings: Any, run_cli: Any, make_case: Any) -> None:
    case_id = make_case(SECRET)
    for _ in range(2):
        assert run_cli(["rotate-key"], env_for(settings)).exit_code == 0
    ring = KeyRing.load(settings.key_file)
    assert len(ring.keks) == 3
    assert support.read_description(db, ring, _case(db, case_id)) == SECRET


def test_unknown_master_key_id_is_a_key_ring_error(app: Any, db: Any, make_case: Any) -> None:
    case_id = make_case(SECRET)
    db.execute(update(CaseKey).where(CaseKey.case_id == case_id).values(kek_id="kek-missing"))
    db.commit()
    db.expire_all()
    with pytest.raises(KeyRingError):
        crypto.case_cipher(db, app.state.keyring, case_id)
