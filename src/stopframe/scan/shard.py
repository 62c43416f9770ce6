"""Scan one shard, in whichever worker runs it: hash each file, match the shard's signals in one
batch, write the shard's Parquet file.

Poison files: before each file the worker writes its pid and the file's number in the shard to
the shard's marker (one fixed-width write: it happens for every file). A worker that dies leaves
the marker behind, so the next attempt of the shard knows which file it died on and counts a
death against it; a file with `poison_deaths` deaths gets an error row and is not opened again.
A file that runs past `file_timeout_s` gets an error row too (the timeout interrupts Python code;
a decoder that never returns to Python is left to the death count).
"""

from __future__ import annotations

import json
import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import FrameType

from threadpoolctl import threadpool_limits

from stopframe.hashing.files import (
    STATUS_ERROR,
    HashOptions,
    HashRecord,
    hash_file,
    with_limits,
)
from stopframe.matching.match import Match
from stopframe.scan.lists import worker_matcher
from stopframe.scan.manifest import Item, Shard
from stopframe.scan.rows import Row, file_size, make_row, write_rows
from stopframe.signals import Signal

Hasher = Callable[[str, HashOptions], HashRecord]
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
_limits: list[threadpool_limits] = []  # kept for the worker's lifetime
_MARK = "{:>10} {:>10}\n"  # pid, number of the file in the shard: fixed width, one pwrite


@dataclass(frozen=True)
class ShardJob:
    """What every shard of one scan shares: where it writes, the index, stores and policy file
    to match with (no index: hash only), how to hash, and the per-file limits."""

    out: str
    index: str | None = None
    stores: tuple[str, ...] = ()
    policy: str | None = None
    options: HashOptions = field(default_factory=HashOptions)
    file_timeout_s: float = 60.0
    poison_deaths: int = 2
    hasher: Hasher = hash_file


@dataclass(frozen=True)
class ShardResult:
    """A finished shard: its id, rows, file checksum and the files recorded as poison."""

    id: int
    rows: int
    sha256: str
    poison: tuple[str, ...] = ()


class FileTimeout(BaseException):
    """Raised in the worker when one file runs past the timeout; a BaseException so that
    `hash_file`'s catch-all does not turn it into an ordinary error record."""


def one_thread() -> None:
    """Limit native thread pools to one thread: a worker per core is the parallelism."""
    if not _limits:
        os.environ.update(dict.fromkeys(_THREAD_VARIABLES, "1"))
        _limits.append(threadpool_limits(limits=1))


def shard_path(out: str, shard: Shard, suffix: str) -> Path:
    """A file of `shard` under the scan's shard folder."""
    return Path(out) / "shards" / f"{shard.name}{suffix}"


def run_shard(job: ShardJob, shard: Shard) -> ShardResult:
    """Hash, match and write `shard`; see the module doc for poison files."""
    one_thread()
    deaths = _count_deaths(job, shard)
    options = with_limits(job.options)
    records: list[tuple[HashRecord, int | None]] = []
    poison: list[str] = []
    marker = shard_path(job.out, shard, ".inflight")
    fd = os.open(marker, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        for number, item in enumerate(shard.items):
            died = deaths.get(item.path, 0)
            if died >= job.poison_deaths:
                poison.append(item.path)
                reason = f"poison file: the worker died {died} times on it; skipped"
                record = HashRecord(item.path, status=STATUS_ERROR, error=reason)
            else:
                os.pwrite(fd, _MARK.format(os.getpid(), number).encode(), 0)
                record = _hash(job, item, options)
            records.append((record, file_size(item.path)))
    finally:
        os.close(fd)
        marker.unlink()  # only a worker that died leaves its marker, naming the file to blame
    matches = _match(job, [record for record, _ in records])
    rows: list[Row] = [
        make_row(record, size, found)
        for (record, size), found in zip(records, matches, strict=True)
    ]
    digest = write_rows(rows, shard_path(job.out, shard, ".parquet"))
    return ShardResult(shard.id, len(rows), digest, tuple(poison))


def _hash(job: ShardJob, item: Item, options: HashOptions) -> HashRecord:
    if item.error is not None:
        return HashRecord(item.path, status=STATUS_ERROR, error=item.error)
    if item.found:
        options = replace(options, skip_unrecognised=True)
    try:
        with _timeout(job.file_timeout_s):
            return job.hasher(item.path, options)
    except FileTimeout:
        reason = f"timed out after {job.file_timeout_s:g} s; skipped"
        return HashRecord(item.path, status=STATUS_ERROR, error=reason)


def _match(job: ShardJob, records: list[HashRecord]) -> list[list[Match]]:
    """Each record's matches, from one batch over the shard's signals."""
    found: list[list[Match]] = [[] for _ in records]
    if job.index is None:
        return found
    signals: list[Signal] = []
    owners: list[int] = []
    for number, record in enumerate(records):
        signals += record.signals
        owners += [number] * len(record.signals)
    matcher = worker_matcher(job.index, job.stores, job.policy)
    for owner, matches in zip(owners, matcher.match(signals), strict=True):
        found[owner] += matches
    return found


def _count_deaths(job: ShardJob, shard: Shard) -> dict[str, int]:
    """Deaths per file from earlier attempts of `shard`, adding the one its marker names."""
    marker = shard_path(job.out, shard, ".inflight")
    ledger = shard_path(job.out, shard, ".deaths.json")
    deaths: dict[str, int] = json.loads(ledger.read_text()) if ledger.exists() else {}
    if marker.exists():
        fields = marker.read_text(encoding="ascii", errors="replace").split()
        if len(fields) == 2 and fields[1].isdigit() and int(fields[1]) < len(shard.items):
            path = shard.items[int(fields[1])].path
            deaths[path] = deaths.get(path, 0) + 1
            temporary = ledger.with_suffix(".tmp")
            temporary.write_text(json.dumps(deaths, sort_keys=True))
            os.replace(temporary, ledger)
        marker.unlink()
    return deaths


@contextmanager
def _timeout(seconds: float) -> Iterator[None]:
    """Raise FileTimeout after `seconds`, where signals can be used (the main thread)."""
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(_signum: int, _frame: FrameType | None) -> None:
        raise FileTimeout

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
