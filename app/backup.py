"""`safeshare backup` and `safeshare restore` (docs/operations.md, "Backup and restore").

Never the key ring: a backup without it reveals no case text, so the two are kept apart.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import URL, make_url

from app import dialect
from app.commandline import Steps, fail, progress, settings_or_exit
from app.crypto.keyring import RETAIN_PREFIX

commands = typer.Typer()


def _is_postgresql(url: str) -> bool:
    return dialect.is_postgresql(make_url(url).get_backend_name())


def _libpq(url: str) -> str:
    """The URL as libpq (pg_dump, pg_restore) reads it, without its password (see `_libpq_env`)."""
    parts = make_url(url)
    # URL.set() keeps a value given as None: build the URL anew, without the password.
    return URL.create("postgresql", username=parts.username, host=parts.host, port=parts.port,
                      database=parts.database, query=parts.query).render_as_string(hide_password=False)


@contextlib.contextmanager
def _libpq_env(url: str) -> Iterator[dict[str, str]]:
    """The environment for pg_dump/pg_restore: the password in a private password file, never on a
    command line, where `ps` shows it to every user of the host.
    """
    env = {k: v for k, v in os.environ.items() if k != "PGPASSWORD"}
    password = make_url(url).password
    if password is None:
        yield env
        return
    escaped = str(password).replace("\\", "\\\\").replace(":", "\\:")
    fd, path = tempfile.mkstemp(prefix="safeshare-pgpass-")
    try:
        with os.fdopen(fd, "w") as passfile:
            passfile.write(f"*:*:*:*:{escaped}\n")
        yield {**env, "PGPASSFILE": path}
    finally:
        os.unlink(path)


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise ValueError("an in-memory SQLite database cannot be backed up")
    return Path(database)


class BackupError(Exception):
    """A backup or restore that cannot be done, said in one line naming what to fix."""


def backup_database(url: str, target: Path, steps: Steps | None = None) -> None:
    """Write a consistent copy of the database at `url` to `target` (replaced if it exists)."""
    steps = steps or Steps()
    if not target.parent.is_dir():
        raise BackupError(f"the backup folder {target.parent} does not exist: create it first (readable by this "
                          "account only), or name another")
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o600)
    os.close(fd)
    try:
        if _is_postgresql(url):
            steps.total(_table_count(url))
            with _libpq_env(url) as env:
                _run(["pg_dump", "--format=custom", "--no-owner", "--verbose", "--file", str(partial),
                      "--dbname", _libpq(url)], env=env, step_on="dumping contents of table", steps=steps)
        else:
            path = _sqlite_path(url)
            if not path.is_file():
                raise BackupError(f"SAFESHARE_DATABASE_URL: {path} does not exist")
            source = sqlite3.connect(path, timeout=30)
            copy = sqlite3.connect(partial)
            try:
                pages = source.execute("PRAGMA page_count").fetchone()[0]
                steps.total(pages)
                # One step: a consistent snapshot (a copy in steps starts again whenever the service writes).
                source.backup(copy)
                steps.advance(pages)
                copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
                steps.say("checking the copy")
                if copy.execute("PRAGMA quick_check").fetchone() != ("ok",):
                    raise RuntimeError("the copy failed SQLite's quick_check")
            finally:
                copy.close()
                source.close()
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def files_archive(target: Path) -> Path:
    """Where the attachments' files of a backup go, beside it."""
    return target.with_name(target.name + ".attachments.tar")


def backup_files(directory: Path, target: Path) -> int:
    """Write the sealed files under `directory` to a tar beside the backup; returns how many."""
    archive = files_archive(target)
    partial = archive.with_name(archive.name + ".partial")
    partial.unlink(missing_ok=True)
    os.close(os.open(partial, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o600))
    count = 0
    try:
        with tarfile.open(partial, "w") as tar:
            for path in sorted(directory.glob("*/*")):
                if path.is_file() and not path.name.startswith("."):
                    tar.add(path, arcname=str(path.relative_to(directory)))
                    count += 1
        os.replace(partial, archive)
    finally:
        partial.unlink(missing_ok=True)
    return count


