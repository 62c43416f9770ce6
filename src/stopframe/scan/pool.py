"""The local runner: worker processes on this machine, one shard at a time each.

Each worker has its own pipe, so the driver always knows which shard a worker holds: a worker
that dies (killed, out of memory, a crash in a decoder) fails only that shard, which is retried
on a fresh worker while attempts remain; the other workers carry on.
"""

from __future__ import annotations

import multiprocessing
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess

from stopframe.scan.manifest import Shard
from stopframe.scan.runner import Events
from stopframe.scan.shard import ShardJob, run_shard


@dataclass
class _Worker:
    process: BaseProcess
    conn: Connection
    shard: Shard | None = None


def _serve(conn: Connection, job: ShardJob) -> None:
    """A worker's loop: run the shards it is sent until it is sent None."""
    while (shard := conn.recv()) is not None:
        try:
            conn.send(("ok", run_shard(job, shard)))
        except Exception as exc:
            conn.send(("error", f"{type(exc).__name__}: {exc}"))


def _start(job: ShardJob) -> _Worker:
    ours, theirs = multiprocessing.Pipe()
    process = multiprocessing.get_context().Process(target=_serve, args=(theirs, job), daemon=True)
    process.start()
    theirs.close()
    return _Worker(process, ours)


def run_pool(
    job: ShardJob, shards: Sequence[Shard], jobs: int, attempts: int, events: Events
) -> None:
    """Run `shards` on `jobs` worker processes, each tried up to `attempts` times."""
    queue = deque(shards)
    tries: Counter[int] = Counter()
    workers = [_start(job) for _ in range(min(jobs, len(shards)))]
    try:
        while queue or any(w.shard is not None for w in workers):
            for worker in workers:
                if worker.shard is None and queue:
                    worker.shard = queue.popleft()
                    tries[worker.shard.id] += 1
                    worker.conn.send(worker.shard)
            busy = {w.conn: w for w in workers if w.shard is not None}
            for conn in wait(list(busy)):
                worker = busy[conn]  # type: ignore[index]
                shard, worker.shard = worker.shard, None
                assert shard is not None
                try:
                    status, value = worker.conn.recv()
                except (EOFError, OSError):
                    worker.process.join()
                    status, value = "error", f"worker died (exit code {worker.process.exitcode})"
                    workers[workers.index(worker)] = _start(job)
                if status == "ok":
                    events.done(value)
                    continue
                events.failed(shard, value)
                if tries[shard.id] < attempts:
                    queue.appendleft(shard)
    finally:
        for worker in workers:
            if worker.process.is_alive():
                worker.conn.send(None)
            worker.process.join(timeout=5)
            if worker.process.is_alive():
                worker.process.kill()
