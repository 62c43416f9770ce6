"""Exact Hamming range search over 256-bit codes (PDQ digests): in memory, incremental, on disk.

from stopframe.index import HammingIndex
index = HammingIndex()
index.add([7, 8], [digest_a, digest_b])       # bytes, 64-char hex or (N, 32) uint8 arrays
index.range_search(query, radius=31)          # Matches(ids, distances), nearest first
index.save("list.sfidx"); HammingIndex.open("list.sfidx")   # memory-mapped, checksummed
"""

from stopframe.errors import IndexFileError
from stopframe.index.hamming import (
    DEFAULT_RADIUS,
    MAX_RADIUS,
    BatchMatches,
    HammingIndex,
    Matches,
    Pairs,
)

__all__ = [
    "DEFAULT_RADIUS",
    "MAX_RADIUS",
    "BatchMatches",
    "HammingIndex",
    "IndexFileError",
    "Matches",
    "Pairs",
]