def restore_files(source: Path, directory: Path) -> int:
    """Put the attachments' files of a backup back under `directory`; returns how many (0: none beside it)."""
    archive = files_archive(source)
    if not archive.is_file():
        return 0
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    with tarfile.open(archive) as tar:
        members = [m for m in tar.getmembers() if m.isfile()]
        tar.extractall(directory, members=members, filter="data")
    for member in members:
        os.chmod(directory / member.name, 0o600)
    return len(members)


_SQLITE_MAGIC = b"SQLite format 3\x00"
_PG_DUMP_MAGIC = b"PGDMP"


def restore_database(source: Path, url: str, steps: Steps | None = None) -> None:
    """Load a backup into the empty database at `url`; on any failure nothing is left behind."""
    steps = steps or Steps()
    if not source.is_file():
        raise BackupError(f"{source} is not a file")
    with source.open("rb") as f:
        magic = f.read(16)
    postgresql = _is_postgresql(url)
    kind = "PostgreSQL (pg_dump)" if magic.startswith(_PG_DUMP_MAGIC) else (
        "SQLite" if magic == _SQLITE_MAGIC else None)
    if kind is None:
        raise BackupError(f"{source} is not a backup made by `safeshare backup` (neither SQLite nor pg_dump's format)")
    if postgresql != magic.startswith(_PG_DUMP_MAGIC):
        raise BackupError(f"{source} is a {kind} backup, but SAFESHARE_DATABASE_URL names a "
                          f"{'PostgreSQL' if postgresql else 'SQLite'} database: restore it into the kind it came from")
    if postgresql:
        _refuse_tables(url)
        steps.total(_dump_table_count(source))
        with _libpq_env(url) as env:
            # One transaction: if anything fails, the database is left as empty as it was.
            _run(["pg_restore", "--no-owner", "--exit-on-error", "--single-transaction", "--verbose",
                  "--dbname", _libpq(url), str(source)], env=env, step_on="processing data for table", steps=steps)
        return
    target = _sqlite_path(url)
    if target.exists():
        _refuse_tables(url)  # an existing file must be an empty database (never created here)
    if not target.parent.is_dir():
        raise BackupError(f"the folder {target.parent} of SAFESHARE_DATABASE_URL does not exist")
    partial = target.with_name(target.name + ".partial")
    try:
        _copy_with_steps(source, partial, steps)
        steps.say("checking the copy")
        check = sqlite3.connect(partial)
        try:
            intact = check.execute("PRAGMA quick_check").fetchone() == ("ok",)
        except sqlite3.DatabaseError:
            intact = False
        finally:
            check.close()
        if not intact:
            raise BackupError(f"{source} is not an intact SQLite database (PRAGMA quick_check failed)")
        for leftover in (Path(f"{target}-wal"), Path(f"{target}-shm")):
            leftover.unlink(missing_ok=True)  # of the empty database, if there was one
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def _copy_with_steps(source: Path, target: Path, steps: Steps, chunk: int = 4 << 20) -> None:
    """Copy a file (mode 0600 from its creation), reporting bytes copied."""
    steps.total(source.stat().st_size)
    fd = os.open(target, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    with source.open("rb") as src, os.fdopen(fd, "wb") as dst:
        while block := src.read(chunk):
            dst.write(block)
            steps.advance(len(block))
    os.chmod(target, 0o600)


def _refuse_tables(url: str) -> None:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            tables = inspect(conn).get_table_names()
    finally:
        engine.dispose()
    if tables:
        raise BackupError("the database of SAFESHARE_DATABASE_URL is not empty: restore only into a new, empty database")


def _table_count(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()")).scalar_one())
    finally:
        engine.dispose()


def _dump_table_count(source: Path) -> int | None:
    """How many tables' data a pg_dump archive holds (its table of contents), for the progress bar."""
    try:
        listing = subprocess.run(["pg_restore", "--list", str(source)], capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None  # the restore itself will say what is wrong
    return sum(1 for line in listing.stdout.splitlines() if " TABLE DATA " in line)


def master_keys_needed(url: str) -> list[str]:
    """The master key ids that wrap the live data keys of the database at `url`."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT DISTINCT kek_id FROM case_keys WHERE wrapped_key IS NOT NULL"))
            ids = sorted(r[0] for r in rows)
    finally:
        engine.dispose()
    # Closed cases wait under retention day keys (`retain-YYYY-MM-DD[~chain]`): one ring entry, the chain, serves them all.
    masters = [i for i in ids if not i.startswith(RETAIN_PREFIX)]
    days = [i for i in ids if i.startswith(RETAIN_PREFIX)]
    return masters + ([f"the retention chain from {days[0][len(RETAIN_PREFIX):].partition('~')[0]}"] if days else [])


def _run(command: list[str], *, env: dict[str, str], step_on: str, steps: Steps) -> None:
    """Run pg_dump or pg_restore (`--verbose`), advancing `steps` at each line naming a table."""
    try:
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    except FileNotFoundError:
        raise BackupError(f"{command[0]} is not installed (Debian: postgresql-client of the server's major "
                          "version; `safeshare check` compares them)") from None
    assert proc.stderr is not None
    errors: list[str] = []
    for line in proc.stderr:
        if step_on in line:
            steps.advance()
        elif "error" in line.lower() or "fatal" in line.lower():
            errors.append(line.strip())
    if proc.wait() != 0:
        last = errors[-1] if errors else "failed"
        hint = (" (its major version is older than the server's: install a newer postgresql-client; `safeshare "
                "check` compares them)") if "version mismatch" in last else ""
        raise BackupError(f"{command[0]}: {last[:300]}{hint}")


def _size(path: Path) -> str:
    size = path.stat().st_size
    return f"{size / 1e6:.1f} MB" if size >= 100_000 else f"{size / 1e3:.0f} kB"


@commands.command()
def backup(
    target: Annotated[Path, typer.Argument(help="The file to write (replaced if it exists).")],
) -> None:
    """Write a consistent copy of the database to a file, while the service keeps running.

    SQLite: the online backup API, checked with `quick_check`. PostgreSQL: `pg_dump --format=custom`.
    The key ring (`SAFESHARE_KEY_FILE`) is NOT in the backup: back it up separately and keep the
    two apart. Restore with `safeshare restore FILE` into an empty database. Shows progress on a
    terminal; otherwise prints one line when done.
    """
    settings = settings_or_exit()
    try:
        with progress(f"backing up to {target.name}") as steps:
            backup_database(settings.database_url, target, steps)
        needed = master_keys_needed(settings.database_url)
        files = backup_files(settings.attachment_dir, target) if settings.attachment_dir is not None else None
    except BackupError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot write {exc.filename or target}: {exc.strerror or type(exc).__name__}")
    except Exception as exc:  # noqa: BLE001 - one line for the operator
        fail(f"SAFESHARE_DATABASE_URL: backup failed ({type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''})")
    keys = ", ".join(needed) or "none yet"
    also = (f" and {files} attachment file(s) of SAFESHARE_ATTACHMENT_DIR to {files_archive(target)}"
            if files is not None else "")
    typer.echo(f"database backed up to {target} ({_size(target)}){also}; the key ring is not in it: this backup needs the "
               f"master key(s) {keys} of SAFESHARE_KEY_FILE, so keep a copy of the key ring apart from database backups")


@commands.command()
def restore(
    source: Annotated[Path, typer.Argument(help="A file written by `safeshare backup`.")],
) -> None:
    """Load a backup into the database of SAFESHARE_DATABASE_URL, which must be new and empty.

    Then run `safeshare migrate` (a backup from an older version is brought up to date) and start
    the service with the key ring that holds the master keys the backup needs. If it fails, nothing
    is left behind. Shows progress on a terminal; otherwise prints one line when done.
    """
    settings = settings_or_exit()
    try:
        with progress(f"restoring {source.name}") as steps:
            restore_database(source, settings.database_url, steps)
            files = restore_files(source, settings.attachment_dir) if settings.attachment_dir is not None else 0
    except BackupError as exc:
        fail(f"restore failed: {exc}")
    except OSError as exc:
        fail(f"restore failed: {exc.filename or source}: {exc.strerror or type(exc).__name__}")
    except Exception as exc:  # noqa: BLE001 - one line for the operator
        fail(f"restore failed ({type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''})")
    also = f" and {files} attachment file(s) into SAFESHARE_ATTACHMENT_DIR" if files else ""
    typer.echo(f"restored {source}{also}; now run `safeshare migrate`, with the key ring the backup needs")
