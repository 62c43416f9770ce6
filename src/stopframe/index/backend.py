"""What every exact search backend (CPU segments, GPU flat index) offers, and the hits it returns.

A backend holds rows (an id and a 256-bit code each) and answers a range search of a query batch
with `Hits`: row numbers, not ids, so the caller can drop removed rows before mapping rows to
ids through `ids`. The public results (`Matches`, `BatchMatches`, `Pairs`) are built from these.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True)
class Hits:
    """Range-search hits as parallel int64 arrays: query number, row number, distance, unordered."""

    q: NDArray[np.int64]
    rows: NDArray[np.int64]
    dist: NDArray[np.int64]

    @classmethod
    def concat(cls, parts: Sequence[Hits]) -> Hits:
        """All hits of `parts` in one (no hits when there are no parts)."""
        if not parts:
            return cls(np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int64))
        return cls(
            np.concatenate([p.q for p in parts]),
            np.concatenate([p.rows for p in parts]),
            np.concatenate([p.dist for p in parts]),
        )


@runtime_checkable
class SearchBackend(Protocol):
    """Rows of (id, code) searched exactly by Hamming distance; row r holds id ids[r]."""

    @property
    def ids(self) -> NDArray[np.uint64]:
        """The id of every row, (n,) uint64."""
        ...

    def __len__(self) -> int:
        """Number of rows."""
        ...

    def search(self, qcodes: NDArray[np.uint8], radius: int, pool: Executor | None = None) -> Hits:
        """Every (query, row, distance) within `radius` of the (Q, 32) uint8 queries, exactly."""
        ...
