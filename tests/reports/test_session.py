"""Receipt redemption, reporter tokens and their separation from staff tokens, and throttling."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app import clock
from app.crypto import receipts
from app.main import create_app
from app.reports.models import ReporterSession


def test_receipt_gives_a_reporter_token_that_reads_the_case(client, submit):
    created = submit()
    r = client.post("/api/v1/reporter/session", json={"receipt": created["receipt"]})
    assert r.status_code == 200
    token = r.json()["token"]
    assert token.startswith("ssr_") and r.json()["expires_at"].endswith("Z")
    case = client.get("/api/v1/reporter/case", headers={"Authorization": f"Bearer {token}"})
    assert case.status_code == 200 and case.json()["reference"] == created["reference"]


def _variants(receipt: str) -> list[str]:
    plain = receipt.replace("-", "")
    return [receipt.lower(), " ".join(receipt.split("-")), plain, plain.lower(), f"  {receipt}\n", receipt.replace("-", " - ")]


def test_receipt_is_accepted_in_lower_case_with_spaces_and_without_dashes(client, submit):
    created = submit()
    for variant in _variants(created["receipt"]):
        r = client.post("/api/v1/reporter/session", json={"receipt": variant})
        assert r.status_code == 200, variant


def test_receipt_read_with_letter_o_and_i_for_zero_and_one_is_accepted(client, submit):
    created = submit()
    typed = created["receipt"].replace("0", "O").replace("1", "I")
    assert client.post("/api/v1/reporter/session", json={"receipt": typed}).status_code == 200


def test_wrong_receipts_get_identical_401_bodies_whatever_was_wrong(client, submit):
    created = submit()
    well_formed_but_wrong = receipts.new_receipt()
    one_char_off = created["receipt"][:-1] + ("0" if created["receipt"][-1] != "0" else "1")
    answers = [
        client.post("/api/v1/reporter/session", json={"receipt": r})
        for r in ["not a receipt", "", well_formed_but_wrong, one_char_off, "!" * 500]
    ]
    assert {a.status_code for a in answers} == {401}
    assert len({a.content for a in answers}) == 1
    assert answers[0].headers["content-type"].startswith("application/problem+json")
    assert answers[0].headers["www-authenticate"] == "Bearer"


def test_missing_receipt_field_is_422(client):
    assert client.post("/api/v1/reporter/session", json={}).status_code == 422


def test_reporter_token_expires(client, submit, settings):
    created = submit()
    start = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    with clock.frozen(start):
        r = client.post("/api/v1/reporter/session", json={"receipt": created["receipt"]})
        headers = {"Authorization": f"Bearer {r.json()['token']}"}
        assert r.json()["expires_at"] == clock.rfc3339(start + timedelta(minutes=settings.reporter_token_minutes))
    # Used every few minutes, it lasts its full time (SAFESHARE_REPORTER_IDLE_MINUTES is 10)...
    for minutes in range(9, settings.reporter_token_minutes, 9):
        with clock.frozen(start + timedelta(minutes=minutes)):
            assert client.get("/api/v1/reporter/case", headers=headers).status_code == 200
    with clock.frozen(start + timedelta(minutes=settings.reporter_token_minutes, seconds=1)):
        r = client.get("/api/v1/reporter/case", headers=headers)
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")


def test_reporter_token_left_unused_for_the_idle_time_has_ended(client, submit, settings):
    created = submit()
    start = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    with clock.frozen(start):
        token = client.post("/api/v1/reporter/session", json={"receipt": created["receipt"]}).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert settings.reporter_idle_minutes == 10
    with clock.frozen(start + timedelta(minutes=10, seconds=1)):
        r = client.get("/api/v1/reporter/case", headers=headers)
    assert r.status_code == 401 and r.headers["content-type"].startswith("application/problem+json")


def test_signing_out_ends_the_token(client, submit, sign_in):
    headers = sign_in(submit()["receipt"])
    assert client.delete("/api/v1/reporter/session", headers=headers).status_code == 204
    assert client.get("/api/v1/reporter/case", headers=headers).status_code == 401


def test_only_a_hash_of_the_reporter_token_is_stored(client, submit, sign_in, db):
    token = sign_in(submit()["receipt"])["Authorization"].split()[1]
    db.rollback()
    row = db.scalar(select(ReporterSession))
    assert row.token_hash != token.encode() and len(row.token_hash) == 32
    db.rollback()


@pytest.mark.parametrize("path,method", [
    ("/api/v1/reporter/case", "get"),
    ("/api/v1/reporter/messages", "post"),
    ("/api/v1/reporter/feedback", "post"),
    ("/api/v1/reporter/session", "delete"),
])
def test_staff_token_is_refused_on_reporter_routes(client, make_staff, submit, path, method):
    submit()
    staff = make_staff("safeguarding", "admin")
    r = client.request(method, path, headers=staff.headers, json={"body": "hello"} if method == "post" else None)
    assert r.status_code == 401


def test_reporter_token_is_refused_on_staff_routes(client, submit, sign_in):
    headers = sign_in(submit()["receipt"])
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 401
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 401


def test_reporter_routes_without_token_are_401(client):
    assert client.get("/api/v1/reporter/case").status_code == 401
    assert client.get("/api/v1/reporter/case", headers={"Authorization": "Bearer ssr_made_up_token_value_1234567890"}).status_code == 401
    assert client.get("/api/v1/reporter/case", headers={"Authorization": "Basic abc"}).status_code == 401


@pytest.fixture
def settings_overrides(request):
    return getattr(request, "param", {})


THROTTLED = {"receipt_max_failures": 3}


def _wrong(c: TestClient):
    return c.post("/api/v1/reporter/session", json={"receipt": receipts.new_receipt()})


@pytest.mark.parametrize("settings_overrides", [THROTTLED], indirect=True)
def test_repeated_wrong_receipts_get_429_with_retry_after(client, submit):
    created = submit()
    assert [_wrong(client).status_code for _ in range(3)] == [401, 401, 401]
    r = _wrong(client)
    assert r.status_code == 429
    assert 1 <= int(r.headers["retry-after"]) <= 600
    assert r.headers["content-type"].startswith("application/problem+json")
    # While throttled, even the right receipt waits: otherwise the limit would leak which guess was right.
    assert client.post("/api/v1/reporter/session", json={"receipt": created["receipt"]}).status_code == 429


@pytest.mark.parametrize("settings_overrides", [THROTTLED], indirect=True)
def test_throttle_lifts_when_the_window_ends(client, submit):
    created = submit()
    start = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    with clock.frozen(start):
        for _ in range(3):
            _wrong(client)
        assert _wrong(client).status_code == 429
    with clock.frozen(start + timedelta(seconds=601)):
        assert client.post("/api/v1/reporter/session", json={"receipt": created["receipt"]}).status_code == 200


@pytest.mark.parametrize("settings_overrides", [THROTTLED], indirect=True)
def test_throttle_is_shared_by_two_app_instances_on_one_database(app, client, settings, submit):
    created = submit()
    second_app = create_app(settings)  # another server process: same database and key ring
    try:
        with TestClient(second_app, raise_server_exceptions=False) as other:
            assert _wrong(client).status_code == 401
            assert _wrong(other).status_code == 401
            assert _wrong(client).status_code == 401
            r = other.post("/api/v1/reporter/session", json={"receipt": created["receipt"]})
            assert r.status_code == 429 and "retry-after" in r.headers
    finally:
        second_app.state.engine.dispose()


def _redeem(app, receipt: str, host: str):
    from app.http import signin

    # As the route does: the attempt is counted in a transaction of its own first, so the
    # caller's session is not held in a `begin()` block around it.
    with app.state.sessionmaker() as s:
        found = signin.redeem(
            s, app.state.keyring, app.state.settings, app.state.throttle, receipt=receipt, client_host=host
        )
        s.commit()
        return found


@pytest.mark.parametrize("settings_overrides", [THROTTLED], indirect=True)
def test_wrong_receipts_from_many_clients_never_refuse_a_client_without_failures(app, submit):
    """Issue 12: 1,000 wrong receipts over 100 addresses made a fresh address wait 880 s. Now each
    client counts only its own failures: the innocent are never refused, the guilty are slowed."""
    from app.errors import TooManyRequests, Unauthorized

    created = submit()
    with clock.frozen(datetime(2026, 3, 2, 10, 0, tzinfo=UTC)):
        for i in range(100):
            for _ in range(10):  # past each client's allowance of 3
                try:
                    _redeem(app, receipts.new_receipt(), f"192.0.2.{i}")
                except (Unauthorized, TooManyRequests):
                    pass
        with pytest.raises(TooManyRequests):
            _redeem(app, receipts.new_receipt(), "192.0.2.7")  # a guilty client waits
        assert _redeem(app, created["receipt"], "198.51.100.7")[0].startswith("ssr_")  # a fresh one is never refused


@pytest.mark.parametrize("settings_overrides", [THROTTLED], indirect=True)
def test_an_ipv6_client_is_counted_by_its_64(app, submit):
    """Addresses in one /64 (one subscriber's network) share a bucket; another /64 does not."""
    from app.errors import TooManyRequests, Unauthorized

    created = submit()
    for i in range(3):
        with pytest.raises(Unauthorized):
            _redeem(app, receipts.new_receipt(), f"2001:db8:1:2::{i + 1:x}")
    with pytest.raises(TooManyRequests):
        _redeem(app, created["receipt"], "2001:db8:1:2:ffff:ffff:ffff:ffff")
    assert _redeem(app, created["receipt"], "2001:db8:1:3::1")[0].startswith("ssr_")


@pytest.mark.parametrize("settings_overrides", [THROTTLED], indirect=True)
def test_the_wait_doubles_with_each_further_wrong_receipt(app, submit):
    from app.errors import TooManyRequests, Unauthorized

    start = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    now, waits = start, []
    with clock.frozen(start):
        for _ in range(3):
            with pytest.raises(Unauthorized):
                _redeem(app, receipts.new_receipt(), "192.0.2.9")
    for _ in range(5):
        with clock.frozen(now), pytest.raises(TooManyRequests) as refused:
            _redeem(app, receipts.new_receipt(), "192.0.2.9")
        waits.append(int(refused.value.headers["Retry-After"]))
        now += timedelta(seconds=waits[-1])
        with clock.frozen(now), pytest.raises(Unauthorized):
            _redeem(app, receipts.new_receipt(), "192.0.2.9")
    assert waits == [1, 2, 4, 8, 16]


def test_redemption_does_not_store_the_client_address_or_receipt(client, submit, db):
    from tests.reports.test_storage import scan_database

    created = submit()
    client.post("/api/v1/reporter/session", json={"receipt": receipts.new_receipt()})
    client.post("/api/v1/reporter/session", json={"receipt": created["receipt"]})
    assert scan_database(db, ["testclient", created["receipt"], receipts.normalise(created["receipt"])]) == []
