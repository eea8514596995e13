"""`SAFESHARE_FORWARDED_ALLOW_IPS=*` trusts the nearest hop only (issue 21)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.auth.test_trusted_proxies import STRANGER, _wrong_receipt


@pytest.mark.parametrize("settings_overrides", [{"forwarded_allow_ips": "*", "receipt_max_failures": 2}])
def test_a_star_trusts_only_the_nearest_hop(app: Any, settings_overrides: Any) -> None:
    """With `*` the client is the entry the nearest proxy added (the rightmost): a client that
    makes up leftmost entries cannot choose a fresh bucket for each guess."""
    with TestClient(app, client=(STRANGER, 5000)) as proxy:
        statuses = [_wrong_receipt(proxy, f"198.51.100.{i}, 203.0.113.5") for i in range(3)]
        assert statuses == [401, 401, 429]
        assert _wrong_receipt(proxy, "203.0.113.6") == 401  # another client behind the proxy
