"""The matcher's state file: its header marks, refusal of other files, the decision log, and
transactions shared by several connections."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from stopframe.apps.matcher.state import (
    APPLICATION_ID,
    SCHEMA_VERSION,
    MatcherState,
    backoff_delay,
    state_path,
)
from stopframe.errors import ConfigError


@pytest.fixture
def state(tmp_path: Path) -> Iterator[MatcherState]:
    with MatcherState.open(state_path(tmp_path)) as opened:
        yield opened


def test_a_new_file_carries_the_marks_and_runs_in_wal(tmp_path: Path) -> None:
    path = state_path(tmp_path)
    assert path.name == "matcher.sqlite"
    with MatcherState.open(path) as state:
        assert state.fetchone("PRAGMA journal_mode")[0] == "wal"
        assert state.fetchone("PRAGMA synchronous")[0] == 1  # NORMAL
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    db.close()
    assert {
        "api_keys",
        "decisions",
        "flood_observations",
        "quarantine",
        "report_outbox",
        "webhook_outbox",
        "webhook_dead_letters",
    } <= tables


def test_reopening_keeps_what_was_written(tmp_path: Path) -> None:
    with MatcherState.open(state_path(tmp_path)) as state:
        state.log_decision("req-1", "block", [])
    with MatcherState.open(state_path(tmp_path)) as state:
        assert [d.request_id for d in state.decisions()] == ["req-1"]


def test_another_sqlite_database_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE mine (x)")
    db.commit()
    db.close()
    with pytest.raises(ConfigError, match="other.sqlite.*another SQLite database"):
        MatcherState.open(path)
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    db.close()


def test_a_file_that_is_not_sqlite_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("plain words, not a database " * 10)
    with pytest.raises(ConfigError, match="notes.txt: not a matcher state file"):
        MatcherState.open(path)


def test_a_newer_layout_is_refused(tmp_path: Path) -> None:
    path = state_path(tmp_path)
    MatcherState.open(path).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(ConfigError, match=f"layout {SCHEMA_VERSION + 1}"):
        MatcherState.open(path)


def test_the_decision_log_reads_back_in_order_and_pages(state: MatcherState) -> None:
    at = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    matches = [{"entry": "reg:7", "distance": 3, "bank": "verified"}]
    first = state.log_decision("req-1", "block", matches, content_id="upload-9", at=at)
    second = state.log_decision("req-2", "none", [])
    assert second > first
    one = state.decisions()[0]
    assert (one.id, one.at, one.request_id, one.content_id, one.decision, one.matches) == (
        first,
        "2024-05-01T12:00:00Z",
        "req-1",
        "upload-9",
        "block",
        matches,
    )
    assert state.decisions()[1].content_id is None
    assert [d.request_id for d in state.decisions(limit=1)] == ["req-1"]
    assert [d.request_id for d in state.decisions(after_id=first)] == ["req-2"]


def test_a_failed_transaction_leaves_nothing(state: MatcherState) -> None:
    with pytest.raises(RuntimeError), state.transaction() as db:
        db.execute(
            "INSERT INTO decisions (at, request_id, decision, matches) VALUES ('x', 'r', 'd', '[]')"
        )
        raise RuntimeError("stop")
    assert state.decisions() == []


def test_two_connections_see_each_others_writes(tmp_path: Path) -> None:
    with (
        MatcherState.open(state_path(tmp_path)) as one,
        MatcherState.open(state_path(tmp_path)) as two,
    ):
        one.log_decision("from-one", "review", [])
        two.log_decision("from-two", "review", [])
        assert [d.request_id for d in one.decisions()] == ["from-one", "from-two"]


def test_processes_opening_a_new_file_at_once_lay_it_out_once(tmp_path: Path) -> None:
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def open_and_log(n: int) -> None:
        barrier.wait()
        try:
            with MatcherState.open(state_path(tmp_path)) as state:
                state.log_decision(f"req-{n}", "none", [])
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_and_log, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with MatcherState.open(state_path(tmp_path)) as state:
        assert len(state.decisions()) == 4


def test_threads_share_one_state(state: MatcherState) -> None:
    def log_many(n: int) -> None:
        for i in range(50):
            state.log_decision(f"req-{n}-{i}", "none", [])

    threads = [threading.Thread(target=log_many, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(state.decisions(limit=1000)) == 200


def test_backoff_doubles_is_capped_and_jittered() -> None:
    for attempts, full in [(1, 2.0), (2, 4.0), (3, 8.0), (10, 600.0), (500, 600.0)]:
        delays = [backoff_delay(attempts, 2.0, 600.0) for _ in range(200)]
        assert all(full / 2 <= delay <= full for delay in delays)
        assert len(set(delays)) > 1
