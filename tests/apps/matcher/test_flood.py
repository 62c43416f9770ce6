"""Flood quarantine: an entry that matches more distinct uploads than the limit within the window
is set aside until released, counted correctly by several processes at once."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from stopframe.apps.matcher.flood import FloodGuard
from stopframe.apps.matcher.state import MatcherState, state_path

ENTRY = "reg:1234"


@pytest.fixture
def state(tmp_path: Path) -> Iterator[MatcherState]:
    with MatcherState.open(state_path(tmp_path)) as opened:
        yield opened


def observations(state: MatcherState, entry: str = ENTRY) -> int:
    return int(
        state.fetchone("SELECT count(*) FROM flood_observations WHERE entry = ?", (entry,))[0]
    )


def test_fifty_distinct_uploads_pass_and_the_fifty_first_quarantines(state: MatcherState) -> None:
    guard = FloodGuard(state, limit=50, window_s=3600)
    for n in range(50):
        assert not guard.observe(ENTRY, f"upload-{n}", now=1000.0 + n)
    assert not guard.is_quarantined(ENTRY)
    assert guard.quarantined() == []
    assert guard.observe(ENTRY, "upload-50", now=1100.0)
    assert guard.is_quarantined(ENTRY)
    (held,) = guard.quarantined()
    assert (held.entry, held.since, held.count) == (ENTRY, 1100.0, 51)
    assert guard.observe(ENTRY, "upload-0", now=1101.0)  # stays quarantined
    assert not guard.observe("reg:other", "upload-0", now=1101.0)  # other entries unaffected


def test_repeats_of_one_upload_never_quarantine(state: MatcherState) -> None:
    guard = FloodGuard(state, limit=50)
    for n in range(500):
        assert not guard.observe(ENTRY, "the-same-upload", now=float(n))
    assert not guard.is_quarantined(ENTRY)
    assert observations(state) == 1


def test_release_lifts_it_and_only_later_uploads_count_again(state: MatcherState) -> None:
    guard = FloodGuard(state, limit=5, window_s=3600)
    for n in range(6):
        guard.observe(ENTRY, f"before-{n}", now=100.0 + n)
    assert guard.is_quarantined(ENTRY)
    assert guard.release(ENTRY, by="operator@example.org", now=200.0)
    assert not guard.is_quarantined(ENTRY)
    assert guard.quarantined() == []
    assert not guard.release(ENTRY, by="operator@example.org", now=201.0)
    by = state.fetchone("SELECT released_by FROM quarantine WHERE entry = ?", (ENTRY,))[0]
    assert by == "operator@example.org"
    for n in range(5):  # the six before the release no longer count
        assert not guard.observe(ENTRY, f"after-{n}", now=300.0 + n)
    assert guard.observe(ENTRY, "after-5", now=400.0)
    assert guard.quarantined()[0].since == 400.0


def test_an_upload_seen_before_the_release_counts_when_seen_again_after(
    state: MatcherState,
) -> None:
    guard = FloodGuard(state, limit=2, window_s=3600)
    for n in range(3):
        guard.observe(ENTRY, f"u{n}", now=10.0 + n)
    guard.release(ENTRY, by="ops", now=20.0)
    assert not guard.observe(ENTRY, "u0", now=30.0)
    assert not guard.observe(ENTRY, "u1", now=31.0)
    assert guard.observe(ENTRY, "u2", now=32.0)


def test_uploads_older_than_the_window_no_longer_count(state: MatcherState) -> None:
    guard = FloodGuard(state, limit=50, window_s=3600)
    for n in range(50):
        guard.observe(ENTRY, f"old-{n}", now=float(n))
    assert not guard.observe(ENTRY, "new-0", now=3650.0)  # old-0 .. old-49 left the window
    assert not guard.is_quarantined(ENTRY)


def test_the_window_slides(state: MatcherState) -> None:
    guard = FloodGuard(state, limit=50, window_s=3600)
    for n in range(30):
        guard.observe(ENTRY, f"early-{n}", now=0.0)
    for n in range(20):
        assert not guard.observe(ENTRY, f"later-{n}", now=1800.0)
    assert guard.observe(ENTRY, "later-20", now=3599.0)  # all 51 within the hour


def test_old_observations_are_pruned(state: MatcherState) -> None:
    guard = FloodGuard(state, limit=50, window_s=100)
    for n in range(10):
        guard.observe(f"reg:{n}", "u", now=0.0)
    guard.observe("reg:fresh", "u", now=1000.0)
    assert state.fetchall("SELECT entry FROM flood_observations") == [("reg:fresh",)]


def test_two_connections_count_together(tmp_path: Path) -> None:
    with (
        MatcherState.open(state_path(tmp_path)) as one,
        MatcherState.open(state_path(tmp_path)) as two,
    ):
        guards = [FloodGuard(one, limit=50), FloodGuard(two, limit=50)]
        results = [guards[n % 2].observe(ENTRY, f"u{n}", now=100.0 + n) for n in range(51)]
        assert results == [False] * 50 + [True]
        assert guards[0].is_quarantined(ENTRY) and guards[1].is_quarantined(ENTRY)


def test_threads_hammering_count_every_distinct_upload_once(tmp_path: Path) -> None:
    states = [MatcherState.open(state_path(tmp_path)) for _ in range(2)]
    try:
        guards = [FloodGuard(state, limit=50) for state in states]

        def hammer(n: int) -> None:
            guard = guards[n % 2]
            for i in range(40):  # threads overlap: 4 x 40 observations, 100 distinct uploads
                guard.observe(ENTRY, f"u{(n * 20 + i) % 100}")

        threads = [threading.Thread(target=hammer, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        (held,) = guards[0].quarantined()
        assert held.count == 51
        assert observations(states[0]) == 51
    finally:
        for state in states:
            state.close()


OBSERVER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from stopframe.apps.matcher.flood import FloodGuard
    from stopframe.apps.matcher.state import MatcherState

    path, (limit, first, last) = Path(sys.argv[1]), map(int, sys.argv[2:])
    with MatcherState.open(path) as state:
        guard = FloodGuard(state, limit=limit)
        for n in range(first, last):
            guard.observe("reg:1234", f"u{n}")
            guard.observe("reg:1234", f"u{n}")  # a repeat never counts
    """
)


def run_observers(path: Path, limit: int) -> None:
    """Two processes observe overlapping uploads u0..u59 and u30..u89 (90 distinct) at once."""
    processes = [
        subprocess.Popen([sys.executable, "-c", OBSERVER, str(path), str(limit), first, last])
        for first, last in (("0", "60"), ("30", "90"))
    ]
    assert [process.wait(timeout=120) for process in processes] == [0, 0]


def test_two_processes_count_each_distinct_upload_once(tmp_path: Path) -> None:
    path = state_path(tmp_path)
    MatcherState.open(path).close()
    run_observers(path, limit=1000)
    with MatcherState.open(path) as state:
        assert observations(state) == 90
        assert not FloodGuard(state).is_quarantined(ENTRY)


def test_two_processes_quarantine_at_exactly_the_limit(tmp_path: Path) -> None:
    path = state_path(tmp_path)
    MatcherState.open(path).close()
    run_observers(path, limit=50)
    with MatcherState.open(path) as state:
        (held,) = FloodGuard(state).quarantined()
        assert held.count == 51
        assert observations(state) == 51
