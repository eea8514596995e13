"""Settings and start-up: office hours, the key ring on first start, bad settings stop the service."""

from __future__ import annotations

import json
import logging
import stat
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from app.config import OfficeHours, SettingsError, load_settings
from app.crypto.keyring import KeyRing, KeyRingError
from tests.foundation.conftest import run_safeshare

LONDON = ZoneInfo("Europe/London")


# -- office hours (no database) -------------------------------------------------------------


@pytest.fixture
def hours() -> OfficeHours:
    return OfficeHours.parse("Mon-Fri 08:00-17:00 Europe/London")


@pytest.mark.parametrize(
    ("local", "out"),
    [
        (datetime(2026, 1, 12, 7, 59, 59, tzinfo=LONDON), True),   # Monday, a second before opening
        (datetime(2026, 1, 12, 8, 0, tzinfo=LONDON), False),       # opening time is inside
        (datetime(2026, 1, 12, 16, 59, 59, tzinfo=LONDON), False),
        (datetime(2026, 1, 12, 17, 0, tzinfo=LONDON), True),       # closing time is outside
        (datetime(2026, 1, 16, 12, 0, tzinfo=LONDON), False),      # Friday noon
        (datetime(2026, 1, 17, 12, 0, tzinfo=LONDON), True),       # Saturday noon
        (datetime(2026, 1, 18, 12, 0, tzinfo=LONDON), True),       # Sunday noon
    ],
)
def test_out_of_hours_at_the_boundaries(hours: OfficeHours, local: datetime, out: bool) -> None:
    assert hours.is_out_of_hours(local) is out
    assert hours.is_out_of_hours(local.astimezone(UTC)) is out


def test_office_hours_follow_summer_time(hours: OfficeHours) -> None:
    # 07:30 UTC in July is 08:30 in London (BST): inside. In January it is 07:30: outside.
    assert hours.is_out_of_hours(datetime(2026, 7, 6, 7, 30, tzinfo=UTC)) is False
    assert hours.is_out_of_hours(datetime(2026, 1, 12, 7, 30, tzinfo=UTC)) is True


def test_utc_friday_evening_can_be_saturday_elsewhere() -> None:
    tokyo = OfficeHours.parse("Mon-Fri 09:00-17:00 Asia/Tokyo")
    # Friday 16:00 UTC is Saturday 01:00 in Tokyo.
    assert tokyo.is_out_of_hours(datetime(2026, 1, 16, 16, 0, tzinfo=UTC)) is True
    # Monday 00:30 UTC is Monday 09:30 in Tokyo.
    assert tokyo.is_out_of_hours(datetime(2026, 1, 12, 0, 30, tzinfo=UTC)) is False


def test_day_range_can_wrap_the_weekend() -> None:
    hours = OfficeHours.parse("Sat-Mon 10:00-12:00 UTC")
    assert hours.days == frozenset({5, 6, 0})
    assert OfficeHours.parse("Wed 10:00-12:00 UTC").days == frozenset({2})


@pytest.mark.parametrize(
    "text",
    [
        "Mon-Fri 8-17 Europe/London",
        "Mon-Fri 08:00-17:00",
        "Mon-Fry 08:00-17:00 Europe/London",
        "Mon-Fri 17:00-08:00 Europe/London",
        "Mon-Fri 08:00-25:00 Europe/London",
        "Mon-Fri 08:00-17:00 Mars/Olympus",
        "",
    ],
)
def test_malformed_office_hours_name_the_setting(text: str) -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(office_hours=text)
    message = str(err.value)
    assert message.startswith("SAFESHARE_OFFICE_HOURS: ") and "\n" not in message


def test_unknown_database_scheme_names_the_setting() -> None:
    with pytest.raises(SettingsError, match=r"^SAFESHARE_DATABASE_URL: unknown database scheme 'mysql'"):
        load_settings(database_url="mysql://localhost/x")


def test_plain_postgresql_url_uses_psycopg() -> None:
    assert load_settings(database_url="postgresql://u@h/db").database_url == "postgresql+psycopg://u@h/db"


# -- the key ring -----------------------------------------------------------------------------


def test_key_ring_created_on_first_start_with_mode_0600_and_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "var" / "keys.json"
    with caplog.at_level(logging.WARNING, logger="safeshare.crypto"):
        ring = KeyRing.load_or_create(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    doc = json.loads(path.read_text())
    assert doc["active"] == ring.active_id and len(ring.active_kek[1]) == 32
    assert any("back it up" in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records)
    # The second start finds it and says nothing.
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="safeshare.crypto"):
        again = KeyRing.load_or_create(path)
    assert again.keks == ring.keks and not caplog.records


