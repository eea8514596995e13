"""Settings: one object, read from `SAFESHARE_*` environment variables and a `.env` file."""

from __future__ import annotations

import difflib
import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time
from functools import cached_property
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from limits import RateLimitItem, parse_many
from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.enums import Role

PREFIX = "SAFESHARE_"
ENV_FILE = ".env"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

def parse_rate(text: str) -> RateLimitItem:
    """`10/hour`, `50 per day`: the `limits` library's notation, one limit only."""
    try:
        items = parse_many(text)
    except ValueError:
        items = []
    if len(items) != 1 or items[0].amount < 1:
        raise ValueError(f"expected e.g. '10/hour' or '0' for no limit, not {text!r}")
    return items[0]


STAFF_ROLES = frozenset(r.value for r in Role)

_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_OFFICE_RE = re.compile(
    r"^\s*(?P<d1>[A-Za-z]{3})(?:-(?P<d2>[A-Za-z]{3}))?\s+"
    r"(?P<t1>\d{2}:\d{2})-(?P<t2>\d{2}:\d{2})\s+(?P<tz>\S+)\s*$"
)


@dataclass(frozen=True)
class OfficeHours:
    """Office hours such as `Mon-Fri 08:00-17:00 Europe/London`; anything else is out of hours."""

    days: frozenset[int]
    start: time
    end: time
    tz: ZoneInfo

    @classmethod
    def parse(cls, text: str) -> OfficeHours:
        m = _OFFICE_RE.match(text)
        if not m:
            raise ValueError("expected e.g. 'Mon-Fri 08:00-17:00 Europe/London'")
        d1, d2 = m["d1"].lower(), (m["d2"] or m["d1"]).lower()
        if d1 not in _DAYS or d2 not in _DAYS:
            raise ValueError(f"unknown day in {text!r}")
        i, j = _DAYS.index(d1), _DAYS.index(d2)
        days = {(i + k) % 7 for k in range(((j - i) % 7) + 1)}
        try:
            start = time.fromisoformat(m["t1"])
            end = time.fromisoformat(m["t2"])
        except ValueError as exc:
            raise ValueError(f"bad time in {text!r}") from exc
        if end <= start:
            raise ValueError("office hours must end after they start")
        try:
            tz = ZoneInfo(m["tz"])
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {m['tz']!r}") from exc
        return cls(frozenset(days), start, end, tz)

    def is_out_of_hours(self, at: datetime) -> bool:
        local = at.astimezone(self.tz)
        inside = local.weekday() in self.days and self.start <= local.time() < self.end
        return not inside


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=PREFIX, env_file=ENV_FILE, extra="ignore", frozen=True
    )

    database_url: str = "sqlite:///./var/safeshare.db"
    key_file: Path = Path("./var/keys.json")
    min_cell: int = Field(default=3, ge=1)
    checkin_first_days: int = Field(default=7, ge=1)
    checkin_interval_days: int = Field(default=14, ge=1)
    office_hours: str = "Mon-Fri 08:00-17:00 Europe/London"
    retention_years: int = Field(default=6, ge=1)
    # Referrals: days from a referral to its due date, by kind (see docs/casework.md).
    referral_formal_investigation_days: int = Field(default=28, ge=0, le=3650)
    referral_police_days: int = Field(default=1, ge=0, le=3650)
    referral_local_authority_safeguarding_days: int = Field(default=1, ge=0, le=3650)
    referral_regulator_notification_days: int = Field(default=5, ge=0, le=3650)
    referral_occupational_health_days: int = Field(default=14, ge=0, le=3650)
    referral_counselling_days: int = Field(default=14, ge=0, le=3650)
    referral_third_sector_days: int = Field(default=14, ge=0, le=3650)

    # Sessions
    staff_token_minutes: int = Field(default=480, ge=1)
    # A staff session not used for this long ends (the console on a shared or forgotten screen).
    staff_idle_minutes: int = Field(default=30, ge=1)
    reporter_token_minutes: int = Field(default=30, ge=1)
    # A reporter session not used for this long ends: a phone put down, a screen someone else may see.
    reporter_idle_minutes: int = Field(default=10, ge=1)

    # Request bodies: 64 KiB for JSON in general; the intake routes take more because a
    # 20,000-character description can need up to 120 KB once JSON escapes it.
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    max_report_body_bytes: int = Field(default=256 * 1024, ge=1024)

    # Availability (see docs/operations.md, "Load, slow clients and timeouts"): requests served
    # at once per process (more get a 503 at once); how long a request waits for a database lock
    # (then 503); how long a client may take to send its headers and its body, and may keep an
    # idle connection open.
    concurrency_limit: int = Field(default=256, ge=1)
    lock_timeout_seconds: float = Field(default=5.0, gt=0)
    header_timeout_seconds: float = Field(default=10.0, gt=0)
    body_timeout_seconds: float = Field(default=60.0, gt=0)
    keep_alive_seconds: int = Field(default=5, ge=1)


    # Throttling of failed sign-ins and receipts (shared by every process through the database):
    # a bucket may fail this many times freely, then each failure doubles the wait (from 1 s up
    # to the longest delay); failures are forgotten after a window with none. See docs/operations.md.
    login_max_failures: int = Field(default=5, ge=1)  # per account (clients unknown to it) and per device
    receipt_max_failures: int = Field(default=10, ge=1)  # per client
    throttle_max_delay_seconds: int = Field(default=900, ge=1)
    throttle_window_seconds: int = Field(default=86400, ge=1)
    # New reports accepted per client (`limits` notation, e.g. `10/hour`, `50/day`); `0` = no limit.
    report_rate: str = "10/hour"
    # Reverse proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (comma-separated
    # addresses or networks, `*` for any); empty = none, the client is the peer that connected.
    forwarded_allow_ips: str = ""

    # Staff sign-in: roles that must use two-factor sign-in (comma-separated; empty = none), and
    # how long a one-time password from an administrator's reset stays usable.
    require_2fa_roles: str = "admin,safeguarding,hr"
    one_time_password_hours: int = Field(default=72, ge=1)

    # argon2id for staff passwords. Defaults are RFC 9106's second recommended option
    # (64 MiB, t=3, p=4), stronger than OWASP's minimum (19 MiB, t=2, p=1).
    argon2_time_cost: int = Field(default=3, ge=1)
    argon2_memory_kib: int = Field(default=65536, ge=8)
    argon2_parallelism: int = Field(default=4, ge=1)
    # How many password hashes may run at once per process (their own threads, see app/concurrency.py).
    slow_hash_concurrency: int = Field(default=2, ge=1)

    # Mail for check-in reminders
    smtp_host: str = "localhost"
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_from: str = "safeshare@localhost"
    public_url: str = "http://127.0.0.1:8000"
    # Where the reporters' "Leave this site" button goes: somewhere ordinary to be seen on a screen.
    quick_exit_url: str = "https://www.bbc.co.uk/weather"

    # Words on the public pages
    organisation_name: str = "the Service"
    other_routes_html: str = (
        "<li>Talk to your line manager or another manager you trust.</li>"
        "<li>Contact your trade union representative.</li>"
        "<li>Call Protect, the independent whistleblowing charity, on 020 3117 2520 "
        "(free, confidential advice).</li>"
        "<li>If someone is in immediate danger, call 999.</li>"
    )
    # The local out-of-hours routes, shown with 999 and Samaritans on the reporter's confirmation
    # page when their words suggest someone may be at risk (app.cases.risk).
    out_of_hours_html: str = (
        "<li>Out of hours: NHS 111 (choose the mental health option), or your local council's emergency "
        "social care line. Domestic abuse: the National Domestic Abuse Helpline, 0808 2000 247, day and night.</li>"
    )

    # Attachments (docs/attachments.md): the largest file taken, in MB (what a phone photo or a
    # scanned letter needs; the upper bound keeps a form of five files within what one process
    # handles); the most one case holds; the most pixels an image may have (a decompression bomb
    # is refused before it is decoded); where the encrypted files go (unset: in the database).
    attachment_max_mb: int = Field(default=10, ge=1, le=100)
    attachment_case_total_mb: int = Field(default=100, ge=1, le=10000)
    attachment_max_megapixels: int = Field(default=50, ge=1, le=200)
    attachment_dir: Path | None = None

    log_level: str = "INFO"

    @field_validator("database_url")
    @classmethod
    def _known_scheme(cls, v: str) -> str:
        scheme = v.split(":", 1)[0]
        if scheme not in {"sqlite", "sqlite+pysqlite", "postgresql", "postgresql+psycopg"}:
            raise ValueError(f"unknown database scheme {scheme!r}; use sqlite:/// or postgresql+psycopg://")
        if scheme == "postgresql":
            v = "postgresql+psycopg" + v[len("postgresql"):]
        return v

    @field_validator("public_url", "quick_exit_url")
    @classmethod
    def _absolute_url(cls, v: str) -> str:
        parts = urlsplit(v.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname or " " in v.strip():
            raise ValueError(f"expected an absolute http(s) URL such as https://safeshare.example.org, not {v!r}")
        return v.strip()

    @field_validator("attachment_dir", mode="before")
    @classmethod
    def _attachment_dir(cls, v: object) -> object:
        return None if v is None or (isinstance(v, str) and not v.strip()) else v

    @field_validator("log_level")
    @classmethod
    def _known_log_level(cls, v: str) -> str:
        if v.strip().upper() not in LOG_LEVELS:
            raise ValueError(f"expected one of {', '.join(LOG_LEVELS)}, not {v!r}")
        return v.strip().upper()

    @field_validator("argon2_parallelism")
    @classmethod
    def _argon2_memory_fits(cls, v: int, info: ValidationInfo) -> int:
        memory = info.data.get("argon2_memory_kib")
        if memory is not None and memory < 8 * v:
            raise ValueError(f"argon2 needs SAFESHARE_ARGON2_MEMORY_KIB of at least 8 x parallelism ({8 * v})")
        return v

    @field_validator("office_hours")
    @classmethod
    def _office_hours(cls, v: str) -> str:
        OfficeHours.parse(v)
        return v

    @field_validator("throttle_window_seconds")
    @classmethod
    def _window_outlasts_delay(cls, v: int, info: ValidationInfo) -> int:
        longest = info.data.get("throttle_max_delay_seconds")
        if longest is not None and v < longest:
            raise ValueError(f"must be at least SAFESHARE_THROTTLE_MAX_DELAY_SECONDS ({longest}), or failures are forgotten before the wait ends")
        return v

    @field_validator("report_rate")
    @classmethod
    def _report_rate(cls, v: str) -> str:
        v = v.strip()
        if v != "0":
            parse_rate(v)
        return v

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _proxies(cls, v: str) -> str:
        for item in (x.strip() for x in v.split(",")):
            if item and item != "*":
                try:
                    ipaddress.ip_network(item, strict=False)
                except ValueError:
                    raise ValueError(f"{item!r} is not an IP address or network (e.g. 127.0.0.1, 10.0.0.0/8, ::1)") from None
        return v

    @field_validator("require_2fa_roles")
    @classmethod
    def _roles(cls, v: str) -> str:
        known = STAFF_ROLES
        for item in (x.strip() for x in v.split(",")):
            if item and item not in known:
                raise ValueError(f"unknown role {item!r}; use {', '.join(sorted(known))}")
        return v

    @property
    def attachment_max_bytes(self) -> int:
        return self.attachment_max_mb * 1024 * 1024

    @cached_property
    def roles_requiring_2fa(self) -> frozenset[str]:
        return frozenset(x.strip() for x in self.require_2fa_roles.split(",") if x.strip())

    @cached_property
    def report_limit(self) -> RateLimitItem | None:
        """The parsed `SAFESHARE_REPORT_RATE`, or None for no limit."""
        return None if self.report_rate == "0" else parse_rate(self.report_rate)

    @cached_property
    def hours(self) -> OfficeHours:
        return OfficeHours.parse(self.office_hours)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


class SettingsError(Exception):
    """A bad setting, with a one-line message naming it."""


def unknown_settings(environ: Mapping[str, str] | None = None, env_file: Path | None = Path(ENV_FILE)) -> list[str]:
    """One warning per unknown `SAFESHARE_*` name (a misspelling is otherwise silent), naming the closest."""
    from dotenv import dotenv_values  # pydantic-settings' own .env reader

    known = sorted(PREFIX + name.upper() for name in Settings.model_fields)
    given = {name.upper(): "the environment" for name in (os.environ if environ is None else environ)}
    if env_file is not None and env_file.is_file():
        given.update({name.upper(): str(env_file) for name in dotenv_values(env_file) if name.upper() not in given})
    warnings = []
    for name, where in sorted(given.items()):
        # SAFESHARE_TEST_* belong to the test suite (SAFESHARE_TEST_PG), not to the service.
        if not name.startswith(PREFIX) or name in known or name.startswith(PREFIX + "TEST_"):
            continue
        # Compared without the prefix that every name shares, or anything would look close.
        close = difflib.get_close_matches(name.removeprefix(PREFIX), [k.removeprefix(PREFIX) for k in known], n=1)
        hint = f" (did you mean {PREFIX}{close[0]}?)" if close else ""
        warnings.append(f"{name} in {where} is not a Safe Share setting and is ignored{hint}")
    return warnings


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        err = exc.errors()[0]
        name = "SAFESHARE_" + str(err["loc"][0]).upper() if err["loc"] else "SAFESHARE_?"
        msg = str(err["msg"]).removeprefix("Value error, ")
        raise SettingsError(f"{name}: {msg}") from None
