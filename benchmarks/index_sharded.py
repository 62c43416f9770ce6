"""Benchmark: fan-out latency of a sharded index (`stopframe.index.sharded`) against one index.

Same realistic hashes and queries (half near-duplicates of listed hashes at distance 0-30, half
unrelated), radius 31. For each shard count and batch size: the median wall time of one query
batch on one `HammingIndex`, on a `ShardedIndex` of local shards (thread fan-out, exact merge), the
slowest shard's own time inside that fan-out, and the ratio sharded / one. Every sharded answer is
checked hit for hit against the single index.

All shards share this machine's cores here, so the figures show the cost of fan-out and merge,
not the gain of spreading shards over machines (each would then scan 1/N of the rows on its own
cores, plus one network round trip).

    PYTHONPATH=src python benchmarks/index_sharded.py --size 1e6 --shards 1,2,4,8
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable

import numpy as np

from stopframe.index import BatchMatches, HammingIndex
from stopframe.index.codes import CodesLike, IdsLike
from stopframe.index.sharded import Partition, ShardedIndex
from stopframe.index.synthetic import realistic_codes, realistic_queries

RADIUS = 31


class TimedShard:
    """A local shard that records how long each of its searches took."""

    def __init__(self, ids: np.ndarray, codes: np.ndarray) -> None:
        self.index = HammingIndex.build(ids, codes)
        self.seconds: list[float] = []

    def __len__(self) -> int:
        return len(self.index)

    def add(self, ids: IdsLike, codes: CodesLike) -> None:
        self.index.add(ids, codes)

    def remove(self, ids: IdsLike) -> int:
        return self.index.remove(ids)

    def range_search_batch(self, codes: CodesLike, radius: int = RADIUS) -> BatchMatches:
        start = time.perf_counter()
        out = self.index.range_search_batch(codes, radius)
        self.seconds.append(time.perf_counter() - start)
        return out

    def knn_batch(self, codes: CodesLike, k: int) -> BatchMatches:
        return self.index.knn_batch(codes, k)


def median_ms(run: Callable[[], object], reps: int) -> float:
    """Median wall milliseconds of `run()` over `reps` calls after one warm-up."""
    run()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def same(a: BatchMatches, b: BatchMatches) -> bool:
    return bool(
        np.array_equal(a.start, b.start)
        and np.array_equal(a.ids, b.ids)
        and np.array_equal(a.distances, b.distances)
    )


def main() -> None:
    """Parse options, measure every (shards, batch) pair and print JSON lines."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=float, default=1e6)
    parser.add_argument("--shards", default="1,2,4,8")
    parser.add_argument("--batches", default="1,64,1024")
    parser.add_argument("--partition", choices=[p.value for p in Partition], default="id")
    parser.add_argument("--reps", type=int, default=15)
    args = parser.parse_args()
    n = int(args.size)
    codes = realistic_codes(n, seed=0)
    ids = np.arange(n, dtype=np.uint64)
    one = HammingIndex.build(ids, codes)
    batches = [int(b) for b in args.batches.split(",")]
    queries, _ = realistic_queries(codes, max(batches), seed=1)
    for shards in (int(s) for s in args.shards.split(",")):
        sharded = ShardedIndex.build(ids, codes, shards, Partition(args.partition), make=TimedShard)
        for batch in batches:
            row = measure(one, sharded, queries[:batch], args.reps)
            print(json.dumps({"rows": n, "partition": args.partition} | row), flush=True)


def measure(
    one: HammingIndex, sharded: ShardedIndex, q: np.ndarray, reps: int
) -> dict[str, object]:
    """Latencies of one query batch on one index and fanned out, and whether they agree."""
    exact = same(sharded.range_search_batch(q, RADIUS), one.range_search_batch(q, RADIUS))
    one_ms = median_ms(lambda: one.range_search_batch(q, RADIUS), reps)
    shards = [shard for shard in sharded.shards if isinstance(shard, TimedShard)]
    for shard in shards:
        shard.seconds.clear()
    fan_ms = median_ms(lambda: sharded.range_search_batch(q, RADIUS), reps)
    slowest = [max(s.seconds[i] for s in shards) for i in range(1, reps + 1)]  # no warm-up
    return {
        "shards": len(sharded.shards),
        "batch": q.shape[0],
        "one_index_ms": round(one_ms, 3),
        "sharded_ms": round(fan_ms, 3),
        "slowest_shard_ms": round(1000 * statistics.median(slowest), 3),
        "sharded_over_one": round(fan_ms / one_ms, 3),
        "exact": exact,
    }


if __name__ == "__main__":
    main()
