"""Flood quarantine: a list entry that matches too many different uploads is set aside.

A poisoned or degenerate hash (a blank frame, a logo) would otherwise block thousands of innocent
uploads. Each entry counts the distinct uploads it matched within a sliding window; past the
limit it is quarantined until an operator releases it, and the caller demotes its decision from
block to review. Counting and quarantining happen in one write transaction, so any number of
processes observing at once count every upload exactly once.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass

from stopframe.apps.matcher.state import MatcherState

PRUNE_EVERY_S = 60.0


@dataclass(frozen=True)
class Quarantine:
    """An entry set aside: since when (unix seconds) and how many distinct uploads it matched."""

    entry: str
    since: float
    count: int


class FloodGuard:
    """Counts distinct uploads per list entry and quarantines entries that match too many."""

    def __init__(self, state: MatcherState, limit: int = 50, window_s: float = 3600) -> None:
        self.state = state
        self.limit = limit
        self.window_s = window_s
        self._last_prune = float("-inf")

    def observe(self, entry: str, upload: str, now: float | None = None) -> bool:
        """Record that `entry` matched the upload fingerprinted `upload`; True when the entry is
        quarantined (now, or from before), False while it may act normally."""
        return entry in self.observe_many([(entry, upload)], now)

    def observe_many(self, pairs: Iterable[tuple[str, str]], now: float | None = None) -> set[str]:
        """`observe` for every (entry, upload) pair of one request, in one transaction; returns
        the entries that are quarantined."""
        now = time.time() if now is None else now
        quarantined: set[str] = set()
        with self.state.transaction() as db:
            for entry, upload in pairs:
                if self._observe(db, entry, upload, now):
                    quarantined.add(entry)
            if now - self._last_prune >= PRUNE_EVERY_S:
                db.execute("DELETE FROM flood_observations WHERE at < ?", (now - self.window_s,))
                self._last_prune = now
        return quarantined

    def _observe(self, db: sqlite3.Connection, entry: str, upload: str, now: float) -> bool:
        row = db.execute("SELECT released_at FROM quarantine WHERE entry = ?", (entry,)).fetchone()
        if row is not None and row[0] is None:
            return True
        db.execute(
            "INSERT INTO flood_observations (entry, upload, at) VALUES (?, ?, ?)"
            " ON CONFLICT (entry, upload) DO UPDATE SET at = max(at, excluded.at)",
            (entry, upload, now),
        )
        counted_from = max(now - self.window_s, row[0] if row is not None else float("-inf"))
        (count,) = db.execute(
            "SELECT count(*) FROM flood_observations WHERE entry = ? AND at >= ?",
            (entry, counted_from),
        ).fetchone()
        if count > self.limit:
            db.execute(
                "INSERT OR REPLACE INTO quarantine (entry, since, count) VALUES (?, ?, ?)",
                (entry, now, count),
            )
        return bool(count > self.limit)

    def is_quarantined(self, entry: str) -> bool:
        """True while `entry` is quarantined and not released."""
        row = self.state.fetchone(
            "SELECT 1 FROM quarantine WHERE entry = ? AND released_at IS NULL", (entry,)
        )
        return row is not None

    def release(self, entry: str, by: str, now: float | None = None) -> bool:
        """Lift the quarantine of `entry` on an operator's word (`by` names them); True when it
        was quarantined. Only uploads observed from now on count towards a new one."""
        now = time.time() if now is None else now
        with self.state.transaction() as db:
            cursor = db.execute(
                "UPDATE quarantine SET released_at = ?, released_by = ?"
                " WHERE entry = ? AND released_at IS NULL",
                (now, by, entry),
            )
        return cursor.rowcount > 0

    def quarantined(self) -> list[Quarantine]:
        """The entries quarantined now, oldest first."""
        rows = self.state.fetchall(
            "SELECT entry, since, count FROM quarantine WHERE released_at IS NULL ORDER BY since"
        )
        return [Quarantine(*row) for row in rows]
