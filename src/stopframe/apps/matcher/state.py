"""The matcher's durable operational state: one SQLite file shared by every matcher process.

Each process (the API workers and the one sync/sender process) opens the file with its own
connection; WAL lets readers run beside the one writer, and writes take the lock up front
(BEGIN IMMEDIATE) so two processes never deadlock upgrading a read. Scheduling times (windows,
next tries) are unix seconds; moments that leave the matcher (decision times, match times) are
ISO-8601 UTC text, as they go on the wire.

    with MatcherState.open(state_path(data_dir)) as state:
        state.log_decision("req-1", "review", [{"entry": "reg:12", "distance": 4}])
"""

from __future__ import annotations

import fcntl
import json
import os
import random
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from stopframe.errors import ConfigError
from stopframe.lists.canonical import iso, utcnow

APPLICATION_ID = 0x53464D53  # "SFMS" in the SQLite header marks a matcher state file
SCHEMA_VERSION = 1
FILE_NAME = "matcher.sqlite"
BUSY_TIMEOUT_S = 30

SCHEMA = """
CREATE TABLE api_keys (key_id TEXT PRIMARY KEY, name TEXT NOT NULL,
                       key_hash TEXT NOT NULL UNIQUE, scopes TEXT NOT NULL,
                       created_at REAL NOT NULL, revoked_at REAL);
CREATE TABLE decisions (id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL,
                        request_id TEXT NOT NULL, content_id TEXT, decision TEXT NOT NULL,
                        matches TEXT NOT NULL);
CREATE TABLE flood_observations (entry TEXT NOT NULL, upload TEXT NOT NULL, at REAL NOT NULL,
                                 PRIMARY KEY (entry, upload)) WITHOUT ROWID;
CREATE INDEX flood_observations_by_at ON flood_observations (at);
CREATE TABLE quarantine (entry TEXT PRIMARY KEY, since REAL NOT NULL, count INTEGER NOT NULL,
                         released_at REAL, released_by TEXT);
CREATE TABLE report_outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL UNIQUE,
                            source TEXT NOT NULL, entry_id INTEGER NOT NULL,
                            action TEXT NOT NULL, matched_at TEXT NOT NULL,
                            created_at REAL NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
                            next_try REAL NOT NULL, last_error TEXT,
                            sent_at REAL, outcome TEXT);
CREATE INDEX report_outbox_pending ON report_outbox (source, id) WHERE sent_at IS NULL;
CREATE TABLE webhook_outbox (id TEXT PRIMARY KEY, url TEXT NOT NULL, body BLOB NOT NULL,
                             created_at REAL NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
                             next_try REAL NOT NULL, last_error TEXT);
CREATE INDEX webhook_outbox_due ON webhook_outbox (next_try);
CREATE TABLE webhook_dead_letters (id TEXT PRIMARY KEY, url TEXT NOT NULL, body BLOB NOT NULL,
                                   created_at REAL NOT NULL, attempts INTEGER NOT NULL,
                                   failed_at REAL NOT NULL, last_error TEXT NOT NULL);
"""


@dataclass(frozen=True)
class Decision:
    """One logged decision: what was decided for a request, and on which list entries."""

    id: int
    at: str
    request_id: str
    content_id: str | None
    decision: str
    matches: list[dict[str, Any]]


def state_path(data_dir: Path) -> Path:
    """Where the matcher keeps its state inside its data directory."""
    return data_dir / FILE_NAME


def backoff_delay(attempts: int, base_s: float, cap_s: float) -> float:
    """Seconds to wait after failed try number `attempts`: doubling from `base_s`, capped at
    `cap_s`, then jittered down by up to half so senders that failed together spread out."""
    delay = min(cap_s, base_s * 2.0 ** min(attempts - 1, 60))
    return delay * random.uniform(0.5, 1.0)


