"""`safeshare check`: one line per check (docs/operations.md, "Checking an installation"); changes nothing."""

from __future__ import annotations

import re
import shutil
import smtplib
import ssl
import stat
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from app import dialect
from app.config import Settings
from app.crypto.keyring import KeyRing, KeyRingError
from app.db import make_engine, make_sessionmaker
from app.mail import describe_failure

OK, WARN, FAIL = "ok", "warn", "FAIL"
# Banners of the usual mail catchers: mail "sent" there reaches nobody.
CATCHERS = re.compile(r"mailpit|mailhog|mailcatcher|mailtrap|smtp4dev|maildev", re.IGNORECASE)


@dataclass(frozen=True)
class Finding:
    level: str
    what: str
    said: str

    def line(self) -> str:
        return f"{self.level:<4}  {self.what}: {self.said}"


def run_checks(settings: Settings, *, smtp_timeout: float = 10) -> list[Finding]:
    """Every check, in the order an operator would fix them."""
    found: list[Finding] = []
    found += _settings(settings)
    server_major = None
    database = list(_database(settings))
    found += database
    if dialect.is_postgresql(make_url(settings.database_url).get_backend_name()):
        server_major = _server_major(settings)
    found += _key_ring(settings, database_ok=all(f.level != FAIL for f in database))
    found += _mail(settings, smtp_timeout)
    found += _pg_dump(settings, server_major)
    found += _file_modes(settings)
    return found


def _settings(settings: Settings) -> Iterator[Finding]:
    url = settings.public_url
    yield Finding(OK, "settings", "every SAFESHARE_ setting is valid")
    local = re.match(r"https?://(localhost|127\.|\[::1\])", url) is not None
    if url.startswith("http://") and not local:
        yield Finding(WARN, "SAFESHARE_PUBLIC_URL", f"{url} is plain http: links in e-mails should use https")
    if settings.forwarded_allow_ips.strip() == "*":
        yield Finding(WARN, "SAFESHARE_FORWARDED_ALLOW_IPS", "`*` believes any client's X-Forwarded-For: list the "
                                                             "reverse proxy's address instead")


def _database(settings: Settings) -> Iterator[Finding]:
    from alembic.script import ScriptDirectory

    from app.migrate import alembic_config

    head = ScriptDirectory.from_config(alembic_config(settings.database_url)).get_current_head()
    url = make_url(settings.database_url)
    if not dialect.is_postgresql(url.get_backend_name()) and url.database and not Path(url.database).exists():
        yield Finding(FAIL, "database", f"{url.database} (SAFESHARE_DATABASE_URL) does not exist: `safeshare migrate` "
                                        "creates it for a new installation")
        return
    engine = make_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            try:
                current = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            except Exception:  # noqa: BLE001 - no version table: never migrated
                current = None
    except Exception as exc:  # noqa: BLE001 - the type says why; the text may hold the URL's password
        yield Finding(FAIL, "database", f"cannot connect ({type(exc).__name__}): check SAFESHARE_DATABASE_URL and "
                                        "that the server runs")
        return
    finally:
        engine.dispose()
    where = make_url(settings.database_url).render_as_string(hide_password=True)
    if current is None:
        yield Finding(FAIL, "database", f"{where} holds no Safe Share schema: run `safeshare migrate`")
    elif current != head:
        yield Finding(FAIL, "database", f"{where} is at revision {current}, this version needs {head}: run "
                                        "`safeshare migrate` (after `safeshare backup`)")
    else:
        yield Finding(OK, "database", f"{where} answers; schema up to date ({head})")


def _server_major(settings: Settings) -> int | None:
    engine = make_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SHOW server_version_num")).scalar_one()) // 10000
    except Exception:  # noqa: BLE001 - the database check has said why
        return None
    finally:
        engine.dispose()


def _key_ring(settings: Settings, *, database_ok: bool) -> Iterator[Finding]:
    from app.crypto import keys

    path = settings.key_file
    if not path.exists():
        yield Finding(FAIL, "key ring", f"{path} (SAFESHARE_KEY_FILE) does not exist: `safeshare serve` creates one "
                                        "for a new installation; otherwise restore it from its backup")
        return
    try:
        ring = KeyRing.load(path)
    except KeyRingError as exc:
        yield Finding(FAIL, "key ring", f"SAFESHARE_KEY_FILE: {exc}")
        return
    if not database_ok:
        yield Finding(WARN, "key ring", f"{path} loads; not compared with the database, which did not answer")
        return
    try:
        with make_sessionmaker(make_engine(settings.database_url))() as session:
            missing = keys.missing_keys(session, ring)
    except Exception as exc:  # noqa: BLE001
        yield Finding(FAIL, "key ring", f"cannot compare {path} with the database ({type(exc).__name__})")
        return
    if missing:
        yield Finding(FAIL, "key ring", f"{path} lacks master key(s) {', '.join(sorted(missing))} that "
                                        f"{sum(missing.values())} case(s) are sealed with: the wrong ring, or an old "
                                        "backup of it (SAFESHARE_KEY_FILE)")
    else:
        yield Finding(OK, "key ring", f"{path} opens every case the database holds; keep a copy of it apart from "
                                      "database backups")


