"""What the database alone says (issue 27): no excluded person linked to a case, no suggested
themes of a report; both sealed, opened with the key ring only for those who may see them."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import text

from tests.cases.conftest import World

GAMBLING = "I've lost thousands on betting apps and I'm behind on the rent; my manager knows."


def _raw(app: Any, sql: str) -> list[tuple[Any, ...]]:
    with app.state.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql))]


def _forms(user_id: str) -> list[bytes]:
    u = uuid.UUID(user_id)
    return [u.bytes, u.hex.encode(), str(u).encode()]


def test_the_rows_name_no_excluded_person_and_no_theme(app: Any, world: World, client: Any) -> None:
    case_id = world.new_case(description=GAMBLING)
    excluded = [world.id("excluded_hr"), world.id("excluded_safeguarding")]

    rows = _raw(app, "SELECT * FROM exclusions")
    assert len(rows) == 2
    flat = b"".join(v if isinstance(v, bytes) else str(v).encode() for row in rows for v in row)
    for who in excluded:
        assert not any(form in flat for form in _forms(who)), "an exclusion row names the excluded person"
    case_rows = _raw(app, "SELECT * FROM cases")
    flat_cases = b"".join(v if isinstance(v, bytes) else str(v).encode() for row in case_rows for v in row)
    for slug in (b"gambling", b"financial_concern", b"line_manager"):
        assert slug not in flat_cases, "the case row keeps the suggester's themes in clear"

    # Those who may see them still do: the triage page's suggestions, the exclusions list by name.
    sg = world.headers("safeguarding")
    case = client.get(f"/api/v1/cases/{case_id}", headers=sg).json()
    assert case["suggested_themes"] == ["financial_concern", "gambling", "line_manager"]
    listed = client.get(f"/api/v1/cases/{case_id}/exclusions", headers=sg).json()
    assert sorted(e["user"]["name"] for e in listed) == ["Eve Excluded", "Fred Formerly"]
    # ... and the excluded do not.
    for who in ("excluded_hr", "excluded_safeguarding"):
        assert client.get(f"/api/v1/cases/{case_id}", headers=world.headers(who)).status_code == 404


def test_upgrade_seals_existing_exclusions_and_suggestions_with_the_ring(
    app: Any, world: World, client: Any, db_url: str
) -> None:
    import pytest

    from app import migrate
    from app.crypto.keys import for_revisions

    case_id = world.new_case(description=GAMBLING)
    app.state.engine.dispose()
    ring = for_revisions(app.state.keyring)
    migrate.downgrade(db_url, "0017_i25", ring_keys=ring)  # as main left it before this revision: in clear
    assert {str(r[0]).replace("-", "") for r in _raw(app, "SELECT user_id FROM exclusions")} == {
        uuid.UUID(world.id(w)).hex for w in ("excluded_hr", "excluded_safeguarding")}
    assert "gambling" in str(_raw(app, "SELECT suggested_themes FROM cases"))
    app.state.engine.dispose()

    with pytest.raises(RuntimeError, match="key ring"):  # without the ring it cannot seal: nothing changes
        migrate.upgrade(db_url)
    app.state.engine.dispose()
    migrate.upgrade(db_url, ring_keys=ring)
    app.state.engine.dispose()

    flat = b"".join(v if isinstance(v, bytes) else str(v).encode() for row in _raw(app, "SELECT * FROM exclusions") for v in row)
    assert not any(form in flat for w in ("excluded_hr", "excluded_safeguarding") for form in _forms(world.id(w)))
    assert "gambling" not in str(_raw(app, "SELECT * FROM cases"))
    sg = world.headers("safeguarding")
    assert client.get(f"/api/v1/cases/{case_id}", headers=sg).json()["suggested_themes"] == [
        "financial_concern", "gambling", "line_manager"]
    listed = client.get(f"/api/v1/cases/{case_id}/exclusions", headers=sg).json()
    assert sorted(e["user"]["name"] for e in listed) == ["Eve Excluded", "Fred Formerly"]
    assert client.get(f"/api/v1/cases/{case_id}", headers=world.headers("excluded_safeguarding")).status_code == 404
