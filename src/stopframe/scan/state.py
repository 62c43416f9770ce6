"""The checkpoint of a scan: a small SQLite file beside the shards, written only by the driver.

A shard counts as finished when its row is here and its Parquet file still has the recorded
SHA-256; a resumed scan skips exactly those.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from stopframe.errors import ConfigError
from stopframe.scan.rows import file_digest

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS shards (
    id INTEGER PRIMARY KEY, rows INTEGER NOT NULL, sha256 TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS failures (shard INTEGER NOT NULL, error TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS poison (path TEXT PRIMARY KEY, shard INTEGER NOT NULL);
"""


class ScanState:
    """The checkpoint file of the scan in `out`, bound to one scan fingerprint."""

    def __init__(self, out: Path, fingerprint: str) -> None:
        self.out = out
        self._db = sqlite3.connect(out / "state.sqlite", isolation_level=None)
        self._db.executescript(_SCHEMA)
        self._db.execute("PRAGMA synchronous=FULL")
        row = self._db.execute("SELECT value FROM meta WHERE key = 'fingerprint'").fetchone()
        if row is None:
            self._db.execute("INSERT INTO meta VALUES ('fingerprint', ?)", (fingerprint,))
        elif row[0] != fingerprint:
            self._db.close()
            raise ConfigError(
                f"{out} holds a different scan (other files, shard size or lists); "
                "use another folder, or --restart to start this one over"
            )

    def finished(self) -> dict[int, int]:
        """Rows per shard of the shards whose file is present and unchanged."""
        done = {}
        for shard, rows, digest in self._db.execute("SELECT id, rows, sha256 FROM shards"):
            path = self.out / "shards" / f"shard-{shard:05d}.parquet"
            if path.exists() and file_digest(path) == digest:
                done[shard] = rows
        return done

    def finish(self, shard: int, rows: int, digest: str) -> None:
        """Checkpoint a finished shard."""
        self._db.execute("INSERT OR REPLACE INTO shards VALUES (?, ?, ?)", (shard, rows, digest))

    def fail(self, shard: int, error: str) -> None:
        """Record a failed attempt of a shard."""
        self._db.execute("INSERT INTO failures VALUES (?, ?)", (shard, error))

    def add_poison(self, shard: int, paths: tuple[str, ...]) -> None:
        """Record files skipped as poison."""
        self._db.executemany(
            "INSERT OR REPLACE INTO poison VALUES (?, ?)", [(p, shard) for p in paths]
        )

    def failures(self) -> list[tuple[int, str]]:
        """Every failed attempt so far, as (shard, error)."""
        return list(self._db.execute("SELECT shard, error FROM failures ORDER BY rowid"))

    def poison(self) -> list[str]:
        """Every file skipped as poison."""
        return [row[0] for row in self._db.execute("SELECT path FROM poison ORDER BY path")]

    def close(self) -> None:
        """Close the file."""
        self._db.close()
