"""Online backups: SQLite's backup API (consistent while the service runs), pg_dump for
PostgreSQL. A backup is a new file, readable by its owner only (0600); nothing is overwritten.

Beside the database file DEST go the list-signing keys (`DEST.signing/`, 0700, each key 0600)
and a manifest (`DEST.manifest.json`, 0600): registry id, epoch, feed sequence, time and the
sha256 of every file, which `restore` checks (see `stopframe.apps.registry.restore`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError

from stopframe.apps.registry.services.feed import registry_id_text
from stopframe.errors import StopframeError
from stopframe.lists.canonical import iso, utcnow

MANIFEST_FORMAT = 1
KEY_PATTERN = "ed25519-*.pem"


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


def keys_folder(destination: Path) -> Path:
    """Where a backup's signing keys lie: beside its database file."""
    return destination.with_name(destination.name + ".signing")


def manifest_path(destination: Path) -> Path:
    """Where a backup's manifest lies: beside its database file."""
    return destination.with_name(destination.name + ".manifest.json")


def sha256_of(path: Path) -> str:
    """The sha256 of a file's bytes, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def read_identity(database_url: str) -> dict[str, int]:
    """The counters a manifest records: registry id (as stored), epoch and feed sequence."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT name, value FROM counters")).all()
    except SQLAlchemyError as exc:
        raise BackupError(
            f"cannot read the registry's counters: {exc.__class__.__name__}"
        ) from None
    finally:
        engine.dispose()
    found = {str(name): int(value) for name, value in rows}
    if not {"registry_id", "epoch", "feed"} <= found.keys():
        raise BackupError("the database has no registry id yet; run `stopframe registry migrate`")
    return {"registry_id": found["registry_id"], "epoch": found["epoch"], "sequence": found["feed"]}


def backup(database_url: str, destination: Path, signing_dir: Path | None = None) -> Path:
    """Copy the database behind `database_url` to `destination`, a new file, the signing keys
    of `signing_dir` beside it and a manifest of both, and return its path; on failure nothing
    is left behind."""
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
    for beside in (keys_folder(destination), manifest_path(destination)):
        if beside.exists():
            raise BackupError(f"{beside} already exists; choose a new file name")
    _claim(destination)
    try:
        if pg_dump is None:
            _sqlite_backup(str(url.database), destination)
            identity = read_identity(f"sqlite:///{destination}")
        else:
            identity = read_identity(database_url)  # read first: the dump holds at least this
            _pg_dump(pg_dump, url, destination)
        keys = _copy_keys(signing_dir, keys_folder(destination))
        _write_manifest(destination, identity, keys)
    except BaseException:
        destination.unlink(missing_ok=True)
        manifest_path(destination).unlink(missing_ok=True)
        shutil.rmtree(keys_folder(destination), ignore_errors=True)
        raise
    return destination


def _copy_keys(signing_dir: Path | None, folder: Path) -> dict[str, str]:
    """Copy every signing key into `folder` (new, 0700; each key 0600); return their sha256s."""
    try:
        folder.mkdir(mode=0o700)
    except FileExistsError:
        raise BackupError(f"{folder} already exists; choose a new file name") from None
    copied = {}
    for key in sorted(signing_dir.glob(KEY_PATTERN)) if signing_dir else []:
        data = key.read_bytes()
        fd = os.open(folder / key.name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        copied[key.name] = hashlib.sha256(data).hexdigest()
    return copied


def _write_manifest(destination: Path, identity: dict[str, int], keys: dict[str, str]) -> None:
    """Write the manifest (0600, never over another file) that `restore` checks."""
    manifest: dict[str, Any] = {
        "format": MANIFEST_FORMAT,
        "created_at": iso(utcnow()),
        "registry_id": registry_id_text(identity["registry_id"]),
        "epoch": identity["epoch"],
        "sequence": identity["sequence"],
        "database": {"file": destination.name, "sha256": sha256_of(destination)},
        "keys": keys,
    }
    path = manifest_path(destination)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise BackupError(f"{path} already exists; choose a new file name") from None
    with os.fdopen(fd, "w") as handle:
        json.dump(manifest, handle, indent=1, sort_keys=True)


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
