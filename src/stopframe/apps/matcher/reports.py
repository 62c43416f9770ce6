"""Match reports back to the registry: deduplicated, batched, and retried until answered.

Each report carries a key derived from what it says (source, entry, upload, action), stored
under a unique constraint: the same upload matching the same entry again is not reported twice,
and a batch resent after a lost answer is recognised by the registry as duplicates. The upload's
fingerprint only feeds the key; it is not stored and never sent.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from stopframe.apps.matcher.state import MatcherState, backoff_delay
from stopframe.errors import StopframeError
from stopframe.lists.canonical import iso

ACTIONS = frozenset({"block", "review", "log", "none"})  # what the registry accepts as done
BACKOFF_BASE_S = 2.0
BACKOFF_CAP_S = 600.0

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SendResult:
    """What one `send_pending` call did; `error` is set when a batch failed and waits."""

    sent: int = 0
    accepted: int = 0
    duplicates: int = 0
    unknown: int = 0
    failed: int = 0
    error: str | None = None


def report_key(source: str, entry_id: int, upload: str, action: str) -> str:
    """The idempotency key of a report: the same facts always give the same key."""
    return hashlib.sha256(f"{source}|{entry_id}|{upload}|{action}".encode()).hexdigest()[:32]


def enqueue_report(
    state: MatcherState,
    source: str,
    entry_id: int,
    action: str,
    upload: str,
    matched_at: datetime,
    now: float | None = None,
) -> bool:
    """Queue a report that `upload` matched entry `entry_id` of `source` and `action` was taken;
    False when the same report was queued before (then nothing changes)."""
    return enqueue_reports(state, [(source, entry_id, action, upload)], matched_at, now) == 1


def enqueue_reports(
    state: MatcherState,
    items: Iterable[tuple[str, int, str, str]],
    matched_at: datetime,
    now: float | None = None,
) -> int:
    """`enqueue_report` for each (source, entry id, action, upload) of one request, in one
    transaction; returns how many were new."""
    now = time.time() if now is None else now
    rows = []
    for source, entry_id, action, upload in items:
        if action not in ACTIONS:
            raise ValueError(f"action must be one of {', '.join(sorted(ACTIONS))}; got {action!r}")
        key = report_key(source, entry_id, upload, action)
        rows.append((key, source, entry_id, action, iso(matched_at), now, now))
    added = 0
    with state.transaction() as db:
        for row in rows:
            cursor = db.execute(
                "INSERT INTO report_outbox (key, source, entry_id, action, matched_at,"
                " created_at, next_try) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING",
                row,
            )
            added += cursor.rowcount
    return added


def pending_count(state: MatcherState, source: str) -> int:
    """How many reports for `source` are not sent yet."""
    row = state.fetchone(
        "SELECT count(*) FROM report_outbox WHERE source = ? AND sent_at IS NULL", (source,)
    )
    return int(row[0])


def oldest_pending_age(state: MatcherState, source: str, now: float | None = None) -> float | None:
    """Seconds the oldest unsent report for `source` has waited, or None when none waits."""
    now = time.time() if now is None else now
    row = state.fetchone(
        "SELECT min(created_at) FROM report_outbox WHERE source = ? AND sent_at IS NULL",
        (source,),
    )
    return None if row[0] is None else now - float(row[0])


def next_due(state: MatcherState, source: str) -> float | None:
    """When (unix seconds) the next unsent report for `source` may be tried, or None."""
    row = state.fetchone(
        "SELECT min(next_try) FROM report_outbox WHERE source = ? AND sent_at IS NULL",
        (source,),
    )
    return None if row[0] is None else float(row[0])


class ReportSender:
    """Sends a source's due reports in batches through `send_batch`, the registry client's
    `report_batch` (`POST /v1/reports/batch`), which answers accepted, duplicates, unknown."""

    def __init__(
        self,
        state: MatcherState,
        send_batch: Callable[[list[dict[str, Any]]], dict[str, Any]],
        batch: int = 500,
    ) -> None:
        self.state = state
        self.send_batch = send_batch
        self.batch = batch

    def send_pending(self, source: str, now: float | None = None) -> SendResult:
        """Send every due report for `source`, oldest first, a batch at a time; stop at the
        first failed batch, which waits (backing off) for a later call."""
        now = time.time() if now is None else now
        sent = accepted = duplicates = unknown_count = 0
        while rows := self.state.fetchall(
            "SELECT id, key, entry_id, action, matched_at, attempts FROM report_outbox"
            " WHERE source = ? AND sent_at IS NULL AND next_try <= ? ORDER BY id LIMIT ?",
            (source, now, self.batch),
        ):
            reports = [
                {"key": key, "entry_id": entry_id, "action": action, "matched_at": matched_at}
                for _, key, entry_id, action, matched_at, _ in rows
            ]
            try:
                answer = self.send_batch(reports)
            except (StopframeError, httpx.HTTPError) as exc:
                error = f"{type(exc).__name__}: {exc}"
                self._postpone(rows, error, now)
                log.warning("%d reports to %s wait for a retry: %s", len(rows), source, error)
                return SendResult(
                    sent, accepted, duplicates, unknown_count, failed=len(rows), error=error
                )
            unknown = {int(entry_id) for entry_id in answer.get("unknown", [])}
            self._mark_sent(rows, unknown, now)
            sent += len(rows)
            accepted += int(answer.get("accepted", 0))
            duplicates += int(answer.get("duplicates", 0))
            unknown_count += sum(1 for row in rows if row[2] in unknown)
        return SendResult(sent, accepted, duplicates, unknown_count)

    def _mark_sent(self, rows: list[Any], unknown: set[int], now: float) -> None:
        """Close the batch's reports; those on withdrawn entries are dropped as `unknown`."""
        with self.state.transaction() as db:
            db.executemany(
                "UPDATE report_outbox SET sent_at = ?, outcome = ? WHERE id = ?",
                ((now, "unknown" if row[2] in unknown else "sent", row[0]) for row in rows),
            )

    def _postpone(self, rows: list[Any], error: str, now: float) -> None:
        """Count a failed try on each report of the batch and set its next try."""
        with self.state.transaction() as db:
            db.executemany(
                "UPDATE report_outbox SET attempts = ?, next_try = ?, last_error = ? WHERE id = ?",
                (
                    (
                        row[5] + 1,
                        now + backoff_delay(row[5] + 1, BACKOFF_BASE_S, BACKOFF_CAP_S),
                        error,
                        row[0],
                    )
                    for row in rows
                ),
            )
