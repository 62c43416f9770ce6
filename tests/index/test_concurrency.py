"""Readers see a consistent snapshot while a writer adds and removes (never half a write)."""

from __future__ import annotations

import threading

import numpy as np

from stopframe.index import HammingIndex
from stopframe.index.synthetic import perturb


def test_readers_see_whole_batches_only() -> None:
    rng = np.random.default_rng(0)
    centre = rng.integers(0, 256, (1, 32), dtype=np.uint8)
    index = HammingIndex(delta_limit=300)  # writes cross segment flushes and merges
    batch, n_batches = 50, 40
    seen: list[int] = []
    errors: list[str] = []
    done = threading.Event()

    def reader() -> None:
        while not done.is_set():
            ids = set(index.range_search(centre[0], 64).ids.tolist())
            k = len(ids)
            if k % batch or ids != set(range(k)):
                errors.append(f"inconsistent read of {k} ids")
            seen.append(k)

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    for b in range(n_batches):
        ids = np.arange(b * batch, (b + 1) * batch, dtype=np.uint64)
        index.add(
            ids,
            perturb(np.repeat(centre, batch, axis=0), rng.integers(0, 10, batch), rng),
        )
    # removals go newest-first so a consistent state is still a prefix of whole batches
    for b in reversed(range(n_batches // 2, n_batches)):
        index.remove(np.arange(b * batch, (b + 1) * batch))
    done.set()
    for t in threads:
        t.join()
    assert not errors, errors[:3]
    assert len(index) == batch * n_batches // 2
    assert len(set(seen)) > 1  # reads really overlapped the writes
