"""A sharded index answers exactly like one index and like brute force (property tests)."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stopframe.index import BatchMatches, HammingIndex
from stopframe.index.codes import CodesLike, IdsLike, as_codes
from stopframe.index.sharded import Partition, ShardClient, ShardedIndex, shard_of, split
from stopframe.index.synthetic import perturb, realistic_codes
from stopframe.signals.pdq import hamming_matrix

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@cache
def pool() -> np.ndarray:
    """Realistic codes made once (the generator fits its model on every call)."""
    return realistic_codes(2000, seed=0)


def some_codes(seed: int, n: int) -> np.ndarray:
    return pool()[np.random.default_rng(seed).permutation(2000)[:n]]


def rows(seed: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """n distinct ids over the whole uint64 range and realistic codes, a third near copies."""
    rng = np.random.default_rng(seed)
    codes = some_codes(seed, n)
    if n > 3:
        near = n // 3
        codes[:near] = perturb(np.repeat(codes[:1], near, axis=0), rng.integers(0, 40, near), rng)
    salt = rng.integers(0, 2**64 - 1, dtype=np.uint64, endpoint=True)
    ids = (np.arange(n, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)) ^ salt
    return ids, codes


def queries(codes: np.ndarray, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed + 1)
    base = codes[rng.integers(0, codes.shape[0], 6)] if codes.shape[0] else codes
    extra = rng.integers(0, 256, (3, 32), dtype=np.uint8)
    near = perturb(base, rng.integers(0, 20, (len(base),)), rng) if base.shape[0] else base
    return np.concatenate([near, extra]).astype(np.uint8)


def brute(ids: np.ndarray, codes: np.ndarray, q: np.ndarray, radius: int) -> list[list]:
    d = hamming_matrix(q, codes) if ids.size else np.zeros((q.shape[0], 0), np.int32)
    return [
        sorted(((int(ids[j]), int(d[i, j])) for j in np.flatnonzero(d[i] <= radius)),
               key=lambda p: (p[1], p[0]))
        for i in range(q.shape[0])
    ]  # fmt: skip


def same(a: BatchMatches, b: BatchMatches) -> None:
    assert np.array_equal(a.start, b.start)
    assert np.array_equal(a.ids, b.ids)
    assert np.array_equal(a.distances, b.distances)


@SETTINGS
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(0, 400),
    shards=st.integers(1, 7),
    partition=st.sampled_from(list(Partition)),
    radius=st.integers(0, 64),
    k=st.integers(1, 12),
)
def test_search_equals_one_index_and_brute_force(
    seed: int, n: int, shards: int, partition: Partition, radius: int, k: int
) -> None:
    ids, codes = rows(seed, n)
    q = queries(codes, seed)
    sharded = ShardedIndex.build(ids, codes, shards, partition)
    one = HammingIndex.build(ids, codes)
    got = sharded.range_search_batch(q, radius)
    same(got, one.range_search_batch(q, radius))
    assert [list(m) for m in got] == brute(ids, codes, q, radius)
    if n:
        same(sharded.knn_batch(q, k), one.knn_batch(q, k))
    assert len(sharded) == n


@SETTINGS
@given(
    seed=st.integers(0, 10_000),
    shards=st.integers(1, 5),
    partition=st.sampled_from(list(Partition)),
    ops=st.lists(st.tuples(st.booleans(), st.integers(0, 60), st.integers(0, 9)), max_size=12),
)
def test_incremental_writes_equal_one_index(
    seed: int, shards: int, partition: Partition, ops: list[tuple[bool, int, int]]
) -> None:
    """Adds (including replacing an id's code, which may move it between code ranges) and
    removals leave the sharded index equal to one index given the same writes."""
    ids, codes = rows(seed, 80)
    fresh = some_codes(seed + 7, 80)
    sharded = ShardedIndex.build(ids[:40], codes[:40], shards, partition)
    one = HammingIndex.build(ids[:40], codes[:40])
    for add, lo, width in ops:
        part = slice(lo, lo + width)
        if add:
            new = fresh[part] if lo % 2 else codes[part]
            sharded.add(ids[part], new)
            one.add(ids[part], new)
        else:
            assert sharded.remove(ids[part]) == one.remove(ids[part])
    assert len(sharded) == len(one)
    q = queries(np.concatenate([codes, fresh]), seed)
    same(sharded.range_search_batch(q, 40), one.range_search_batch(q, 40))


def test_id_partition_keeps_an_entry_together_and_balances() -> None:
    entry = np.repeat(np.arange(2000, dtype=np.uint64), 4)
    ids = (entry << np.uint64(20)) | np.tile(np.arange(4, dtype=np.uint64), 2000)
    codes = np.tile(some_codes(3, 2000), (4, 1))
    where = shard_of(ids, codes, 6, Partition.ID, id_shift=20)
    assert (where.reshape(-1, 4) == where[::4, None]).all()
    assert np.array_equal(where[::4], entry[::4] % 6)  # the matcher's `--shard k/K` split
    assert np.array_equal(np.bincount(where, minlength=6), 4 * np.bincount(np.arange(2000) % 6))


def test_code_partition_cuts_the_code_space_into_ordered_ranges() -> None:
    _, codes = rows(5, 500)
    where = shard_of(np.zeros(500, np.uint64), codes, 4, Partition.CODE)
    prefix = np.ascontiguousarray(codes[:, :4]).view(">u4").reshape(-1)
    order = np.argsort(prefix, kind="stable")
    assert (np.diff(where[order]) >= 0).all()
    parts = split(np.arange(500), codes, 4, Partition.CODE)
    assert sum(p[0].shape[0] for p in parts) == 500


class RemoteShard:
    """A stand-in for a shard served elsewhere: every call crosses a byte boundary."""

    def __init__(self, ids: np.ndarray, codes: np.ndarray) -> None:
        self._index = HammingIndex.build(ids, codes)
        self.calls = 0

    def __len__(self) -> int:
        return len(self._index)

    def add(self, ids: IdsLike, codes: CodesLike) -> None:
        self._index.add(ids, as_codes(codes))

    def remove(self, ids: IdsLike) -> int:
        return self._index.remove(ids)

    def range_search_batch(self, codes: CodesLike, radius: int = 31) -> BatchMatches:
        self.calls += 1
        wire = as_codes(codes).tobytes()
        return self._index.range_search_batch(np.frombuffer(wire, np.uint8).reshape(-1, 32), radius)

    def knn_batch(self, codes: CodesLike, k: int) -> BatchMatches:
        return self._index.knn_batch(codes, k)


def test_pluggable_shard_clients_are_all_asked() -> None:
    ids, codes = rows(9, 300)
    sharded = ShardedIndex.build(ids, codes, 3, make=RemoteShard)
    assert all(isinstance(s, ShardClient) for s in sharded.shards)
    q = queries(codes, 9)
    same(sharded.range_search_batch(q, 31), HammingIndex.build(ids, codes).range_search_batch(q))
    assert [s.calls for s in sharded.shards] == [1, 1, 1]  # type: ignore[attr-defined]


class BrokenShard(RemoteShard):
    def range_search_batch(self, codes: CodesLike, radius: int = 31) -> BatchMatches:
        raise ConnectionError("shard down")


def test_a_failing_shard_fails_the_query() -> None:
    """An exact answer needs every shard: a missing one is an error, never a partial result."""
    ids, codes = rows(2, 50)
    sharded = ShardedIndex([RemoteShard(ids, codes), BrokenShard(ids[:0], codes[:0])])
    with pytest.raises(ConnectionError):
        sharded.range_search_batch(codes[:2])


def test_arguments_are_checked() -> None:
    ids, codes = rows(1, 10)
    with pytest.raises(ValueError):
        ShardedIndex([])
    with pytest.raises(ValueError):
        ShardedIndex.build(ids, codes, 0)
    with pytest.raises(ValueError):
        ShardedIndex.build(ids, codes, 2).range_search_batch(codes, 65)
    with pytest.raises(ValueError):
        ShardedIndex.build(ids, codes, 2).knn_batch(codes, 0)
