"""Thread pools started on first use and forgotten in a forked child: a child inherits the pool
object but none of its threads, so work sent to it would wait forever (matcher workers are
forked from a parent that may have searched already)."""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

_POOLS: list[LazyPool] = []


class LazyPool:
    """A process-wide thread pool of `workers` threads named `name`-N, made when first asked."""

    def __init__(self, workers: int, name: str) -> None:
        self.workers, self.name = workers, name
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        _POOLS.append(self)

    def get(self) -> ThreadPoolExecutor:
        """The pool, started on first use."""
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix=self.name)
            return self._pool

    def _forget(self) -> None:
        self._pool = None
        self._lock = threading.Lock()


def _forget_pools_after_fork() -> None:
    for pool in _POOLS:
        pool._forget()


os.register_at_fork(after_in_child=_forget_pools_after_fork)