class MatcherState:
    """An open state file; one per process, safe to share between its threads."""

    def __init__(self, path: Path, db: sqlite3.Connection) -> None:
        self.path = path
        self._db = db
        self._lock = threading.RLock()
        # Writers of all processes queue on this file lock, which wakes the next one as soon as
        # it is released; SQLite's own busy wait sleeps up to 100 ms between tries instead.
        self._writers = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT, 0o600)

    @classmethod
    def open(cls, path: Path) -> MatcherState:
        """Open the state file at `path`, laying it out on first use; refuses other files."""
        try:
            db = sqlite3.connect(
                path, isolation_level=None, timeout=BUSY_TIMEOUT_S, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise ConfigError(f"{path}: cannot open the matcher state: {exc}") from None
        try:
            db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_S * 1000}")
            _check_or_create(path, db)
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.Error as exc:
            db.close()
            raise ConfigError(f"{path}: not a matcher state file ({exc})") from None
        except ConfigError:
            db.close()
            raise
        return cls(path, db)

    def close(self) -> None:
        """Close this process's connection."""
        with self._lock:
            self._db.close()
            os.close(self._writers)

    def __enter__(self) -> MatcherState:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (BEGIN IMMEDIATE): committed on exit, rolled back on an error."""
        with self._lock:
            fcntl.flock(self._writers, fcntl.LOCK_EX)
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield self._db
                except BaseException:
                    _rollback(self._db)
                    raise
                self._db.execute("COMMIT")
            finally:
                fcntl.flock(self._writers, fcntl.LOCK_UN)

    def fetchall(self, sql: str, args: tuple[Any, ...] = ()) -> list[Any]:
        """Rows of one read statement."""
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def fetchone(self, sql: str, args: tuple[Any, ...] = ()) -> Any:
        """The first row of one read statement, or None."""
        with self._lock:
            return self._db.execute(sql, args).fetchone()

    def log_decision(
        self,
        request_id: str,
        decision: str,
        matches: list[dict[str, Any]],
        content_id: str | None = None,
        at: datetime | None = None,
    ) -> int:
        """Append a decision to the log and return its id. Holds what the caller gives: never
        media, and the upload's own hashes only if the caller puts them in `matches`."""
        with self.transaction() as db:
            cursor = db.execute(
                "INSERT INTO decisions (at, request_id, content_id, decision, matches)"
                " VALUES (?, ?, ?, ?, ?)",
                (
                    iso(at or utcnow()),
                    request_id,
                    content_id,
                    decision,
                    json.dumps(matches, sort_keys=True),
                ),
            )
        return int(cursor.lastrowid or 0)

    def decisions(self, limit: int = 100, after_id: int = 0) -> list[Decision]:
        """Logged decisions in id order, `limit` of them after `after_id` (to page through)."""
        rows = self.fetchall(
            "SELECT id, at, request_id, content_id, decision, matches FROM decisions"
            " WHERE id > ? ORDER BY id LIMIT ?",
            (after_id, limit),
        )
        return [
            Decision(id_, at, request_id, content_id, decision, json.loads(matches))
            for id_, at, request_id, content_id, decision, matches in rows
        ]


def _check_or_create(path: Path, db: sqlite3.Connection) -> None:
    """Lay out an empty file, or refuse one that is not a matcher state of this layout. Runs
    under the write lock, so two processes opening a new file at once create it once."""
    db.execute("BEGIN IMMEDIATE")
    try:
        (application_id,) = db.execute("PRAGMA application_id").fetchone()
        (version,) = db.execute("PRAGMA user_version").fetchone()
        (tables,) = db.execute("SELECT count(*) FROM sqlite_master").fetchone()
        if application_id == 0 and version == 0 and tables == 0:
            db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            for statement in filter(str.strip, SCHEMA.split(";")):
                db.execute(statement)
        elif application_id != APPLICATION_ID:
            raise ConfigError(f"{path}: not a matcher state file (another SQLite database)")
        elif version != SCHEMA_VERSION:
            raise ConfigError(
                f"{path}: matcher state layout {version}; this version reads {SCHEMA_VERSION}"
            )
    except BaseException:
        _rollback(db)
        raise
    db.execute("COMMIT")


def _rollback(db: sqlite3.Connection) -> None:
    """Undo the open transaction, unless SQLite already did (after a full disk, say)."""
    if db.in_transaction:
        db.execute("ROLLBACK")
