"""Equality answers on the API and the form: validated, pooled sealed, published in shuffled batches."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from app import clock
from app.cases.models import Case
from app.cli import cli
from app.equality.models import EqualityAnswer, EqualityPending
from app.equality.schemas import CHARACTERISTICS
from tests.web.helpers import csrf, report_form

MIN_CELL = 4


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"min_cell": MIN_CELL}


def report(client: Any, equality: Any = None, **extra: Any) -> Any:
    body: dict[str, Any] = {"description": "Comments about my accent on shift."}
    if equality is not None:
        body["equality"] = equality
    body.update(extra)
    return client.post("/api/v1/reports", json=body)


def counts(db: Any) -> tuple[int, int, int]:
    db.rollback()
    out = (
        int(db.scalar(select(func.count()).select_from(Case))),
        int(db.scalar(select(func.count()).select_from(EqualityPending))),
        int(db.scalar(select(func.count()).select_from(EqualityAnswer))),
    )
    db.rollback()
    return out


def published(db: Any) -> dict[tuple[str, str, str], int]:
    db.rollback()
    rows = db.execute(select(EqualityAnswer.month, EqualityAnswer.characteristic, EqualityAnswer.value, func.count())
                      .group_by(EqualityAnswer.month, EqualityAnswer.characteristic, EqualityAnswer.value)).all()
    db.rollback()
    return {(m, c, v): n for m, c, v, n in rows}


@pytest.mark.parametrize("equality", [
    {"sex": "unknown"},
    {"age_band": "15-24"},
    {"colour": "blue"},
    {"sex": None},
    {"sex": "Female"},
    {"disability": True},
    {"religion_belief": ["none"]},
    "female",
    [],
])
def test_anything_but_the_contract_values_is_422_and_nothing_is_written(client, db, equality) -> None:
    r = report(client, equality)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert counts(db) == (0, 0, 0)


def test_every_key_takes_its_values_and_prefer_not_to_say(client, db) -> None:
    for key, values in CHARACTERISTICS.items():
        for value in (*values, "prefer_not_to_say"):
            r = report(client, {key: value})
            assert r.status_code == 201, (key, value, r.text)
    n = sum(len(v) + 1 for v in CHARACTERISTICS.values())
    cases, pending, rows = counts(db)
    assert cases == n
    # Everyone is published in batches of at least MIN_CELL; at most MIN_CELL - 1 still wait.
    assert pending == n % MIN_CELL and rows == (n - pending) * len(CHARACTERISTICS)


def test_no_answers_or_an_empty_object_stores_nothing(client, db) -> None:
    assert report(client).status_code == 201
    assert report(client, {}).status_code == 201
    assert counts(db) == (2, 0, 0)


def test_recorded_contacts_take_equality_answers_by_the_month_received(client, db, make_staff) -> None:
    sg = make_staff("safeguarding")
    for _ in range(MIN_CELL):
        r = client.post("/api/v1/cases", headers=sg.headers, json={
            "channel": "phone", "received_at": "2026-01-05T10:00:00Z", "description": "By phone.",
            "equality": {"sex": "female", "age_band": "65+"}})
        assert r.status_code == 201, r.text
    bad = client.post("/api/v1/cases", headers=sg.headers, json={
        "channel": "phone", "received_at": "2026-01-05T10:00:00Z", "description": "By phone.", "equality": {"sex": "x"}})
    assert bad.status_code == 422
    assert counts(db) == (MIN_CELL, 0, MIN_CELL * len(CHARACTERISTICS))
    rows = published(db)
    assert rows[("2026-01", "sex", "female")] == MIN_CELL and rows[("2026-01", "age_band", "65+")] == MIN_CELL
    assert rows[("2026-01", "disability", "not_answered")] == MIN_CELL


def test_the_pool_is_sealed_and_waits_for_min_cell_respondents(client, db) -> None:
    for i in range(MIN_CELL - 1):
        assert report(client, {"religion_belief": "sikh", "sex": "female"}).status_code == 201
        assert counts(db) == (i + 1, i + 1, 0)
    db.rollback()
    for blob in db.scalars(select(EqualityPending.answers_ct)):
        assert b"sikh" not in blob and b"female" not in blob and b"religion" not in blob
    db.rollback()
    assert report(client, {"religion_belief": "sikh"}).status_code == 201
    assert counts(db) == (MIN_CELL, 0, MIN_CELL * len(CHARACTERISTICS))
    month = clock.today().strftime("%Y-%m")
    assert published(db)[(month, "religion_belief", "sikh")] == MIN_CELL
    assert published(db)[(month, "sex", "not_answered")] == 1


def test_at_month_end_the_next_answer_or_the_command_publishes_a_smaller_pool(client, db, db_url, settings) -> None:
    clock.set_frozen(datetime(2026, 3, 30, 12, tzinfo=UTC))
    assert report(client, {"sex": "male"}).status_code == 201
    assert counts(db) == (1, 1, 0)
    # The daily command in the same month: nothing due.
    env = {"SAFESHARE_DATABASE_URL": db_url, "SAFESHARE_MIN_CELL": str(MIN_CELL), "SAFESHARE_LOG_LEVEL": "WARNING",
           "SAFESHARE_KEY_FILE": str(settings.key_file)}
    result = CliRunner().invoke(cli, ["publish-equality"], env=env)
    assert result.exit_code == 0, result.output
    assert "0 respondent(s); 1 waiting" in result.output
    # The next month: the command moves last month's pool.
    clock.set_frozen(datetime(2026, 4, 1, 0, 5, tzinfo=UTC))
    result = CliRunner().invoke(cli, ["publish-equality"], env=env)
    assert result.exit_code == 0, result.output
    assert "published the answers of 1 respondent(s); 0 waiting" in result.output
    assert counts(db) == (1, 0, len(CHARACTERISTICS))
    assert published(db)[("2026-03", "sex", "male")] == 1
    # And without the command, the next answer in a later month moves the pool with it.
    assert report(client, {"sex": "female"}).status_code == 201
    clock.set_frozen(datetime(2026, 5, 2, 9, tzinfo=UTC))
    assert report(client, {"sex": "female"}).status_code == 201
    assert counts(db) == (3, 0, 3 * len(CHARACTERISTICS))


def test_the_form_has_a_folded_optional_fieldset_that_works_without_javascript(client, db) -> None:
    page = client.get("/report").text
    m = re.search(r'<details class="field disclosure" id="equality">\s*<summary>Equality monitoring \(optional\)</summary>', page)
    assert m, "collapsed by default"
    assert "never linked to it" in page
    for key in CHARACTERISTICS:
        assert f'name="eq_{key}"' in page
    token = csrf(client)
    for _ in range(MIN_CELL):
        r = client.post("/report", data=report_form(token, eq_ethnic_group="mixed", eq_sex="prefer_not_to_say"))
        assert r.status_code == 200, r.text
    assert counts(db) == (MIN_CELL, 0, MIN_CELL * len(CHARACTERISTICS))
    month = clock.today().strftime("%Y-%m")
    rows = published(db)
    assert rows[(month, "ethnic_group", "mixed")] == MIN_CELL
    assert rows[(month, "sex", "prefer_not_to_say")] == MIN_CELL
    assert rows[(month, "age_band", "not_answered")] == MIN_CELL


def test_a_bad_choice_on_the_form_comes_back_open_with_an_error_and_nothing_sent(client, db) -> None:
    r = client.post("/report", data=report_form(csrf(client), eq_sex="robot"))
    assert r.status_code == 422
    assert '<details class="field disclosure" id="equality" open>' in r.text
    assert 'href="#equality-sex"' in r.text
    assert counts(db) == (0, 0, 0)
