"""`run_scan` on the local pool: one row per file in path order, the same rows whatever the
number of workers, matches and decisions from the list store, a resumed scan that redoes only
unfinished shards, a killed worker that loses and duplicates no row, poison and hanging files
recorded and skipped."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from scan_corpus import FILES, SHARD_FILES, scan_options

from stopframe.errors import ConfigError
from stopframe.hashing.files import HashOptions, HashRecord, hash_file
from stopframe.scan import read_rows, run_scan


def root_of(corpus: list[Path]) -> Path:
    return corpus[0].parent.parent


def pictures(corpus: list[Path], count: int) -> list[Path]:
    """The first `count` files that are named .png (named files that are not media are errors,
    while the reference scan met them in a folder and skipped them)."""
    return [path for path in corpus[:count] if path.suffix == ".png"]


def test_rows_cover_every_file_once_in_path_order(
    expected: list[dict[str, Any]], corpus: list[Path]
) -> None:
    paths = [row["path"] for row in expected]
    assert paths == sorted(str(p) for p in corpus)
    by_path = {row["path"]: row for row in expected}
    assert by_path[str(corpus[0])]["decision"] == "block"
    assert by_path[str(corpus[0])]["matches"] == [
        {"source": "lists", "bank": "known", "entry_id": 1, "kind": "md5", "distance": 0}
    ]
    assert by_path[str(corpus[1])]["decision"] == "review"
    copy_of_1 = by_path[str(corpus[49])]
    assert (copy_of_1["decision"], copy_of_1["signals"]) == (
        "review",
        by_path[str(corpus[1])]["signals"],
    )
    assert by_path[str(corpus[5])]["status"] == "error" and by_path[str(corpus[5])]["error"]
    assert by_path[str(corpus[7])]["status"] == "skipped"
    assert {row["decision"] for row in expected} == {"block", "review", "none"}


def test_two_workers_give_the_same_rows(
    tmp_path: Path, corpus: list[Path], store: Path, expected: list[dict[str, Any]]
) -> None:
    seen: list[tuple[int, int]] = []
    options = scan_options(store, jobs=2, progress=lambda done, total: seen.append((done, total)))
    summary = run_scan([root_of(corpus)], tmp_path, options)
    assert (summary.complete, summary.files, summary.ran) == (True, FILES, summary.shards)
    reference = read_rows(tmp_path).column("decision").to_pylist()
    assert summary.decision == {d: reference.count(d) for d in sorted(set(reference))}
    assert sum(summary.status.values()) == FILES
    assert seen[0] == (0, FILES) and seen[-1] == (FILES, FILES) and len(seen) == summary.shards + 1
    assert read_rows(tmp_path).to_pylist() == expected


def test_a_resumed_scan_redoes_no_finished_shard(
    tmp_path: Path, corpus: list[Path], store: Path, expected: list[dict[str, Any]]
) -> None:
    options = scan_options(store, jobs=2)
    first = run_scan([root_of(corpus)], tmp_path, options)
    shards = sorted((tmp_path / "shards").glob("shard-*.parquet"))
    shards[3].unlink()  # as if the scan stopped before shard 3 landed
    shards[5].write_bytes(shards[5].read_bytes()[:-10])  # or left it torn
    kept = {p: p.stat().st_mtime_ns for p in shards if p not in (shards[3], shards[5])}
    second = run_scan([root_of(corpus)], tmp_path, options)
    assert (second.resumed, second.ran) == (first.shards - 2, 2)
    assert {p: p.stat().st_mtime_ns for p in kept} == kept
    assert read_rows(tmp_path).to_pylist() == expected
    third = run_scan([root_of(corpus)], tmp_path, options)
    assert (third.resumed, third.ran) == (first.shards, 0)


def test_a_scan_of_other_files_is_refused_in_the_same_folder(
    tmp_path: Path, corpus: list[Path], store: Path
) -> None:
    run_scan(corpus[:10], tmp_path, scan_options(store))
    with pytest.raises(ConfigError, match="different scan"):
        run_scan(corpus[:11], tmp_path, scan_options(store))
    assert run_scan(corpus[:11], tmp_path, scan_options(store, restart=True)).complete


def slow_hash(path: str, options: HashOptions) -> HashRecord:
    """Hash with a pause, so a worker can be caught mid-shard."""
    time.sleep(0.004)
    return hash_file(path, options)


def kill_one_worker_mid_shard(out: Path, killed: list[int]) -> None:
    """Wait for a shard to be half done, then SIGKILL the worker running it."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not killed:
        for marker in (out / "shards").glob("*.inflight"):
            try:
                pid, number = (int(f) for f in marker.read_text().split())
            except (OSError, ValueError):
                continue
            if number > SHARD_FILES // 2 and pid != os.getpid():
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
                return
        time.sleep(0.01)


