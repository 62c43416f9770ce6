"""Match reports to the registry: one report per upload and entry, sent in batches under a
stable key, and retried with backoff after a failed send."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from stopframe.apps.matcher.reports import (
    ReportSender,
    SendResult,
    enqueue_report,
    next_due,
    oldest_pending_age,
    pending_count,
    report_key,
)
from stopframe.apps.matcher.state import MatcherState, state_path
from stopframe.errors import RegistryError

SOURCE = "https://registry.example.org"
MATCHED = datetime(2024, 5, 1, 12, 30, tzinfo=UTC)


@pytest.fixture
def state(tmp_path: Path) -> Iterator[MatcherState]:
    with MatcherState.open(state_path(tmp_path)) as opened:
        yield opened


class Registry:
    """Stands in for `RegistryClient.report_batch`: fails the first `failures` calls, then
    answers like `POST /v1/reports/batch`, treating a key it has seen as a duplicate."""

    def __init__(self, failures: int = 0, withdrawn: frozenset[int] = frozenset()) -> None:
        self.failures = failures
        self.withdrawn = withdrawn
        self.calls: list[list[dict[str, Any]]] = []
        self.seen: set[str] = set()

    def __call__(self, reports: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls.append(reports)
        if self.failures:
            self.failures -= 1
            raise RegistryError("registry unreachable")
        fresh = [
            r for r in reports if r["key"] not in self.seen and r["entry_id"] not in self.withdrawn
        ]
        self.seen.update(r["key"] for r in fresh)
        unknown = sorted({r["entry_id"] for r in reports if r["entry_id"] in self.withdrawn})
        return {
            "accepted": len(fresh),
            "duplicates": len(reports) - len(fresh) - len(unknown),
            "unknown": unknown,
        }


def test_the_same_upload_and_entry_is_reported_once(state: MatcherState) -> None:
    assert enqueue_report(state, SOURCE, 7, "block", "sha256-of-upload-a", MATCHED, now=0.0)
    assert not enqueue_report(state, SOURCE, 7, "block", "sha256-of-upload-a", MATCHED, now=5.0)
    assert pending_count(state, SOURCE) == 1
    registry = Registry()
    result = ReportSender(state, registry).send_pending(SOURCE, now=10.0)
    assert result == SendResult(sent=1, accepted=1)
    assert registry.calls == [
        [
            {
                "key": report_key(SOURCE, 7, "sha256-of-upload-a", "block"),
                "entry_id": 7,
                "action": "block",
                "matched_at": "2024-05-01T12:30:00Z",
            }
        ]
    ]
    assert not enqueue_report(state, SOURCE, 7, "block", "sha256-of-upload-a", MATCHED, now=20.0)
    assert ReportSender(state, registry).send_pending(SOURCE, now=30.0) == SendResult()
    assert len(registry.calls) == 1


def test_other_uploads_entries_and_sources_are_separate_reports(state: MatcherState) -> None:
    enqueue_report(state, SOURCE, 7, "block", "upload-a", MATCHED)
    enqueue_report(state, SOURCE, 7, "block", "upload-b", MATCHED)
    enqueue_report(state, SOURCE, 8, "block", "upload-a", MATCHED)
    enqueue_report(state, "https://other.example.org", 7, "block", "upload-a", MATCHED)
    assert pending_count(state, SOURCE) == 3
    assert len({r["key"] for r in _send_all(state, SOURCE)}) == 3


def test_the_key_is_stable_and_the_upload_is_neither_stored_nor_sent(state: MatcherState) -> None:
    key = report_key(SOURCE, 7, "upload-fingerprint-a", "review")
    assert key == report_key(SOURCE, 7, "upload-fingerprint-a", "review")
    assert len(key) == 32 and int(key, 16) >= 0
    enqueue_report(state, SOURCE, 7, "review", "upload-fingerprint-a", MATCHED)
    assert b"upload-fingerprint-a" not in state.path.read_bytes()
    assert "upload-fingerprint-a" not in repr(_send_all(state, SOURCE))


def test_a_failed_send_is_retried_after_its_backoff_with_the_same_key(state: MatcherState) -> None:
    enqueue_report(state, SOURCE, 7, "block", "upload-a", MATCHED, now=0.0)
    registry = Registry(failures=2)
    sender = ReportSender(state, registry)

    first = sender.send_pending(SOURCE, now=100.0)
    assert (first.sent, first.failed) == (0, 1)
    assert first.error is not None and "registry unreachable" in first.error
    assert pending_count(state, SOURCE) == 1
    due = next_due(state, SOURCE)
    assert due is not None and 101.0 <= due <= 102.0  # 2 s, jittered down by up to half
    assert sender.send_pending(SOURCE, now=due - 0.01) == SendResult()
    assert len(registry.calls) == 1

    assert sender.send_pending(SOURCE, now=due).failed == 1
    second_due = next_due(state, SOURCE)
    assert second_due is not None and due + 2.0 <= second_due <= due + 4.0

    assert sender.send_pending(SOURCE, now=second_due) == SendResult(sent=1, accepted=1)
    assert pending_count(state, SOURCE) == 0
    assert len({call[0]["key"] for call in registry.calls}) == 1  # every try, the same key
    attempts = state.fetchone("SELECT attempts FROM report_outbox")[0]
    assert attempts == 2


def test_a_lost_answer_comes_back_as_a_duplicate(state: MatcherState) -> None:
    enqueue_report(state, SOURCE, 7, "block", "upload-a", MATCHED, now=0.0)
    registry = Registry()

    def answer_lost(reports: list[dict[str, Any]]) -> dict[str, Any]:
        registry(reports)  # the registry stores them, but the answer never arrives
        raise httpx.ReadTimeout("timed out")

    assert ReportSender(state, answer_lost).send_pending(SOURCE, now=0.0).failed == 1
    result = ReportSender(state, registry).send_pending(SOURCE, now=1000.0)
    assert result == SendResult(sent=1, duplicates=1)


def test_reports_on_withdrawn_entries_are_dropped_and_counted(state: MatcherState) -> None:
    enqueue_report(state, SOURCE, 7, "block", "upload-a", MATCHED)
    enqueue_report(state, SOURCE, 8, "review", "upload-b", MATCHED)
    registry = Registry(withdrawn=frozenset({8}))
    result = ReportSender(state, registry).send_pending(SOURCE)
    assert result == SendResult(sent=2, accepted=1, unknown=1)
    assert pending_count(state, SOURCE) == 0
    assert state.fetchall("SELECT entry_id, outcome FROM report_outbox ORDER BY entry_id") == [
        (7, "sent"),
        (8, "unknown"),
    ]


def test_reports_go_in_batches_in_order(state: MatcherState) -> None:
    for n in range(1200):
        enqueue_report(state, SOURCE, n, "log", f"upload-{n}", MATCHED, now=0.0)
    registry = Registry()
    result = ReportSender(state, registry, batch=500).send_pending(SOURCE, now=1.0)
    assert result.sent == result.accepted == 1200
    assert [len(call) for call in registry.calls] == [500, 500, 200]
    assert [r["entry_id"] for call in registry.calls for r in call] == list(range(1200))


def test_a_failing_batch_stops_the_round(state: MatcherState) -> None:
    for n in range(3):
        enqueue_report(state, SOURCE, n, "log", f"upload-{n}", MATCHED, now=0.0)
    registry = Registry(failures=5)
    result = ReportSender(state, registry, batch=1).send_pending(SOURCE, now=1.0)
    assert (result.sent, result.failed, len(registry.calls)) == (0, 1, 1)


def test_metrics_say_how_many_wait_and_for_how_long(state: MatcherState) -> None:
    assert pending_count(state, SOURCE) == 0
    assert oldest_pending_age(state, SOURCE, now=50.0) is None
    assert next_due(state, SOURCE) is None
    enqueue_report(state, SOURCE, 1, "block", "upload-a", MATCHED, now=10.0)
    enqueue_report(state, SOURCE, 2, "block", "upload-b", MATCHED, now=20.0)
    assert pending_count(state, SOURCE) == 2
    assert oldest_pending_age(state, SOURCE, now=50.0) == 40.0
    assert oldest_pending_age(state, "https://other.example.org", now=50.0) is None


def test_an_unknown_action_is_refused(state: MatcherState) -> None:
    with pytest.raises(ValueError, match="block, log, none, review"):
        enqueue_report(state, SOURCE, 1, "delete", "upload-a", MATCHED)


def test_two_processes_queue_the_same_report_once(tmp_path: Path) -> None:
    with (
        MatcherState.open(state_path(tmp_path)) as one,
        MatcherState.open(state_path(tmp_path)) as two,
    ):
        assert enqueue_report(one, SOURCE, 7, "block", "upload-a", MATCHED)
        assert not enqueue_report(two, SOURCE, 7, "block", "upload-a", MATCHED)
        assert pending_count(two, SOURCE) == 1


def _send_all(state: MatcherState, source: str) -> list[dict[str, Any]]:
    registry = Registry()
    ReportSender(state, registry).send_pending(source)
    return [report for call in registry.calls for report in call]
