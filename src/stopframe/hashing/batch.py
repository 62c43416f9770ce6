"""Hash many files: expand folders (recursively, safe against symlink loops and unreadable
folders) and run `hash_file` over them, in worker processes if asked, yielding records in
input order so output is stable whatever the number of workers.

Each worker limits the native thread pools (BLAS, OpenMP, numba) to one thread: a worker per core
is the parallelism, and N workers each starting a thread per core made `--jobs 2` slower than
`--jobs 1` on two cores.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from pathlib import Path

from threadpoolctl import threadpool_limits

from stopframe.errors import ConfigError
from stopframe.hashing.files import STATUS_ERROR, HashOptions, HashRecord, hash_file, with_limits


@dataclasses.dataclass(frozen=True, slots=True)
class FoundFile:
    """A file met while walking a folder (not named by the user): non-media is skipped."""

    path: str


# What `iter_files` and `hash_paths` take: paths to expand, or `iter_files`' own output
PathItem = str | Path | FoundFile | HashRecord


_THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMBA_NUM_THREADS",
)
_worker_limits: list[threadpool_limits] = []  # kept alive for the worker's lifetime


def _one_thread_per_worker() -> None:
    """Worker initializer: one thread for the thread pools already loaded (threadpoolctl, numba)
    and, through the environment, for libraries the worker loads later."""
    os.environ.update(dict.fromkeys(_THREAD_VARIABLES, "1"))
    numba = sys.modules.get("numba")
    if numba is not None:  # first: starting numba's threading layer may load an OpenMP runtime
        numba.set_num_threads(1)
    _worker_limits.append(threadpool_limits(limits=1))


def iter_files(paths: Iterable[PathItem]) -> Iterator[str | FoundFile | HashRecord]:
    """Each named file, and every file under each named folder in sorted order. A folder that
    cannot be listed yields an error record instead of a path; symlinked folders are followed
    once (a loop back to a folder already visited is not entered again). Items that are
    already found files or records (this function's own output) pass through as they are."""
    for given in paths:
        if isinstance(given, FoundFile | HashRecord):
            yield given
            continue
        path = os.fspath(given)
        if not os.path.isdir(path):
            yield path
            continue
        visited: set[tuple[int, int]] = set()
        yield from _walk(path, visited)


def _walk(folder: str, visited: set[tuple[int, int]]) -> Iterator[FoundFile | HashRecord]:
    try:
        info = os.stat(folder)
        key = (info.st_dev, info.st_ino)
        if key in visited:
            return
        visited.add(key)
        with os.scandir(folder) as scan:
            entries = sorted(scan, key=lambda entry: entry.name)
    except OSError as exc:
        yield HashRecord(
            path=folder, status=STATUS_ERROR, error=f"cannot list folder: {exc.strerror or exc}"
        )
        return
    for entry in entries:
        try:
            is_dir = entry.is_dir(follow_symlinks=True)
        except OSError:
            is_dir = False
        if is_dir:
            yield from _walk(entry.path, visited)
        else:
            yield FoundFile(entry.path)


def hash_paths(
    paths: Iterable[PathItem], options: HashOptions | None = None, jobs: int = 1
) -> Iterator[HashRecord]:
    """Records for every file under `paths`, in input order; `jobs` > 1 uses that many worker
    processes with a bounded number of files in flight."""
    options = options or HashOptions()
    try:
        options = with_limits(options)  # the settings are read once here, not once per file
    except ConfigError:
        pass  # left to hash_file, whose records then name the bad setting, file by file
    found_options = dataclasses.replace(options, skip_unrecognised=True)

    def task(item: str | FoundFile) -> tuple[str, HashOptions]:
        if isinstance(item, FoundFile):
            return item.path, found_options
        return item, options

    items = iter_files(paths)
    if jobs <= 1:
        for item in items:
            yield item if isinstance(item, HashRecord) else hash_file(*task(item))
        return
    with ProcessPoolExecutor(max_workers=jobs, initializer=_one_thread_per_worker) as pool:
        yield from _in_order(pool, items, task, jobs)


def _in_order(
    pool: ProcessPoolExecutor,
    items: Iterable[str | FoundFile | HashRecord],
    task: Callable[[str | FoundFile], tuple[str, HashOptions]],
    jobs: int,
) -> Iterator[HashRecord]:
    """Hash `items` in the pool and yield their records in input order.

    Submission pauses only while `jobs * 4` files are unfinished or `jobs * 64` records wait for
    an earlier one, so a large file at the head of the queue never leaves the other workers idle
    (they go on with later files) while memory stays bounded.
    """
    in_flight, buffered = jobs * 4, jobs * 64
    pending: deque[HashRecord | Future[HashRecord]] = deque()
    running: set[Future[HashRecord]] = set()
    for item in items:
        if isinstance(item, HashRecord):
            pending.append(item)
        else:
            future = pool.submit(hash_file, *task(item))
            pending.append(future)
            running.add(future)
        yield from _ready(pending)
        while len(running) >= in_flight or len(pending) >= buffered:
            running = wait(running, return_when=FIRST_COMPLETED).not_done
            yield from _ready(pending)
    while pending:
        yield _result(pending.popleft())


def _ready(pending: deque[HashRecord | Future[HashRecord]]) -> Iterator[HashRecord]:
    """Pop and yield the records at the head of `pending` that are already finished."""
    while pending and (isinstance(pending[0], HashRecord) or pending[0].done()):
        yield _result(pending.popleft())


def _result(item: HashRecord | Future[HashRecord]) -> HashRecord:
    return item if isinstance(item, HashRecord) else item.result()
