"""An index set split into shards, queried by fan-out and merged exactly like one index.

Rows are routed to one of N shards either by id (`Partition.ID`: `(id >> id_shift) % N`; with
`id_shift` = the row bits of `matching.rows` every row of a list entry lands on one shard, and for
N a power of two that is the entry id modulo N, the matcher's `--shard k/K` split) or by code
range (`Partition.CODE`: the first 32 bits of the code cut into N equal ranges). A range search
or k-nearest query goes to every shard at once (a Hamming ball crosses any code range, so no
shard can be skipped without losing exactness) and the hits are merged: nearest first, ties by
id, the same ids, distances and order as one `HammingIndex` over all rows. A shard is anything
that answers like a `ShardClient`: a local `HammingIndex` (the default), or a thin client of a
Ray actor or a remote matcher replica holding one shard file.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from enum import StrEnum
from typing import Protocol, TypeVar, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from stopframe.index.codes import CodesLike, IdsLike, as_codes, as_ids
from stopframe.index.hamming import (
    DEFAULT_RADIUS,
    BatchMatches,
    HammingIndex,
    Matches,
    _check_radius,
)
from stopframe.index.pools import LazyPool

T = TypeVar("T")
_FAN_OUT_THREADS = 64  # shard calls in flight at once, over all sharded indexes of a process

_POOL = LazyPool(_FAN_OUT_THREADS, "stopframe-shard")  # threads are made as calls need them


class Partition(StrEnum):
    """How rows are routed to shards."""

    ID = "id"
    CODE = "code"


@runtime_checkable
class ShardClient(Protocol):
    """One shard as the fan-out sees it; `HammingIndex` is one, a remote replica may be another."""

    def __len__(self) -> int:
        """Number of live rows in the shard."""
        ...

    def add(self, ids: IdsLike, codes: CodesLike) -> None:
        """Insert or replace rows."""
        ...

    def remove(self, ids: IdsLike) -> int:
        """Delete rows by id; returns how many were there."""
        ...

    def range_search_batch(self, codes: CodesLike, radius: int = DEFAULT_RADIUS) -> BatchMatches:
        """Exact range search, each query's hits nearest first (ties by id)."""
        ...

    def knn_batch(self, codes: CodesLike, k: int) -> BatchMatches:
        """The k nearest rows of each query, nearest first (ties by id)."""
        ...


def shard_of(
    ids: NDArray[np.uint64],
    codes: NDArray[np.uint8],
    shards: int,
    partition: Partition = Partition.ID,
    id_shift: int = 0,
) -> NDArray[np.intp]:
    """The shard number (0 to shards - 1) of each row under `partition`."""
    if shards < 1:
        raise ValueError("shards must be at least 1")
    if Partition(partition) is Partition.ID:
        return ((ids >> np.uint64(id_shift)) % np.uint64(shards)).astype(np.intp)
    leading = np.ascontiguousarray(codes[:, :4]).view(">u4").reshape(-1)
    prefix: NDArray[np.uint64] = leading.astype(np.uint64)
    return ((prefix * np.uint64(shards)) >> np.uint64(32)).astype(np.intp)


def split(
    ids: IdsLike,
    codes: CodesLike,
    shards: int,
    partition: Partition = Partition.ID,
    id_shift: int = 0,
) -> list[tuple[NDArray[np.uint64], NDArray[np.uint8]]]:
    """(ids, codes) of each shard, e.g. to save one index file per shard server."""
    code_array = as_codes(codes)
    id_array = as_ids(ids, code_array.shape[0])
    where = shard_of(id_array, code_array, shards, partition, id_shift)
    return [(id_array[where == s], code_array[where == s]) for s in range(shards)]


def merge_matches(
    parts: Sequence[BatchMatches], queries: int, k: int | None = None
) -> BatchMatches:
    """Hits of the same query batch from disjoint shards as one result: nearest first, ties by id,
    at most `k` per query when given."""
    q = np.concatenate([p.query_index() for p in parts] + [np.empty(0, np.int64)])
    ids = np.concatenate([p.ids for p in parts] + [np.empty(0, np.uint64)]).astype(np.uint64)
    dist = np.concatenate([p.distances for p in parts] + [np.empty(0, np.int64)]).astype(np.int64)
    order = np.lexsort((ids, dist, q))
    q, ids, dist = q[order], ids[order], dist[order]
    if k is not None:
        first = np.searchsorted(q, np.arange(queries))
        keep = np.arange(q.shape[0]) - first[q] < k
        q, ids, dist = q[keep], ids[keep], dist[keep]
    start = np.zeros(queries + 1, dtype=np.int64)
    start[1:] = np.cumsum(np.bincount(q, minlength=queries))
    return BatchMatches(start, ids, dist)