def test_rotation_keeps_the_key_file_private(tmp_path: Path) -> None:
    ring = KeyRing.load_or_create(tmp_path / "keys.json")
    ring.add_kek()
    assert stat.S_IMODE((tmp_path / "keys.json").stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["keys.json"]  # no temporary file left behind


@pytest.mark.parametrize(
    "content",
    ["not json", "{}", '{"active": "a", "keks": {}, "lookup_key": "AAAA"}',
     '{"active": "a", "keks": {"a": {"key": "c2hvcnQ="}}, "lookup_key": "' + "A" * 44 + '"}'],
    ids=["garbage", "empty", "no-keys", "short-key"],
)
def test_malformed_key_ring_is_refused(tmp_path: Path, content: str) -> None:
    path = tmp_path / "keys.json"
    path.write_text(content)
    with pytest.raises(KeyRingError):
        KeyRing.load_or_create(path)


def test_unreadable_key_ring_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    path.mkdir()  # a directory cannot be read as a file, even by root
    with pytest.raises(KeyRingError, match="cannot read"):
        KeyRing.load_or_create(path)


# -- the real command with bad settings (child processes) -----------------------------------


def _one_line_error(proc: object, setting: str) -> None:
    assert proc.returncode != 0  # type: ignore[attr-defined]
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]  # type: ignore[attr-defined]
    assert len(lines) == 1, proc.stderr  # type: ignore[attr-defined]
    assert setting in lines[0] and "Traceback" not in proc.stderr  # type: ignore[attr-defined]


def test_migrate_with_unknown_database_scheme_exits_with_one_line(tmp_path: Path) -> None:
    proc = run_safeshare(["migrate"], {"SAFESHARE_DATABASE_URL": "mysql://localhost/x"}, tmp_path)
    _one_line_error(proc, "SAFESHARE_DATABASE_URL")


def test_migrate_with_malformed_office_hours_exits_with_one_line(tmp_path: Path) -> None:
    proc = run_safeshare(["migrate"], {"SAFESHARE_OFFICE_HOURS": "weekdays 9 to 5"}, tmp_path)
    _one_line_error(proc, "SAFESHARE_OFFICE_HOURS")


def test_serve_with_malformed_key_file_exits_with_one_line(tmp_path: Path) -> None:
    keys = tmp_path / "keys.json"
    keys.write_text("{ this is not a key ring")
    proc = run_safeshare(
        ["serve", "--port", "1"],
        {"SAFESHARE_KEY_FILE": str(keys), "SAFESHARE_DATABASE_URL": f"sqlite:///{tmp_path}/x.db"},
        tmp_path,
    )
    _one_line_error(proc, "SAFESHARE_KEY_FILE")


def test_serve_with_unreadable_key_file_exits_with_one_line(tmp_path: Path) -> None:
    keys = tmp_path / "keys.json"
    keys.mkdir()
    proc = run_safeshare(
        ["serve", "--port", "1"],
        {"SAFESHARE_KEY_FILE": str(keys), "SAFESHARE_DATABASE_URL": f"sqlite:///{tmp_path}/x.db"},
        tmp_path,
    )
    _one_line_error(proc, "SAFESHARE_KEY_FILE")


def test_migrate_creates_schema_and_is_idempotent(tmp_path: Path) -> None:
    env = {"SAFESHARE_DATABASE_URL": f"sqlite:///{tmp_path}/fresh.db"}
    for _ in range(2):
        proc = run_safeshare(["migrate"], env, tmp_path)
        assert proc.returncode == 0, proc.stderr
        assert "database is up to date" in proc.stdout


def test_argon2_memory_too_small_for_parallelism_names_the_setting() -> None:
    with pytest.raises(SettingsError, match=r"^SAFESHARE_ARGON2_PARALLELISM: .*SAFESHARE_ARGON2_MEMORY_KIB"):
        load_settings(argon2_memory_kib=16, argon2_parallelism=4)


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("report_rate", "lots", "SAFESHARE_REPORT_RATE: expected e.g. '10/hour'"),
        ("report_rate", "10/fortnight", "SAFESHARE_REPORT_RATE"),
        ("forwarded_allow_ips", "proxy.internal", "SAFESHARE_FORWARDED_ALLOW_IPS: 'proxy.internal' is not an IP"),
        ("require_2fa_roles", "admin,boss", "SAFESHARE_REQUIRE_2FA_ROLES: unknown role 'boss'"),
        ("throttle_window_seconds", "60", "SAFESHARE_THROTTLE_WINDOW_SECONDS: must be at least"),
    ],
)
def test_sign_in_and_rate_settings_are_checked_and_name_the_setting(name: str, value: str, says: str) -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(**{name: value})
    assert str(err.value).startswith(says)


def test_sign_in_and_rate_settings_defaults() -> None:
    s = load_settings()
    assert s.roles_requiring_2fa == {"admin", "safeguarding", "hr"}
    assert s.report_limit is not None and (s.report_limit.amount, s.report_limit.get_expiry()) == (10, 3600)
    assert s.forwarded_allow_ips == "" and s.throttle_max_delay_seconds == 900
    assert load_settings(report_rate="0").report_limit is None and load_settings(require_2fa_roles="").roles_requiring_2fa == set()
    assert load_settings(forwarded_allow_ips="127.0.0.1, 10.0.0.0/8, ::1, *").forwarded_allow_ips
