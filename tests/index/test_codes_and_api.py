"""Code parsing (bytes, hex, arrays), argument checking and result shapes of the public API."""

from __future__ import annotations

import numpy as np
import pytest

from stopframe.index import MAX_RADIUS, HammingIndex
from stopframe.index.codes import as_codes, as_ids
from stopframe.signals.base import SignalValueError
from stopframe.signals.pdq import hamming_distance

HEX = "f162eb9daab170c0567fe3632d9a5548c5612982dd5e374a7424ebbc8a835c95"
HEX2 = "b062eb9d2ab170c0567fcb672d9a5548c5612982dd5e374a7424ebbc8b135cb5"


def test_codes_from_hex_bytes_and_arrays_agree() -> None:
    raw = bytes.fromhex(HEX)
    a = as_codes(HEX)
    assert a.shape == (1, 32) and bytes(a[0]) == raw
    assert np.array_equal(as_codes(raw), a)
    assert np.array_equal(as_codes(np.frombuffer(raw, np.uint8)), a)
    assert np.array_equal(as_codes([HEX, raw]), np.vstack([a, a]))
    assert as_codes([]).shape == (0, 32)


@pytest.mark.parametrize(
    "bad",
    ["abc", "zz" * 32, b"\0" * 31, np.zeros(33, np.uint8), np.zeros((2, 31), np.uint8)],
)
def test_malformed_codes_are_refused(bad) -> None:
    with pytest.raises((ValueError, SignalValueError)):
        as_codes(bad)


def test_ids_are_checked() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        as_ids([-1])
    with pytest.raises(ValueError, match="integers"):
        as_ids([1.5])
    with pytest.raises(ValueError, match="2 ids for 3"):
        as_ids([1, 2], 3)
    index = HammingIndex()
    with pytest.raises(ValueError, match="duplicate"):
        index.add([1, 1], [HEX, HEX2])


def test_distances_agree_with_the_pdq_module_and_hex_queries_work() -> None:
    index = HammingIndex()
    index.add([5, 6], [HEX, HEX2])
    d = hamming_distance(bytes.fromhex(HEX), bytes.fromhex(HEX2))
    assert list(index.range_search(HEX, radius=d)) == [(5, 0), (6, d)]
    assert list(index.range_search(HEX, radius=d - 1)) == [(5, 0)]
    assert list(index.knn(HEX2, 1)) == [(6, 0)]
    assert 5 in index and 7 not in index and "5" not in index and -1 not in index


def test_add_replaces_an_existing_id() -> None:
    index = HammingIndex()
    index.add([5], [HEX])
    index.add([5], [HEX2])
    assert len(index) == 1
    assert list(index.range_search(HEX2, 0)) == [(5, 0)]
    assert len(index.range_search(HEX, 0)) == 0


@pytest.mark.parametrize("radius", [-1, MAX_RADIUS + 1, 3.5, True])
def test_radius_out_of_range_is_refused(radius) -> None:
    with pytest.raises(ValueError, match="radius"):
        HammingIndex().range_search(HEX, radius)


def test_batch_results_index_by_query() -> None:
    index = HammingIndex()
    index.add([1, 2], [HEX, HEX2])
    res = index.range_search_batch([HEX, "00" * 32, HEX2], radius=0)
    assert len(res) == 3
    assert [list(m) for m in res] == [[(1, 0)], [], [(2, 0)]]
    assert res.query_index().tolist() == [0, 2]
    with pytest.raises(ValueError, match="one code"):
        index.range_search([HEX, HEX2])


def test_bulk_build_equals_incremental_adds() -> None:
    rng = np.random.default_rng(3)
    codes = rng.integers(0, 256, (2000, 32), dtype=np.uint8)
    ids = rng.permutation(10**6)[:2000]
    bulk = HammingIndex.build(ids, codes)
    inc = HammingIndex(delta_limit=300)
    inc.add(ids, codes)
    a, b = (
        bulk.range_search_batch(codes[:100], 64),
        inc.range_search_batch(codes[:100], 64),
    )
    assert np.array_equal(a.ids, b.ids) and np.array_equal(a.start, b.start)
    assert len(bulk) == 2000 and bulk.nbytes == 40 * 2000  # compact: ids and codes only
    tabled = HammingIndex.build(ids, codes, tables=True)
    assert tabled.tables and tabled.nbytes > 40 * 2000
    c = tabled.range_search_batch(codes[:100], 64)
    assert np.array_equal(a.ids, c.ids) and np.array_equal(a.distances, c.distances)
    with pytest.raises(ValueError, match="duplicate"):
        HammingIndex.build([1, 1], [HEX, HEX2])
