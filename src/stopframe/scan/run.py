"""One scan: list the files, cut them into shards, skip the finished ones, run the rest on the
local pool or Ray, checkpoint each shard as it lands, and sum it up."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from stopframe.hashing.files import HashOptions, hash_file
from stopframe.scan.lists import build_index, list_stores, lists_digest
from stopframe.scan.manifest import DEFAULT_SHARD_FILES, Shard, collect, fingerprint, split
from stopframe.scan.pool import run_pool
from stopframe.scan.ray_runner import run_ray
from stopframe.scan.rows import tally
from stopframe.scan.shard import Hasher, ShardJob, ShardResult
from stopframe.scan.state import ScanState
from stopframe.triage.run import check_outside

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ScanOptions:
    """How to scan: workers, files per shard, list stores to match against and the policy file
    (None: the default policy), the Ray address (None: the local pool), attempts per shard,
    per-file timeout, deaths that make a file poison, whether to start over, how to hash, and
    a `(files done, files)` progress callback."""

    jobs: int = 1
    shard_files: int = DEFAULT_SHARD_FILES
    stores: Sequence[Path] = ()
    policy: Path | None = None
    ray: str | None = None
    attempts: int = 3
    file_timeout_s: float = 60.0
    poison_deaths: int = 2
    restart: bool = False
    hash_options: HashOptions = field(default_factory=HashOptions)
    hasher: Hasher = field(default=hash_file, compare=False)
    progress: Progress | None = field(default=None, compare=False)


@dataclass
class ScanSummary:
    """What a scan did: files and shards in all, shards found finished (resumed) and run now,
    shards still unfinished after every attempt, failed attempts, poison files, files per
    status and per decision in the finished shards, and time."""

    files: int
    shards: int
    resumed: int = 0
    ran: int = 0
    unfinished: list[int] = field(default_factory=list)
    failed_attempts: int = 0
    poison: list[str] = field(default_factory=list)
    status: dict[str, int] = field(default_factory=dict)
    decision: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def complete(self) -> bool:
        """Whether every shard is finished."""
        return not self.unfinished

    def to_dict(self) -> dict[str, object]:
        """The summary for summary.json, with the rate."""
        rate = self.files / self.seconds if self.seconds else 0.0
        return {**asdict(self), "files_per_s": round(rate, 1)}


class _Driver:
    """The runner's events: checkpoint each shard, record failures, draw progress."""

    def __init__(self, state: ScanState, total: int, done: int, progress: Progress | None):
        self.state, self.total, self.files, self.progress = state, total, done, progress
        self.finished: set[int] = set()
        if progress:
            progress(done, total)

    def done(self, result: ShardResult) -> None:
        self.state.finish(result.id, result.rows, result.sha256)
        self.state.add_poison(result.id, result.poison)
        self.finished.add(result.id)
        self.files += result.rows
        if self.progress:
            self.progress(self.files, self.total)

    def failed(self, shard: Shard, error: str) -> None:
        self.state.fail(shard.id, error)


def run_scan(
    inputs: Sequence[str | Path], out: Path, options: ScanOptions | None = None
) -> ScanSummary:
    """Scan the files under `inputs` into `out` (shards/, state.sqlite, index/, summary.json),
    resuming a scan of the same files and lists found there."""
    options = options or ScanOptions()
    started = time.perf_counter()
    check_outside(inputs, [out])
    items = collect(inputs)
    stores = list_stores(options.stores)
    digest = fingerprint(items, options.shard_files, lists_digest(stores) if stores else "")
    if options.restart:
        shutil.rmtree(out / "shards", ignore_errors=True)
        (out / "state.sqlite").unlink(missing_ok=True)
    (out / "shards").mkdir(parents=True, exist_ok=True)
    shards = split(items, options.shard_files)
    state = ScanState(out, digest)
    try:
        finished = state.finished()
        todo = [shard for shard in shards if shard.id not in finished]
        if stores and todo:
            build_index(stores, out / "index")
        job = ShardJob(
            str(out.resolve()),
            str((out / "index").resolve()) if stores else None,
            tuple(str(path) for path in stores),
            None if options.policy is None else str(options.policy.resolve()),
            options.hash_options,
            options.file_timeout_s,
            options.poison_deaths,
            options.hasher,
        )
        driver = _Driver(state, len(items), sum(finished.values()), options.progress)
        if options.ray is None:
            run_pool(job, todo, options.jobs, options.attempts, driver)
        else:
            run_ray(job, todo, options.jobs, options.attempts, driver, options.ray)
        summary = ScanSummary(
            files=len(items),
            shards=len(shards),
            resumed=len(finished),
            ran=len(driver.finished),
            unfinished=[s.id for s in todo if s.id not in driver.finished],
            failed_attempts=len(state.failures()),
            poison=state.poison(),
            **tally(out),
            seconds=time.perf_counter() - started,
        )
    finally:
        state.close()
    (out / "summary.json").write_text(json.dumps(summary.to_dict(), indent=1) + "\n")
    return summary
