"""Restore a SQLite registry from a backup without breaking its consumers.

The backup's manifest and checksums are checked, and its database against the manifest (registry
id, epoch, sequence). The restored database gets a higher epoch, so every consumer drops what it
holds and takes a new snapshot. When the database being replaced can still be read, what it
knew and the backup did not is carried over: API keys it had revoked stay revoked, entries it
had withdrawn stay withdrawn (with new withdraw changes in the feed), and the feed sequence goes
on above its last one, so no sequence number is ever reused under one registry id. Entry ids go
on above its highest too (a matcher's queued report names an entry by id): SQLite gives a new
row the highest id + 1, so that entry is kept, withdrawn, as a tombstone. The replaced
database is kept beside the new one; signing keys missing from the data dir are put back.

The registry service must be stopped while this runs.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from stopframe.apps.registry import migrate
from stopframe.apps.registry.backup import (
    KEY_PATTERN,
    MANIFEST_FORMAT,
    BackupError,
    keys_folder,
    manifest_path,
    read_identity,
    sha256_of,
)
from stopframe.apps.registry.db import open_database
from stopframe.apps.registry.models import ApiKey, Bank, Counter, Entry, Item
from stopframe.apps.registry.services import feed
from stopframe.lists.canonical import utcnow
from stopframe.lists.documents import WITHDRAW
from stopframe.lists.signing import is_retired


@dataclass
class Newer:
    """What the database being replaced knew: its identity and its revocations and
    withdrawals."""

    registry_id: str
    epoch: int
    sequence: int
    revoked: dict[str, datetime]  # API key id -> revoked at
    withdrawn: dict[tuple[int, str], tuple[datetime, str | None]]  # (id, digest) -> when, by
    items: dict[tuple[int, str], datetime]  # withdrawn items: (id, fingerprint) -> when
    last_entry: LastEntry | None  # the entry of the highest id


@dataclass
class LastEntry:
    """The replaced database's entry of the highest id, with its bank's columns."""

    id: int
    owner: str
    kind: str
    value: str
    digest: str
    quality: int | None
    created_at: datetime
    bank: dict[str, Any]  # name, kinds, distance_threshold, verified, action, created_at


@dataclass
class Restored:
    """What a restore did, for the operator to read."""

    registry_id: str
    epoch: int
    sequence: int
    revoked: list[str] = field(default_factory=list)
    withdrawn: list[int] = field(default_factory=list)
    keys_added: list[str] = field(default_factory=list)
    replaced: Path | None = None
    newer_read: bool = False


def restore(backup: Path, database_url: str, signing_dir: Path, force: bool = False) -> Restored:
    """Restore the SQLite backup `backup` (with its keys and manifest) as the database behind
    `database_url` and the keys of `signing_dir`; BackupError says why nothing was changed."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        raise BackupError(
            "restore handles SQLite registries; restore a PostgreSQL archive with pg_restore "
            "(see docs/operations.md)"
        )
    target = Path(url.database)
    manifest = _checked_manifest(backup)
    newer = _read_newer(target)
    if newer is not None and newer.registry_id != manifest["registry_id"] and not force:
        raise BackupError(
            f"the backup is of registry {manifest['registry_id']}, the data dir holds registry "
            f"{newer.registry_id}; pass --force to replace it anyway"
        )
    _check_keys(backup, signing_dir, manifest)
    work = target.with_name(target.name + ".restoring")
    try:
        os.close(os.open(work, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        raise BackupError(f"{work} exists: an earlier restore stopped; remove it first") from None
    try:
        shutil.copyfile(backup, work)
        restored = _carry_over(work, manifest, newer)
    except BaseException:
        work.unlink(missing_ok=True)
        raise
    restored.replaced = _swap(target, work)
    restored.keys_added = _put_keys(backup, signing_dir)
    return restored


def _checked_manifest(backup: Path) -> dict[str, Any]:
    """The backup's manifest, its database file's checksum checked."""
    path = manifest_path(backup)
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise BackupError(f"{path}: no readable backup manifest ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        raise BackupError(f"{path}: not a backup manifest of format {MANIFEST_FORMAT}")
    if not backup.is_file() or sha256_of(backup) != manifest["database"]["sha256"]:
        raise BackupError(f"{backup}: missing, or its checksum is not the manifest's")
    return manifest


def _check_keys(backup: Path, signing_dir: Path, manifest: dict[str, Any]) -> None:
    """Check the backup's key files against the manifest, and that none differs from a key of
    the same name in the data dir (it would not be the same key)."""
    folder = keys_folder(backup)
    found = {p.name: sha256_of(p) for p in folder.glob(KEY_PATTERN)}
    if found != manifest["keys"]:
        raise BackupError(f"{folder}: the signing keys are not the ones the manifest lists")
    for name, digest in found.items():
        present = signing_dir / name
        if present.exists() and sha256_of(present) != digest:
            raise BackupError(
                f"{present} is another key than the backup's {name}; move it away first"
            )


def _read_newer(target: Path) -> Newer | None:
    """What the database being replaced knew, or None when there is none or it cannot be read."""
    if not target.is_file() or target.stat().st_size == 0:
        return None
    try:
        db = sqlite3.connect(f"file:{target}?mode=ro", uri=True)
    except sqlite3.Error:
        return None
    try:
        counters = dict(db.execute("SELECT name, value FROM counters").fetchall())
        revoked = db.execute(
            "SELECT key_id, revoked_at FROM api_keys WHERE revoked_at IS NOT NULL"
        ).fetchall()
        withdrawn = db.execute(
            "SELECT id, digest, withdrawn_at, withdrawn_by FROM entries "
            "WHERE withdrawn_at IS NOT NULL"
        ).fetchall()
        items = db.execute(
            "SELECT id, fingerprint, withdrawn_at FROM items WHERE withdrawn_at IS NOT NULL"
        ).fetchall()
        last = db.execute(
            "SELECT e.id, e.owner, e.kind, e.value, e.digest, e.quality, e.created_at, b.name, "
            "b.kinds, b.distance_threshold, b.verified, b.action, b.created_at "
            "FROM entries e JOIN banks b ON b.id = e.bank_id ORDER BY e.id DESC LIMIT 1"
        ).fetchone()
    except sqlite3.Error:
        return None
    finally:
        db.close()
    if "registry_id" not in counters:
        return None
    return Newer(
        feed.registry_id_text(counters["registry_id"]),
        int(counters["epoch"]),
        int(counters["feed"]),
        {key_id: _moment(at) for key_id, at in revoked},
        {(eid, digest): (_moment(at), by) for eid, digest, at, by in withdrawn},
        {(iid, fingerprint): _moment(at) for iid, fingerprint, at in items},
        None if last is None else _last_entry(last),
    )


def _last_entry(row: Any) -> LastEntry:
    """A LastEntry from the row of the query in `_read_newer`."""
    name, kinds, threshold, verified, action, created = row[7:]
    bank = {
        "name": name,
        "kinds": kinds,
        "distance_threshold": threshold,
        "verified": bool(verified),
        "action": action,
        "created_at": _moment(created),
    }
    entry_id, owner, kind, value, digest, quality, created_at = row[:7]
    return LastEntry(entry_id, owner, kind, value, digest, quality, _moment(created_at), bank)


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _carry_over(work: Path, manifest: dict[str, Any], newer: Newer | None) -> Restored:
    """Bring the restored copy to the newest schema, check it against its manifest, raise its
    epoch and re-apply what the newer database knew."""
    db = open_database(f"sqlite:///{work}")
    try:
        found = read_identity(db.url)
        registry_id = feed.registry_id_text(found["registry_id"])
        if (registry_id, found["epoch"], found["sequence"]) != (
            manifest["registry_id"],
            manifest["epoch"],
            manifest["sequence"],
        ):
            raise BackupError("the backup's database does not match its manifest")
        migrate.upgrade(db.writer)
        same = newer is not None and newer.registry_id == registry_id
        epoch = max(found["epoch"], newer.epoch if newer else 0) + 1
        restored = Restored(registry_id, epoch, found["sequence"], newer_read=newer is not None)
        with db.write() as session:
            _set_counter(session, feed.EPOCH_COUNTER, epoch)
            if same and newer is not None:
                _set_counter(session, "feed", max(found["sequence"], newer.sequence))
                restored.revoked = _revoke(session, newer)
                restored.withdrawn = _withdraw(session, newer)
                _keep_last_entry(session, newer.last_entry)
            restored.sequence = feed.current_sequence(session)
    finally:
        db.dispose()
    return restored


def _set_counter(session: Session, name: str, value: int) -> None:
    session.execute(update(Counter).where(Counter.name == name).values(value=value))


def _revoke(session: Session, newer: Newer) -> list[str]:
    """Revoke again the API keys the newer database had revoked; return their ids."""
    again = []
    for key in session.execute(select(ApiKey).where(ApiKey.revoked_at.is_(None))).scalars():
        if key.key_id in newer.revoked:
            key.revoked_at = newer.revoked[key.key_id]
            again.append(key.key_id)
    return sorted(again)


def _withdraw(session: Session, newer: Newer) -> list[int]:
    """Withdraw again the items and entries the newer database had withdrawn (same id and
    content), with a withdraw change for each entry; return the entries' ids."""
    for item in session.execute(select(Item).where(Item.withdrawn_at.is_(None))).scalars():
        item.withdrawn_at = newer.items.get((item.id, item.fingerprint), item.withdrawn_at)
    again = []
    for entry in session.execute(select(Entry).where(Entry.withdrawn_at.is_(None))).scalars():
        known = newer.withdrawn.get((entry.id, entry.digest))
        if known is not None:
            entry.withdrawn_at, entry.withdrawn_by = known
            again.append(entry.id)
    session.flush()
    again.sort()
    feed.append_changes(session, again, WITHDRAW)
    return again


def _keep_last_entry(session: Session, last: LastEntry | None) -> None:
    """Put the replaced database's highest-id entry back, withdrawn, when the backup lacks it,
    so that SQLite numbers new entries above every id the replaced database gave out. It goes to
    its own bank, which is put back too (with no active entry) when the backup lacks it."""
    highest = session.execute(select(func.max(Entry.id))).scalar() or 0
    if last is None or last.id <= highest:
        return
    bank = session.execute(select(Bank).where(Bank.name == last.bank["name"])).scalar()
    if bank is None:
        bank = Bank(**last.bank)
        session.add(bank)
        session.flush()
    session.add(
        Entry(
            id=last.id,
            bank_id=bank.id,
            owner=last.owner,
            kind=last.kind,
            value=last.value,
            digest=last.digest,
            quality=last.quality,
            created_at=last.created_at,
            withdrawn_at=utcnow(),
            withdrawn_by="restore",
        )
    )
    session.flush()


def _swap(target: Path, work: Path) -> Path | None:
    """Put the restored copy in place; the replaced database (with its WAL) is kept beside it
    under a `.before-restore-<time>` name, which is returned."""
    kept = None
    if target.exists():
        suffix = ".before-restore-" + utcnow().strftime("%Y%m%dT%H%M%SZ")
        kept = target.with_name(target.name + suffix)
        for extra in ("", "-wal", "-shm"):
            part = target.with_name(target.name + extra)
            if part.exists():
                part.rename(kept.with_name(kept.name + extra))
    work.rename(target)
    return kept


def _put_keys(backup: Path, signing_dir: Path) -> list[str]:
    """Copy the backup's signing keys the data dir lacks (0700 folder, 0600 keys), except those
    it lists as retired; keys only in the data dir are kept (consumers may have pinned them)."""
    signing_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    added = []
    for key in sorted(keys_folder(backup).glob(KEY_PATTERN)):
        present = signing_dir / key.name
        if present.exists() or is_retired(signing_dir, key.read_bytes()):
            continue
        fd = os.open(present, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(key.read_bytes())
        added.append(key.name)
    return added
