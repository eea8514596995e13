"""`safeshare backup` and `safeshare restore`: a consistent copy of the database, taken while the
service runs, and its return into an empty database. The key ring is never part of it.

SQLite: the online backup API (`sqlite3.Connection.backup`) copies a consistent snapshot page by
page while others keep writing, and the copy is checked with `PRAGMA quick_check`. PostgreSQL:
`pg_dump --format=custom` (one consistent snapshot), restored with `pg_restore`. Either way the
file is written under a temporary name, with mode 0600, and renamed into place once complete.

Attachments kept in the database (the default) are in its backup. With `SAFESHARE_ATTACHMENT_DIR`
set, their sealed files are written beside it as `<file>.attachments.tar` (ciphertext only, taken
after the database's snapshot, so every file the snapshot names that still exists is in it), and
`restore` puts them back when it finds that file beside the backup.

A database backup without the key ring reveals no case text; the key ring without a backup
reveals nothing either. Keep them apart (different places, different people). The command names
the master keys the backup needs, so the right key ring can be found when restoring.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import tarfile
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from app import dialect
from app.commandline import fail, settings_or_exit
from app.crypto.keyring import RETAIN_PREFIX

commands = typer.Typer()


def _is_postgresql(url: str) -> bool:
    return dialect.is_postgresql(make_url(url).get_backend_name())


def _libpq(url: str) -> str:
    """The URL as libpq (pg_dump, pg_restore) reads it."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise ValueError("an in-memory SQLite database cannot be backed up")
    return Path(database)


def backup_database(url: str, target: Path) -> None:
    """Write a consistent copy of the database at `url` to `target` (replaced if it exists)."""
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o600)
    os.close(fd)
    try:
        if _is_postgresql(url):
            _run(["pg_dump", "--format=custom", "--no-owner", "--file", str(partial), "--dbname", _libpq(url)])
        else:
            path = _sqlite_path(url)
            if not path.is_file():
                raise ValueError(f"{path} does not exist")
            source = sqlite3.connect(path, timeout=30)
            copy = sqlite3.connect(partial)
            try:
                source.backup(copy)
                copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
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


def restore_database(source: Path, url: str) -> None:
    """Load a backup into the database at `url`, which must hold no tables yet."""
    if not source.is_file():
        raise ValueError(f"{source} is not a file")
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            tables = inspect(conn).get_table_names()
    finally:
        engine.dispose()
    if tables:
        raise ValueError("the database is not empty: restore only into a new, empty database")
    if _is_postgresql(url):
        _run(["pg_restore", "--no-owner", "--exit-on-error", "--single-transaction", "--dbname", _libpq(url), str(source)])
        return
    target = _sqlite_path(url)
    partial = target.with_name(target.name + ".partial")
    shutil.copyfile(source, partial)
    os.chmod(partial, 0o600)
    check = sqlite3.connect(partial)
    try:
        if check.execute("PRAGMA quick_check").fetchone() != ("ok",):
            raise ValueError(f"{source} is not an intact SQLite database")
    finally:
        check.close()
    for leftover in (target, Path(f"{target}-wal"), Path(f"{target}-shm")):
        leftover.unlink(missing_ok=True)  # the empty database that `inspect` may have created
    os.replace(partial, target)


def master_keys_needed(url: str) -> list[str]:
    """The master key ids that wrap the live data keys of the database at `url`."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT DISTINCT kek_id FROM case_keys WHERE wrapped_key IS NOT NULL"))
            ids = sorted(r[0] for r in rows)
    finally:
        engine.dispose()
    # Closed cases wait under retention day keys (`retain-YYYY-MM-DD`): one ring entry, the chain, serves them all.
    masters = [i for i in ids if not i.startswith(RETAIN_PREFIX)]
    days = [i for i in ids if i.startswith(RETAIN_PREFIX)]
    return masters + ([f"the retention chain from {days[0][len(RETAIN_PREFIX):]}"] if days else [])


def _run(command: list[str]) -> None:
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise RuntimeError(f"{command[0]} is not installed (Debian: postgresql-client)") from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["failed"])[-1]
        raise RuntimeError(f"{command[0]}: {last[:300]}")


@commands.command()
def backup(
    target: Annotated[Path, typer.Argument(help="The file to write (replaced if it exists).")],
) -> None:
    """Write a consistent copy of the database to a file, while the service keeps running.

    SQLite: the online backup API, checked with `quick_check`. PostgreSQL: `pg_dump --format=custom`.
    The key ring (`SAFESHARE_KEY_FILE`) is NOT in the backup: back it up separately and keep the
    two apart. Restore with `safeshare restore FILE` into an empty database.
    """
    settings = settings_or_exit()
    try:
        backup_database(settings.database_url, target)
        needed = master_keys_needed(settings.database_url)
        files = backup_files(settings.attachment_dir, target) if settings.attachment_dir is not None else None
    except Exception as exc:  # noqa: BLE001 - one line for the operator
        fail(f"SAFESHARE_DATABASE_URL: backup failed ({type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''})")
    keys = ", ".join(needed) or "none yet"
    typer.echo(f"database backed up to {target}")
    if files is not None:
        typer.echo(f"{files} attachment file(s) of SAFESHARE_ATTACHMENT_DIR backed up to {files_archive(target)}")
    typer.echo(f"the key ring is not in it: this backup needs the master key(s) {keys} of SAFESHARE_KEY_FILE; "
               "keep a copy of the key ring apart from database backups")


@commands.command()
def restore(
    source: Annotated[Path, typer.Argument(help="A file written by `safeshare backup`.")],
) -> None:
    """Load a backup into the database of SAFESHARE_DATABASE_URL, which must be new and empty.

    Then run `safeshare migrate` (a backup from an older version is brought up to date) and start
    the service with the key ring that holds the master keys the backup needs.
    """
    settings = settings_or_exit()
    try:
        restore_database(source, settings.database_url)
        files = restore_files(source, settings.attachment_dir) if settings.attachment_dir is not None else 0
    except Exception as exc:  # noqa: BLE001 - one line for the operator
        fail(f"restore failed ({type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''})")
    if files:
        typer.echo(f"restored {files} attachment file(s) into SAFESHARE_ATTACHMENT_DIR")
    typer.echo(f"restored {source}; now run `safeshare migrate`, with the key ring the backup needs")
