"""An index searched in a process that forks keeps working in the child: the search thread pool
is per process (a fork copies the pool object but none of its threads)."""

from __future__ import annotations

import multiprocessing
import os

import numpy as np
import pytest

from stopframe.index.hamming import HammingIndex
from stopframe.index.scan import _ROWS_PER_TASK


def _search_in_child(index: HammingIndex, codes: np.ndarray) -> None:
    found = index.range_search_batch(codes, 0)
    assert len(found) == codes.shape[0]


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: searches never use the pool")
def test_a_forked_child_can_search() -> None:
    rows = 2 * _ROWS_PER_TASK + 1  # enough rows that a search splits them over the thread pool
    codes = np.random.default_rng(0).integers(0, 256, (rows, 32), dtype=np.uint8)
    index = HammingIndex.build(np.arange(rows, dtype=np.uint64), codes)
    assert len(index.range_search_batch(codes[:10], 0)) == 10  # the parent's pool now exists
    child = multiprocessing.get_context("fork").Process(
        target=_search_in_child, args=(index, codes[:10])
    )
    child.start()
    child.join(timeout=30)
    if child.exitcode is None:
        child.kill()
    assert child.exitcode == 0, "the child's search did not finish"