def _mail(settings: Settings, timeout: float) -> Iterator[Finding]:
    what = f"mail server {settings.smtp_host}:{settings.smtp_port}"
    try:
        smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=timeout)
    except Exception as exc:  # noqa: BLE001
        yield Finding(FAIL, "mail", describe_failure(exc, settings) + "; notifications wait until it answers")
        return
    try:
        _, banner = smtp.ehlo()
        greeting = banner.decode(errors="replace") + " " + (getattr(smtp, "ehlo_resp", b"") or b"").decode(
            errors="replace")
        if settings.smtp_starttls:
            smtp.starttls(context=ssl.create_default_context())
            smtp.ehlo()
        if settings.smtp_username:
            smtp.login(settings.smtp_username, settings.smtp_password.get_secret_value() if settings.smtp_password else "")
    except Exception as exc:  # noqa: BLE001
        yield Finding(FAIL, "mail", describe_failure(exc, settings))
        return
    finally:
        try:
            smtp.quit()
        except Exception:  # noqa: BLE001 - the answer is already known
            pass
    extras = ", STARTTLS" if settings.smtp_starttls else ""
    extras += ", signed in" if settings.smtp_username else ""
    if CATCHERS.search(greeting) or CATCHERS.search(settings.smtp_host):
        yield Finding(WARN, "mail", f"{what} is a mail catcher: messages are kept there and reach nobody; set "
                                    "SAFESHARE_SMTP_HOST to your mail relay for real use")
    else:
        yield Finding(OK, "mail", f"{what} answers{extras} (SAFESHARE_SMTP_HOST, SAFESHARE_SMTP_PORT)")


def _pg_dump(settings: Settings, server_major: int | None) -> Iterator[Finding]:
    if not dialect.is_postgresql(make_url(settings.database_url).get_backend_name()):
        yield Finding(OK, "pg_dump", "not needed: SQLite is backed up with its own online backup")
        return
    found = shutil.which("pg_dump")
    if found is None:
        yield Finding(FAIL, "pg_dump", "not installed: `safeshare backup` needs it (Debian: postgresql-client of the "
                                       "server's major version)")
        return
    try:
        said = subprocess.run([found, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired) as exc:
        yield Finding(FAIL, "pg_dump", f"{found} does not run ({type(exc).__name__})")
        return
    version = re.search(r"(\d+)(?:\.(\d+))?", said)
    major = int(version.group(1)) if version else None
    if major is None:
        yield Finding(FAIL, "pg_dump", f"{found} does not say its version")
    elif server_major is None:
        yield Finding(WARN, "pg_dump", f"{found} is version {major}; the server's version is unknown")
    elif major < server_major:
        yield Finding(FAIL, "pg_dump", f"{found} is version {major}, older than the server's {server_major}: "
                                       f"backups would fail; install postgresql-client-{server_major}")
    else:
        yield Finding(OK, "pg_dump", f"version {major}, as new as the server's {server_major}: backups can run")


def _file_modes(settings: Settings) -> Iterator[Finding]:
    private: list[tuple[Path, str]] = [(settings.key_file, "SAFESHARE_KEY_FILE")]
    url = make_url(settings.database_url)
    if not dialect.is_postgresql(url.get_backend_name()) and url.database and url.database != ":memory:":
        db = Path(url.database)
        private += [(db, "SAFESHARE_DATABASE_URL"), (Path(f"{db}-wal"), "its write-ahead log"),
                    (Path(f"{db}-shm"), "its shared memory file")]
    loose = []
    for path, name in private:
        if path.exists():
            mode = stat.S_IMODE(path.stat().st_mode)
            if mode & 0o077:
                loose.append(f"{path} ({name}) is mode {mode:04o}: run `chmod 600 {path}`")
    for folder in {p.parent for p, _ in private if p.exists()}:
        mode = stat.S_IMODE(folder.stat().st_mode)
        if mode & 0o002:
            loose.append(f"the folder {folder} is writable by everyone (mode {mode:04o}): run `chmod o-w {folder}`")
    if loose:
        yield from (Finding(FAIL, "file modes", said) for said in loose)
    else:
        yield Finding(OK, "file modes", ("the key ring and the database files are" if len(private) > 1 else
                                         "the key ring is") + " readable by this account only")

