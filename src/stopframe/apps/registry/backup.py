"""Online backups: SQLite's backup API (consistent while the service runs), pg_dump for
PostgreSQL. A backup is a new file, readable by its owner only (0600); nothing is overwritten."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import URL, make_url

from stopframe.errors import StopframeError


class BackupError(StopframeError):
    """The backup could not be made; the message says why and what to do."""


def search_path_schemas(options: str | tuple[str, ...] | None) -> list[str]:
    """Schemas named by a `-c search_path=...` libpq option: a registry kept in its own schema
    is backed up alone, not with everything else in the database."""
    if not options:
        return []
    text = " ".join(options) if isinstance(options, tuple) else options
    match = re.search(r"-c\s*search_path=([^\s]+)", text)
    if match is None:
        return []
    names = (name.strip().strip('"') for name in match.group(1).split(","))
    return [name for name in names if name and name != "$user"]


def _claim(destination: Path) -> None:
    """Create `destination` empty and private (0600); BackupError if it exists or its folder
    does not (a mistyped folder is not silently made)."""
    if not destination.parent.is_dir():
        raise BackupError(f"folder {destination.parent} does not exist; create it first")
    try:
        os.close(os.open(destination, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        raise BackupError(f"{destination} already exists; choose a new file name") from None
    except OSError as exc:
        raise BackupError(f"cannot create {destination}: {exc.strerror or exc}") from None


def backup(database_url: str, destination: Path) -> Path:
    """Copy the database behind `database_url` to `destination`, a new file, and return its
    path; on failure nothing is left behind."""
    url = make_url(database_url)
    backend = url.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise BackupError(f"backups of {backend} databases are not supported")
    if backend == "sqlite" and (not url.database or url.database == ":memory:"):
        raise BackupError("an in-memory SQLite database cannot be backed up")
    pg_dump = shutil.which("pg_dump") if backend == "postgresql" else None
    if backend == "postgresql" and pg_dump is None:
        raise BackupError(
            "pg_dump not found on PATH; install the PostgreSQL client "
            "(apt-get install postgresql-client) and try again"
        )
    _claim(destination)
    try:
        if pg_dump is None:
            _sqlite_backup(str(url.database), destination)
        else:
            _pg_dump(pg_dump, url, destination)
    except BaseException:
        destination.unlink(missing_ok=True)
        raise
    return destination


def _sqlite_backup(database: str, destination: Path) -> None:
    """Copy a SQLite database page by page while others may be writing to it."""
    try:
        source = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise BackupError(f"cannot open database {database}: {exc}") from None
    try:
        target = sqlite3.connect(destination)
        try:
            source.backup(target)
        except sqlite3.Error as exc:
            raise BackupError(f"cannot copy database {database}: {exc}") from None
        finally:
            target.close()
    finally:
        source.close()


def _pg_dump(pg_dump: str, url: URL, destination: Path) -> None:
    """Write a pg_dump custom-format archive of the registry's schemas into `destination`."""
    plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
    command = [pg_dump, "--format=custom", f"--file={destination}"]
    command += [f"--schema={schema}" for schema in search_path_schemas(url.query.get("options"))]
    result = subprocess.run([*command, plain], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BackupError(f"pg_dump failed: {result.stderr.strip()}")
