"""A schema-driven fuzzer over the whole API, on both databases: no server error, and every answer
matches the OpenAPI document (a fixed seed and a small budget; `bench/availability/fuzz.py` runs
the long campaign)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests import fuzzing

EXAMPLES = 6  # per operation and mode: ~33 operations x 2 modes, a few seconds per database


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    # The fuzzer signs in wrongly on purpose; it must not lock itself out of the routes it tests.
    return {"login_max_failures": 100_000, "receipt_max_failures": 100_000}


def test_the_api_answers_every_generated_request_as_its_openapi_document_says(
    app: Any, client: TestClient, make_staff: Any
) -> None:
    staff = make_staff("admin", "safeguarding", "hr", "leadership")
    report = client.post("/api/v1/reports", json={"description": "Fuzzing needs one case to follow up."}).json()
    reporter = client.post("/api/v1/reporter/session", json={"receipt": report["receipt"]}).json()["token"]
    # The statistics' first answer works out (and caches) the suppression decisions and brings the
    # roll-up up to date in the background; done once here, as any running service has, so that a
    # generated request is answered the same way when Hypothesis replays it.
    for path in ("/api/v1/stats/themes", "/api/v1/stats/summary", "/api/v1/stats/equality"):
        assert client.get(path, headers=staff.headers).status_code == 200
    campaign = fuzzing.run(app, staff_token=staff.token, reporter_token=reporter, examples=EXAMPLES)
    assert campaign.operations >= 30
    assert campaign.failures == {}, "\n\n".join(f"{k}:\n{v}" for k, v in campaign.failures.items())
