"""Logs never carry passwords, tokens or client addresses; uvicorn's access log is off under `safeshare serve`."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app import flows, logs
from app.audit.service import Actor
from app.auth import service as auth
from app.enums import Role

PASSWORD = "Tr0ub4dor&3-very-secret"
CLIENT_IP = "203.0.113.9"


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """Everything logged, as `safeshare serve` would write it (the JsonFormatter), at DEBUG."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter())
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield stream
    root.removeHandler(handler)
    root.setLevel(old_level)


def test_logs_carry_no_password_token_or_address(
    app: Any, json_log: io.StringIO, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with app.state.sessionmaker() as s, s.begin():
        auth.create_user(s, app.state.passwords, email="pat@example.org", name="Pat", password=PASSWORD,
                         roles=[Role.ADMIN], by=Actor.system("test"))
        flows.finish(s)  # the notices of the new accounts join the outbox
    forwarded = {"X-Forwarded-For": CLIENT_IP, "X-Real-IP": CLIENT_IP, "Forwarded": f"for={CLIENT_IP}"}
    with TestClient(app, client=(CLIENT_IP, 5000), raise_server_exceptions=False) as client:
        r = client.post("/api/v1/auth/login", json={"email": "pat@example.org", "password": PASSWORD}, headers=forwarded)
        assert r.status_code == 200
        token = r.json()["token"]
        headers = {"Authorization": f"Bearer {token}", **forwarded}
        assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
        assert client.get("/api/v1/users", headers=headers).status_code == 200
        assert client.post("/api/v1/auth/login", json={"email": "pat@example.org", "password": PASSWORD + "x"},
                           headers=forwarded).status_code == 401
        assert client.get("/api/v1/no-such", headers=headers).status_code == 404
        assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
        assert client.get("/api/v1/auth/me", headers=headers).status_code == 401

    captured = "\n".join(
        f"{r.name} {r.getMessage()} {r.args!r} {vars(r)!r}" for r in caplog.records
    )
    formatted = json_log.getvalue()
    assert "/api/v1/auth/login" in formatted  # the access log did run
    lines = [json.loads(line) for line in formatted.splitlines()]
    assert any(line.get("route") == "/api/v1/auth/me" and line.get("status") == 200 for line in lines)
    for text in (captured, formatted):
        for secret in (PASSWORD, token, token[4:], CLIENT_IP):
            assert secret not in text


def test_redaction_is_a_second_line_of_defence() -> None:
    text = logs.redact(f"from {CLIENT_IP} with Bearer sst_abcdefghijklmnopqrstuvwxyz012345 and 2001:db8::1:2")
    assert CLIENT_IP not in text and "sst_abc" not in text and "2001:db8" not in text


def test_unexpected_errors_log_only_the_error_type(app: Any, json_log: io.StringIO) -> None:
    @app.get("/test-only/leak")
    def leak() -> None:
        raise ValueError("the reporter said: my manager hits me")

    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/test-only/leak").status_code == 500
    out = json_log.getvalue()
    assert "ValueError" in out and "my manager hits me" not in out and "Traceback" not in out


def test_configure_disables_uvicorn_access_log(restore_logging: None) -> None:
    logs.configure("INFO")
    access = logging.getLogger("uvicorn.access")
    assert access.disabled and not access.propagate and not access.handlers
    assert not access.isEnabledFor(logging.CRITICAL) or access.disabled


def test_serve_turns_off_uvicorn_access_log(monkeypatch: pytest.MonkeyPatch, run_cli: Any, tmp_path: Any) -> None:
    import uvicorn

    seen: dict[str, Any] = {}

    def fake_run(server: Any, sockets: Any = None) -> None:
        seen.update(config=server.config, port=sockets[0].getsockname()[1])
        server.started = True

    monkeypatch.setattr(uvicorn.Server, "run", fake_run)
    result = run_cli(["serve", "--port", "0"], {
        "SAFESHARE_DATABASE_URL": f"sqlite:///{tmp_path}/serve.db", "SAFESHARE_KEY_FILE": str(tmp_path / "keys.json")})
    assert result.exit_code == 0, result.output
    assert seen["config"].access_log is False and seen["config"].proxy_headers is False
    assert logging.getLogger("uvicorn.access").disabled
    assert f"listening on http://127.0.0.1:{seen['port']}/" in result.output
    assert "back it up" in result.output  # the first start created the key ring and said so


@pytest.mark.parametrize("address", ["2001:db8::1:2", "fe80::1", "2001:0db8:0000:0000:0000:ff00:0042:8329", "::ffff:203.0.113.9"])
def test_ipv6_addresses_are_redacted(address: str) -> None:
    assert address not in logs.redact(f"client {address} said hello")


def test_clock_times_are_not_mistaken_for_addresses() -> None:
    assert logs.redact("reminders sent at 08:00:00") == "reminders sent at 08:00:00"


def test_sign_in_security_logs_no_code_secret_or_password(
    app: Any, json_log: io.StringIO, caplog: pytest.LogCaptureFixture
) -> None:
    """Two-factor set-up and sign-in, a recovery code, a reset to a one-time password and its
    change, from a client whose address must not appear either."""
    from datetime import UTC, datetime

    import pyotp

    from app import clock

    caplog.set_level(logging.DEBUG)
    t0 = datetime(2026, 3, 2, 10, 0, 5, tzinfo=UTC)
    with app.state.sessionmaker() as s, s.begin():
        for email, role in (("pat@example.org", Role.ADMIN), ("sam@example.org", Role.LEADERSHIP)):
            auth.create_user(s, app.state.passwords, email=email, name=email[:3], password=PASSWORD, roles=[role],
                             by=Actor.system("test"))
        flows.finish(s)  # the notices of the new accounts join the outbox
    secrets: list[str] = [PASSWORD, CLIENT_IP]
    with TestClient(app, client=(CLIENT_IP, 5000), raise_server_exceptions=False) as client, clock.frozen(t0):
        r = client.post("/api/v1/auth/login", json={"email": "pat@example.org", "password": PASSWORD})
        h = {"Authorization": f"Bearer {r.json()['token']}"}
        secret = client.post("/api/v1/auth/totp/setup", headers=h).json()["secret"]
        first = pyotp.TOTP(secret).at(t0)
        codes = client.post("/api/v1/auth/totp/confirm", json={"code": first}, headers=h).json()["recovery_codes"]
        wrong = client.post("/api/v1/auth/login", json={"email": "pat@example.org", "password": PASSWORD, "totp": first})
        assert wrong.status_code == 401
        ok = client.post("/api/v1/auth/login", json={"email": "pat@example.org", "password": PASSWORD, "totp": codes[0]})
        assert ok.status_code == 200
        sam = client.get("/api/v1/users", headers=h).json()[1]["id"]
        one_time = client.post(f"/api/v1/users/{sam}/password-reset", headers=h).json()["one_time_password"]
        r = client.post("/api/v1/auth/login", json={"email": "sam@example.org", "password": one_time})
        sh = {"Authorization": f"Bearer {r.json()['token']}"}
        assert client.post("/api/v1/auth/password", json={"current_password": one_time, "new_password": "river lantern quietly"},
                           headers=sh).status_code == 204
        secrets += [secret, first, *codes, one_time, "river lantern quietly", r.json()["token"]]
    captured = "\n".join(f"{r.name} {r.getMessage()} {r.args!r} {vars(r)!r}" for r in caplog.records)
    formatted = json_log.getvalue()
    assert "/api/v1/auth/totp/confirm" in formatted
    for text in (captured, formatted):
        for value in secrets:
            assert value not in text, value


def test_nothing_of_a_request_goes_to_an_opentelemetry_provider_the_environment_set_up(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """FastAPI traces requests, and logs their validation failures with the body, to whatever
    OpenTelemetry providers the process has: Safe Share turns that off, whatever is configured."""
    from opentelemetry import metrics, trace
    from opentelemetry._logs import _internal as otel_logs

    asked: list[str] = []

    class Recording:
        def __getattr__(self, name: str) -> Any:
            asked.append(name)
            raise AssertionError(f"telemetry asked for {name}")

    monkeypatch.setattr(trace, "get_tracer_provider", lambda: Recording())
    monkeypatch.setattr(metrics, "get_meter_provider", lambda: Recording())
    monkeypatch.setattr(otel_logs, "get_logger_provider", lambda: Recording())
    assert client.post("/api/v1/reports", json={"description": "He hits me when he drinks."}).status_code == 201
    assert client.post("/api/v1/reports", json={"description": ""}).status_code == 422  # a validation failure
    assert asked == []
