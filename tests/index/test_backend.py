"""Every search backend satisfies SearchBackend and answers exactly through it alone."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

import numpy as np
import pytest

from stopframe.index.backend import Hits, SearchBackend
from stopframe.index.segment import CompactSegment, TabledSegment, build_segment
from stopframe.index.synthetic import perturb, realistic_codes
from stopframe.signals.pdq import hamming_matrix

POOL = ThreadPoolExecutor(2)
N = 3000


@lru_cache(maxsize=1)
def dataset() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ids over the whole uint64 range, codes with a dense cluster (over 64 hits for one query,
    which makes the tabled kernels redo that query with room) and queries near and far."""
    rng = np.random.default_rng(11)
    codes = realistic_codes(N, seed=12)
    codes[:300] = perturb(np.repeat(codes[:1], 300, axis=0), rng.integers(0, 10, 300), rng)
    ids = np.arange(N, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    queries = np.concatenate(
        [
            codes[:1],
            perturb(codes[1000:1150], rng.integers(0, 16, 150), rng),
            rng.integers(0, 256, (20, 32), np.uint8),
        ]
    )
    return ids, codes, queries


def compact(ids: np.ndarray, codes: np.ndarray) -> SearchBackend:
    return build_segment(ids, codes, tables=False)


def tabled(ids: np.ndarray, codes: np.ndarray) -> SearchBackend:
    return build_segment(ids, codes, tables=True)


def torch_flat(ids: np.ndarray, codes: np.ndarray) -> SearchBackend:
    pytest.importorskip("torch")
    from stopframe.index.gpu import TorchFlatIndex

    return TorchFlatIndex(ids, codes, device="cpu", kernel="torch")


BACKENDS = [compact, tabled, torch_flat]
Factory = Callable[[np.ndarray, np.ndarray], SearchBackend]


def test_segments_are_built_as_the_kind_asked_for() -> None:
    ids, codes, _ = dataset()
    assert type(compact(ids, codes)) is CompactSegment
    assert type(tabled(ids, codes)) is TabledSegment


@pytest.mark.parametrize("make", BACKENDS, ids=lambda f: f.__name__)
def test_backend_satisfies_the_protocol(make: Factory) -> None:
    ids, codes, _ = dataset()
    backend = make(ids, codes)
    assert isinstance(backend, SearchBackend)
    assert not isinstance(codes, SearchBackend)  # rows alone, without ids and search, are not one
    assert len(backend) == N
    assert np.array_equal(np.sort(backend.ids), np.sort(ids))


def hit_set(backend: SearchBackend, hits: Hits) -> set[tuple[int, int, int]]:
    """(query, id, distance) of every hit; asserts no pair is reported twice."""
    assert hits.q.dtype == hits.rows.dtype == hits.dist.dtype == np.int64
    assert hits.q.shape == hits.rows.shape == hits.dist.shape
    ids = np.asarray(backend.ids)[hits.rows].tolist()
    found = list(zip(hits.q.tolist(), ids, hits.dist.tolist(), strict=True))
    assert len(found) == len(set(found))
    return set(found)


@pytest.mark.parametrize("make", BACKENDS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("radius", [0, 10, 31, 64])
@pytest.mark.parametrize("pool", [None, POOL], ids=["serial", "pool"])
def test_search_through_the_protocol_equals_brute_force(
    make: Factory, radius: int, pool: ThreadPoolExecutor | None
) -> None:
    ids, codes, queries = dataset()
    backend = make(ids, codes)
    got = hit_set(backend, backend.search(queries, radius, pool))
    d = hamming_matrix(queries, codes)
    q, rows = np.nonzero(d <= radius)
    want = set(zip(q.tolist(), ids[rows].tolist(), d[q, rows].tolist(), strict=True))
    assert got == want
    if radius == 31:
        assert int(np.sum(q == 0)) > 64  # the dense cluster overflowed the first output buffer


@pytest.mark.parametrize("make", BACKENDS, ids=lambda f: f.__name__)
def test_empty_batches_and_empty_backends_give_no_hits(make: Factory) -> None:
    ids, codes, queries = dataset()
    for backend, batch in ((make(ids, codes), queries[:0]), (make(ids[:0], codes[:0]), queries)):
        hits = backend.search(batch, 31)
        assert hits.q.shape == hits.rows.shape == hits.dist.shape == (0,)


def test_concat_keeps_every_hit_in_order() -> None:
    a = Hits(np.array([0, 1]), np.array([5, 6]), np.array([2, 3]))
    b = Hits(np.array([2]), np.array([7]), np.array([4]))
    both = Hits.concat([a, b])
    assert both.q.tolist() == [0, 1, 2] and both.rows.tolist() == [5, 6, 7]
    assert both.dist.tolist() == [2, 3, 4]
    none = Hits.concat([])
    assert none.q.dtype == np.int64 and none.q.shape == (0,)
