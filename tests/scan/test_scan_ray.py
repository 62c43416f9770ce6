"""The Ray runner, on a local Ray started for this module: the same rows as the local pool with
1, 2 and 4 workers, a Ray worker killed mid-shard that loses and duplicates no row, and a resumed
Ray scan that redoes no finished shard. Skipped where Ray is not installed (extra `ray`)."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from scan_corpus import FILES, scan_options

from stopframe.scan import read_rows, run_scan

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'stopframe[ray]')")


@pytest.fixture(scope="module", autouse=True)
def local_ray() -> Iterator[None]:
    ray.init(num_cpus=4, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.mark.parametrize("jobs", [1, 2, 4])
def test_ray_gives_the_rows_of_the_local_pool(
    jobs: int, tmp_path: Path, corpus: list[Path], store: Path, expected: list[dict[str, Any]]
) -> None:
    summary = run_scan(
        [corpus[0].parent.parent], tmp_path, scan_options(store, ray="auto", jobs=jobs)
    )
    assert summary.complete and summary.files == FILES
    assert read_rows(tmp_path).to_pylist() == expected


def kill_a_ray_worker(out: Path, after: int, killed: list[int]) -> None:
    """SIGKILL the Ray worker running a shard once it is `after` files into it."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for marker in (out / "shards").glob("*.inflight"):
            try:
                pid, number = (int(f) for f in marker.read_text().split())
            except (OSError, ValueError):
                continue
            if number >= after and pid != os.getpid():
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
                return
        time.sleep(0.002)


def test_a_killed_ray_worker_loses_and_duplicates_no_row_and_resume_redoes_nothing(
    tmp_path: Path, corpus: list[Path], store: Path, expected: list[dict[str, Any]]
) -> None:
    shard_files = FILES // 4
    killed: list[int] = []
    killer = threading.Thread(target=kill_a_ray_worker, args=(tmp_path, shard_files // 4, killed))
    killer.start()
    options = scan_options(store, ray="auto", jobs=2, shard_files=shard_files)
    summary = run_scan([corpus[0].parent.parent], tmp_path, options)
    killer.join()
    assert killed and summary.complete and summary.poison == []
    assert list((tmp_path / "shards").glob("*.deaths.json"))  # the retry saw the death
    rows = read_rows(tmp_path).to_pylist()
    assert len({row["path"] for row in rows}) == len(rows) == FILES
    assert rows == expected
    again = run_scan([corpus[0].parent.parent], tmp_path, options)
    assert (again.resumed, again.ran) == (summary.shards, 0)
