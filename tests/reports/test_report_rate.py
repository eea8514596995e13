"""`SAFESHARE_REPORT_RATE`: new reports per client, on the API and the web form."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app import clock
from app.config import load_settings
from tests.web.helpers import DESCRIPTION, case_count, csrf, report_form

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
pytestmark = pytest.mark.parametrize("settings_overrides", [{"report_rate": "3/hour"}])


def _report(c: TestClient, key: str | None = None, text: str = "My manager shouts at me in team meetings.") -> Any:
    headers = {"Idempotency-Key": key} if key else {}
    return c.post("/api/v1/reports", json={"description": text}, headers=headers)


def test_a_client_past_the_rate_gets_429_with_retry_after(client: TestClient, db: Any, settings_overrides: Any) -> None:
    with clock.frozen(T0):
        assert [_report(client).status_code for _ in range(3)] == [201, 201, 201]
        r = _report(client)
    assert r.status_code == 429 and r.headers["content-type"] == "application/problem+json"
    assert int(r.headers["retry-after"]) == 3600
    assert "wait" in r.json()["detail"]
    assert case_count(db) == 3
    with clock.frozen(T0 + timedelta(minutes=30)):
        assert int(_report(client).headers["retry-after"]) == 1800
    with clock.frozen(T0 + timedelta(hours=1, seconds=1)):
        assert _report(client).status_code == 201


def test_another_client_is_not_limited_by_the_first(app: Any, client: TestClient, settings_overrides: Any) -> None:
    with clock.frozen(T0):
        for _ in range(4):
            _report(client)
        with TestClient(app, client=("198.51.100.8", 4000)) as other:
            assert _report(other).status_code == 201


def test_a_retry_with_the_same_idempotency_key_is_not_a_new_report(client: TestClient, settings_overrides: Any) -> None:
    key = str(uuid.uuid4())
    with clock.frozen(T0):
        first = _report(client, key)
        assert [_report(client).status_code for _ in range(2)] == [201, 201]
        replay = _report(client, key)
        assert replay.status_code == 201 and replay.json() == first.json()
        assert _report(client).status_code == 429


def test_zero_means_no_limit(settings: Any, settings_overrides: Any) -> None:
    assert load_settings(**{**settings.model_dump(), "report_rate": "0"}).report_limit is None
    assert load_settings(**{**settings.model_dump(), "report_rate": "50/day"}).report_limit is not None


def test_the_form_says_so_kindly_and_keeps_what_was_typed(client: TestClient, db: Any, settings_overrides: Any) -> None:
    with clock.frozen(T0):
        for _ in range(3):
            assert client.post("/report", data=report_form(csrf(client))).status_code == 200
        typed = DESCRIPTION + " It happened again on Tuesday at the station."
        r = client.post("/report", data=report_form(csrf(client), description=typed, identity="named", name="Sam Jones"))
    assert r.status_code == 429 and r.headers["retry-after"] == "3600"
    assert 'role="alert"' in r.text and "Nothing is lost" in r.text and "60 minutes" in r.text
    assert typed in r.text and 'value="Sam Jones"' in r.text
    assert case_count(db) == 3
