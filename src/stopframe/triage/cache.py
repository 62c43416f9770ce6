"""The hash cache: one SQLite file on the investigator's machine, never in the evidence folders,
holding each file's hashes under the file's identity (device, inode, size, modification time,
path) and the hashing settings. A second run over the same collection reads its hashes from
here; an interrupted run resumes, because records are committed as they arrive.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path
from types import TracebackType

from stopframe.errors import ConfigError
from stopframe.hashing.files import HashRecord
from stopframe.signals import Signal

CACHE_FORMAT = 1  # bump when the record layout or a hashing algorithm changes
_COMMIT_EVERY = 256  # records
_COMMIT_SECONDS = 2.0


def default_cache_path() -> Path:
    """`$XDG_CACHE_HOME/stopframe/triage-cache.sqlite3` (or under ~/.cache)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    return Path(base) / "stopframe" / "triage-cache.sqlite3"


def file_key(path: str, info: os.stat_result, settings: str) -> str:
    """The cache key of one file as it is now: a changed, replaced or moved file misses."""
    return (
        f"{settings}|{info.st_dev}:{info.st_ino}|{info.st_size}|{info.st_mtime_ns}|"
        f"{os.path.realpath(path)}"
    )


def record_to_json(record: HashRecord) -> str:
    """A record as the cache stores it (JSON: no code runs when it is read back)."""
    return json.dumps(
        {
            "path": record.path,
            "status": record.status,
            "media_type": record.media_type,
            "format": record.format,
            "width": record.width,
            "height": record.height,
            "duration_s": record.duration_s,
            "error": record.error,
            "failure": record.failure,
            "sha1": record.sha1,
            "robust_query": record.robust_query,
            "signals": [[s.kind, s.value, s.quality] for s in record.signals],
        },  # fmt: skip
        separators=(",", ":"),
    )


def record_from_json(text: str, path: str) -> HashRecord:
    """A cached record, under the path it has in this run."""
    raw = json.loads(text)
    return HashRecord(
        path=path,
        status=raw["status"],
        media_type=raw["media_type"],
        format=raw["format"],
        width=raw["width"],
        height=raw["height"],
        signals=[Signal(kind, value, quality) for kind, value, quality in raw["signals"]],
        duration_s=raw["duration_s"],
        error=raw["error"],
        failure=raw["failure"],
        sha1=raw["sha1"],
        robust_query=raw["robust_query"],
    )


class HashCache:
    """Cached records by `file_key`; writes are batched and committed every few hundred records
    or seconds, and on close."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS records (key TEXT PRIMARY KEY, record TEXT NOT NULL)"
            )
            os.chmod(path, 0o600)  # hashes of evidence: readable by the investigator only
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(f"{path}: cannot open the triage hash cache: {exc}") from None
        self._pending: list[tuple[str, str]] = []
        self._last_commit = time.monotonic()

    def get(self, key: str, path: str) -> HashRecord | None:
        """The cached record of the file with this key, if there is one."""
        row = self._db.execute("SELECT record FROM records WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        try:
            return record_from_json(row[0], path)
        except (ValueError, KeyError, TypeError):
            return None  # a damaged row is only a miss: the file is hashed again

    def put(self, key: str, record: HashRecord) -> None:
        """Remember a record (a file that could not be read is remembered too, so a second
        run does not stumble on it again; only an unchanged file hits)."""
        self._pending.append((key, record_to_json(record)))
        if (
            len(self._pending) >= _COMMIT_EVERY
            or time.monotonic() - self._last_commit > _COMMIT_SECONDS
        ):
            self.flush()

    def flush(self) -> None:
        """Commit the records put since the last commit."""
        if self._pending:
            with self._db:
                self._db.execute("BEGIN")
                self._db.executemany(
                    "INSERT OR REPLACE INTO records (key, record) VALUES (?, ?)", self._pending
                )
            self._pending.clear()
        self._last_commit = time.monotonic()

    def close(self) -> None:
        self.flush()
        self._db.close()

    def __enter__(self) -> HashCache:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
