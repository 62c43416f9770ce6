"""Worker pools: same records in the same order as one process, native thread pools pinned to 1."""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor

from threadpoolctl import threadpool_info

from stopframe.hashing.batch import _one_thread_per_worker, hash_paths
from stopframe.samples import sample_images


def test_workers_give_the_records_of_one_process() -> None:
    paths = sample_images()[:6]
    alone = [record.to_dict() for record in hash_paths(paths, jobs=1)]
    pooled = [record.to_dict() for record in hash_paths(paths, jobs=2)]
    assert pooled == alone and len(alone) == len(paths)


def test_worker_thread_pools_are_single_threaded() -> None:
    names = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS")
    with ProcessPoolExecutor(max_workers=1, initializer=_one_thread_per_worker) as workers:
        native = workers.submit(threadpool_info).result()
        variables = [workers.submit(os.getenv, name).result() for name in names]
    assert native and all(entry["num_threads"] == 1 for entry in native)
    assert variables == ["1"] * len(names)