def test_a_killed_worker_loses_and_duplicates_no_row(
    tmp_path: Path, corpus: list[Path], store: Path, expected: list[dict[str, Any]]
) -> None:
    killed: list[int] = []
    killer = threading.Thread(target=kill_one_worker_mid_shard, args=(tmp_path, killed))
    killer.start()
    options = scan_options(store, jobs=2, hasher=slow_hash)
    summary = run_scan([root_of(corpus)], tmp_path, options)
    killer.join()
    assert killed and summary.complete
    assert summary.failed_attempts == 1 and summary.poison == []
    rows = read_rows(tmp_path).to_pylist()
    assert len({row["path"] for row in rows}) == len(rows) == FILES
    assert rows == expected


def crash_on_poison(path: str, options: HashOptions) -> HashRecord:
    """A decoder that takes the whole worker down on one file."""
    if path.endswith("000003.png"):
        os._exit(70)
    return hash_file(path, options)


def hang_on_one(path: str, options: HashOptions) -> HashRecord:
    """A decoder that never finishes one file."""
    if path.endswith("000004.png"):
        time.sleep(60)
    return hash_file(path, options)


def test_a_poison_file_is_recorded_and_skipped(
    tmp_path: Path, corpus: list[Path], store: Path, expected: list[dict[str, Any]]
) -> None:
    files = pictures(corpus, 120)
    options = scan_options(store, jobs=2, shard_files=50, hasher=crash_on_poison)
    summary = run_scan(files, tmp_path, options)
    assert summary.complete and summary.poison == [str(corpus[3])]
    assert summary.failed_attempts == 2  # the two deaths that made it poison
    rows = {row["path"]: row for row in read_rows(tmp_path).to_pylist()}
    assert len(rows) == len(files)
    assert rows[str(corpus[3])]["status"] == "error"
    assert "poison" in rows[str(corpus[3])]["error"]
    reference = {row["path"]: row for row in expected}
    assert all(rows[str(p)] == reference[str(p)] for p in files if p != corpus[3])


def test_a_hanging_file_times_out_and_the_scan_goes_on(
    tmp_path: Path, corpus: list[Path], store: Path
) -> None:
    options = scan_options(store, shard_files=50, hasher=hang_on_one, file_timeout_s=0.5)
    started = time.monotonic()
    summary = run_scan(corpus[:60], tmp_path, options)
    assert summary.complete and time.monotonic() - started < 30
    rows = {row["path"]: row for row in read_rows(tmp_path).to_pylist()}
    assert "timed out" in rows[str(corpus[4])]["error"]
    assert rows[str(corpus[5])]["error"] != rows[str(corpus[4])]["error"]


def fail_on_one(path: str, options: HashOptions) -> HashRecord:
    """A bug that fails every attempt of one shard."""
    if path.endswith("000060.png"):
        raise RuntimeError("broken hasher")
    return hash_file(path, options)


def test_a_shard_that_keeps_failing_is_left_unfinished_then_resumed(
    tmp_path: Path, corpus: list[Path], store: Path, expected: list[dict[str, Any]]
) -> None:
    options = scan_options(store, shard_files=50, attempts=2, hasher=fail_on_one)
    files = pictures(corpus, 120)
    summary = run_scan(files, tmp_path, options)
    assert (summary.unfinished, summary.failed_attempts, summary.ran) == ([1], 2, 2)
    again = run_scan(files, tmp_path, scan_options(store, shard_files=50))
    assert (again.complete, again.resumed, again.ran) == (True, 2, 1)
    reference = {row["path"]: row for row in expected}
    assert read_rows(tmp_path).to_pylist() == [reference[str(p)] for p in files]