class ShardedIndex:
    """Exact search over rows split across shards: fan-out queries, merged results.

    Each shard is snapshot-consistent on its own; a query sees each shard at its own moment. With
    `Partition.CODE` a replaced code may move an id to another shard: the old row is removed
    first, so a concurrent query may miss that id for a moment but never sees it twice.
    """

    def __init__(
        self,
        shards: Sequence[ShardClient],
        partition: Partition = Partition.ID,
        id_shift: int = 0,
        executor: Executor | None = None,
    ) -> None:
        """`executor` runs the per-shard calls (default: one process-wide thread pool, separate
        from the pool each local index searches on, so the two never wait on each other)."""
        if not shards:
            raise ValueError("a sharded index needs at least one shard")
        self._shards = tuple(shards)
        self._partition = Partition(partition)
        self._id_shift = int(id_shift)
        self._executor = executor

    @classmethod
    def build(
        cls,
        ids: IdsLike,
        codes: CodesLike,
        shards: int,
        partition: Partition = Partition.ID,
        id_shift: int = 0,
        make: Callable[[NDArray[np.uint64], NDArray[np.uint8]], ShardClient] = HammingIndex.build,
    ) -> ShardedIndex:
        """Split the rows and make one shard of each part with `make` (a local index by default)."""
        parts = split(ids, codes, shards, partition, id_shift)
        return cls([make(i, c) for i, c in parts], partition, id_shift)

    @property
    def shards(self) -> tuple[ShardClient, ...]:
        """The shard clients, in shard-number order."""
        return self._shards

    def __len__(self) -> int:
        return sum(len(shard) for shard in self._shards)

    def add(self, ids: IdsLike, codes: CodesLike) -> None:
        """Insert or replace rows, each on the shard its partition routes it to."""
        code_array = as_codes(codes)
        id_array = as_ids(ids, code_array.shape[0])
        where = shard_of(id_array, code_array, len(self._shards), self._partition, self._id_shift)
        for s, shard in enumerate(self._shards):
            if self._partition is Partition.CODE and np.any(where != s):
                shard.remove(id_array[where != s])
            if np.any(where == s):
                shard.add(id_array[where == s], code_array[where == s])

    def remove(self, ids: IdsLike) -> int:
        """Delete rows by id from whichever shard holds them; returns how many were removed."""
        id_array = np.unique(as_ids(ids))
        return sum(self._fan_out(lambda shard: shard.remove(id_array)))

    def range_search_batch(self, codes: CodesLike, radius: int = DEFAULT_RADIUS) -> BatchMatches:
        """Every row within `radius` of each code, over all shards, as one index would answer."""
        radius = _check_radius(radius)
        qcodes = as_codes(codes)
        parts = self._fan_out(lambda shard: shard.range_search_batch(qcodes, radius))
        return merge_matches(parts, qcodes.shape[0])

    def range_search(self, code: CodesLike, radius: int = DEFAULT_RADIUS) -> Matches:
        """Every (id, distance) within `radius` of one code, nearest first."""
        qcodes = as_codes(code)
        if qcodes.shape[0] != 1:
            raise ValueError("range_search takes one code; use range_search_batch for many")
        return self.range_search_batch(qcodes, radius)[0]

    def knn_batch(self, codes: CodesLike, k: int) -> BatchMatches:
        """The k nearest rows of each code over all shards (the best k of each shard's k)."""
        if k < 1:
            raise ValueError("k must be at least 1")
        qcodes = as_codes(codes)
        parts = self._fan_out(lambda shard: shard.knn_batch(qcodes, k))
        return merge_matches(parts, qcodes.shape[0], k)

    def _fan_out(self, call: Callable[[ShardClient], T]) -> list[T]:
        """`call` on every shard at once; results in shard order, the first error re-raised."""
        executor = self._executor or _POOL.get()
        futures = [executor.submit(call, shard) for shard in self._shards]
        return [future.result() for future in futures]
