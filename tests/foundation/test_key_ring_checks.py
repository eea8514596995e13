"""A key ring that does not fit the database is refused at start-up, in one line, before it can
split the data in two; `rotate-key` meeting a data key that does not open changes nothing."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from tests.foundation.conftest import env_for


def _one_line(output: str) -> str:
    lines = [ln for ln in output.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, output  # one line for the operator, never a traceback
    return lines[0]


def test_serve_refuses_to_create_a_new_ring_for_a_database_that_holds_cases(
    app: Any, settings: Any, make_case: Any, run_cli: Any, tmp_path: Any
) -> None:
    make_case()
    elsewhere = tmp_path / "not-there" / "keys.json"
    for command in (["serve", "--port", "0"], ["migrate"]):
        result = run_cli(command, env_for(settings, SAFESHARE_KEY_FILE=str(elsewhere)))
        assert result.exit_code != 0
        line = _one_line(result.output)
        assert "SAFESHARE_KEY_FILE" in line and str(elsewhere) in line and "1 case(s)" in line
        assert not elsewhere.exists()  # no second ring, so no case is ever sealed under it


def test_a_ring_that_lacks_the_databases_master_key_is_refused(
    app: Any, settings: Any, make_case: Any, run_cli: Any, tmp_path: Any
) -> None:
    from app.crypto.keyring import KeyRing

    make_case()
    make_case()
    other = KeyRing.load_or_create(tmp_path / "other" / "keys.json")
    for command in (["serve", "--port", "0"], ["migrate"]):
        result = run_cli(command, env_for(settings, SAFESHARE_KEY_FILE=str(other.path)))
        assert result.exit_code != 0
        line = _one_line(result.output)
        assert "SAFESHARE_KEY_FILE" in line and "lacks master key" in line and "2 case(s)" in line
    # The right ring is accepted.
    assert run_cli(["migrate"], env_for(settings)).exit_code == 0


def test_an_empty_database_gets_a_new_ring(settings: Any, run_cli: Any, tmp_path: Any, app: Any) -> None:
    fresh = tmp_path / "fresh" / "keys.json"
    result = run_cli(["migrate"], env_for(settings, SAFESHARE_KEY_FILE=str(fresh)))
    assert result.exit_code == 0, result.output  # migrate never creates a ring, and needs none here
    assert not fresh.exists()


def test_rotate_key_names_the_case_whose_key_does_not_open_and_changes_nothing(
    app: Any, settings: Any, make_case: Any, run_cli: Any, db_url: str
) -> None:
    ids = [make_case(f"Concern {i} about the rota.") for i in range(3)]
    engine = sa.create_engine(db_url)
    with engine.begin() as c:
        reference = c.execute(sa.text("SELECT reference FROM cases WHERE id = :id"), {"id": ids[1].hex if
                              engine.dialect.name == "sqlite" else ids[1]}).scalar_one()
        # One flipped bit in the middle case's wrapped data key.
        row = c.execute(sa.text("SELECT case_id, wrapped_key FROM case_keys")).all()
        target = next(r for r in row if str(r[0]).replace("-", "") == ids[1].hex)
        wrapped = bytearray(target[1])
        wrapped[-1] ^= 1
        c.execute(sa.text("UPDATE case_keys SET wrapped_key = :w WHERE case_id = :id"), {"w": bytes(wrapped), "id": target[0]})
        before = sorted((str(a), b, bytes(w)) for a, b, w in c.execute(sa.text("SELECT case_id, kek_id, wrapped_key FROM case_keys")))
    ring_before = settings.key_file.read_bytes()

    result = run_cli(["rotate-key"], env_for(settings))
    assert result.exit_code != 0
    line = _one_line(result.output)
    assert reference in line and "nothing was changed" in line

    assert settings.key_file.read_bytes() == ring_before  # no new master key was added
    with engine.begin() as c:
        after = sorted((str(a), b, bytes(w)) for a, b, w in c.execute(sa.text("SELECT case_id, kek_id, wrapped_key FROM case_keys")))
    assert after == before
    engine.dispose()


def test_the_database_belongs_to_its_ring_and_refuses_any_other(
    app: Any, settings: Any, make_case: Any, run_cli: Any, tmp_path: Any
) -> None:
    """The ring's random id is recorded at the first `migrate`; another ring is refused by `serve`
    and `migrate` in one line, and a newer version of the same ring (after `rotate-key`) is accepted."""
    import json

    from app.crypto.keyring import KeyRing

    make_case()
    assert run_cli(["migrate"], env_for(settings)).exit_code == 0
    own = json.loads(settings.key_file.read_text())
    assert own["ring_id"].startswith("ring-")
    other = KeyRing.load_or_create(tmp_path / "other" / "keys.json")
    for command in (["serve", "--port", "0"], ["migrate"]):
        result = run_cli(command, env_for(settings, SAFESHARE_KEY_FILE=str(other.path)))
        assert result.exit_code != 0
        line = _one_line(result.output)
        assert "SAFESHARE_KEY_FILE" in line and own["ring_id"] in line and "belongs to key ring" in line
    # rotate-key writes a newer ring with the same id: accepted.
    assert run_cli(["rotate-key"], env_for(settings)).exit_code == 0
    assert json.loads(settings.key_file.read_text())["ring_id"] == own["ring_id"]
    assert run_cli(["migrate"], env_for(settings)).exit_code == 0


def test_a_ring_with_the_right_key_ids_but_other_keys_is_refused_before_an_id_is_recorded(
    app: Any, settings: Any, make_case: Any, run_cli: Any, tmp_path: Any
) -> None:
    import json

    make_case()
    own = json.loads(settings.key_file.read_text())
    forged = {**own, "keks": {k: {**v, "key": "A" * 43 + "="} for k, v in own["keks"].items()}}
    path = tmp_path / "forged.json"
    path.write_text(json.dumps(forged))
    result = run_cli(["migrate"], env_for(settings, SAFESHARE_KEY_FILE=str(path)))
    assert result.exit_code != 0 and "SAFESHARE_KEY_FILE" in _one_line(result.output)
