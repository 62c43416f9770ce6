"""Online backups: SQLite's backup API (consistent while the service runs), pg_dump for
PostgreSQL."""

from __future__ import annotations

import re
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url

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


def backup(database_url: str, destination: Path) -> Path:
    """Copy the database behind `database_url` to `destination` (a file) and return its path."""
    url = make_url(database_url)
    destination.parent.mkdir(parents=True, exist_ok=True)
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:":
            raise BackupError("an in-memory SQLite database cannot be backed up")
        source = sqlite3.connect(f"file:{url.database}?mode=ro", uri=True)
        target = sqlite3.connect(destination)
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
        return destination
    if url.get_backend_name() == "postgresql":
        pg_dump = shutil.which("pg_dump")
        if pg_dump is None:
            raise BackupError(
                "pg_dump not found on PATH; install the PostgreSQL client "
                "(apt-get install postgresql-client) and try again"
            )
        plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
        command = [pg_dump, "--format=custom", f"--file={destination}"]
        command += [
            f"--schema={schema}" for schema in search_path_schemas(url.query.get("options"))
        ]
        result = subprocess.run([*command, plain], capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise BackupError(f"pg_dump failed: {result.stderr.strip()}")
        return destination
    raise BackupError(f"backups of {url.get_backend_name()} databases are not supported")
