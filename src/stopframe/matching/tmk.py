"""Search a list of TMK+PDQF video hashes: level 1 exactly over every entry, level 2 on the rest.

Only the level-1 vectors (each entry's pure average, 256 floats) are held in memory, as one
matrix of unit rows, so a query's level-1 scores against every entry are one matrix product
(exact, no approximation). The full features (about 257 KiB an entry) are fetched through
`load` only for entries whose level-1 score reaches the threshold, and scored at level 2.

In index generations an entry's unit level-1 vector is stored as `ROWS_PER_ENTRY` rows of the
segment format (little-endian float32, 32 bytes a row), so bases are checksummed files every API
worker maps; `TmkLevel1` scores a query against them in place.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np

from stopframe.index.codes import CODE_BYTES
from stopframe.signals.tmk import (
    FEATURE_DIM,
    LEVEL1_THRESHOLD,
    LEVEL2_THRESHOLD,
    TMK,
    TmkFeatures,
    level2_score,
)

K = TypeVar("K", bound=Hashable)
ROWS_PER_ENTRY = 4 * FEATURE_DIM // CODE_BYTES  # index rows holding one entry's level-1 vector
MAX_CANDIDATES = 1_000  # level-1 candidates a query is scored at level 2 against, best first


@dataclass(frozen=True, slots=True)
class TmkHit(Generic[K]):
    """One matching entry and both of its scores against the query."""

    key: K
    level1: float
    level2: float


def _unit(vector: np.ndarray) -> np.ndarray:
    """`vector` scaled to length 1, as float32 (a zero vector stays zero: it matches nothing)."""
    values = np.asarray(vector, dtype=np.float64)
    norm = float(np.linalg.norm(values))
    return (values / norm if norm > 0 else values).astype(np.float32)


class TmkIndex(Generic[K]):
    """TMK entries by key: level-1 vectors in memory, full features fetched with `load`."""

    def __init__(self, load: Callable[[K], TmkFeatures]) -> None:
        self._load = load
        self._keys: list[K] = []
        self._rows: dict[K, int] = {}
        self._vectors = np.zeros((0, FEATURE_DIM), dtype=np.float32)
        self._pending: list[np.ndarray] = []

    @classmethod
    def of_values(cls, values: Iterable[tuple[K, str]]) -> TmkIndex[K]:
        """An index of `tmk` signal values (canonical text) kept by key; each value is parsed
        once to index it and again only when it is a level-2 candidate."""
        kept = dict(values)
        index: TmkIndex[K] = cls(lambda key: TMK.features(kept[key]))
        for key, value in kept.items():
            index.add(key, TMK.features(value))
        return index

    def __len__(self) -> int:
        return len(self._keys)

    def add(self, key: K, features: TmkFeatures) -> None:
        """Index an entry (a key already present is refused: remove it first)."""
        if key in self._rows:
            raise KeyError(f"{key!r} is already indexed")
        if not features.is_standard():
            raise ValueError("only TMK+PDQF hashes with upstream's parameters can be indexed")
        self._rows[key] = len(self._keys)
        self._keys.append(key)
        self._pending.append(_unit(features.average))

    def remove(self, key: K) -> None:
        """Take an entry out of the index."""
        row = self._rows.pop(key)
        self._matrix()
        self._vectors = np.delete(self._vectors, row, axis=0)
        del self._keys[row]
        self._rows = {k: n for n, k in enumerate(self._keys)}

    def _matrix(self) -> np.ndarray:
        if self._pending:
            self._vectors = np.vstack([self._vectors, *self._pending])
            self._pending = []
        return self._vectors

    def level1(self, query: TmkFeatures) -> np.ndarray:
        """The level-1 score of `query` against every entry, in insertion order."""
        scores: np.ndarray = self._matrix() @ _unit(query.average)
        return scores

    def search(
        self,
        query: TmkFeatures,
        level1_min: float = LEVEL1_THRESHOLD,
        level2_min: float = LEVEL2_THRESHOLD,
    ) -> list[TmkHit[K]]:
        """Entries matching `query` at both levels, best level-2 score first."""
        if not len(self._keys):
            return []
        scores = self.level1(query)
        hits = []
        for row in np.flatnonzero(scores >= level1_min).tolist():
            key = self._keys[row]
            second = level2_score(query, self._load(key))
            if second >= level2_min:
                hits.append(TmkHit(key, float(scores[row]), second))
        return sorted(hits, key=lambda hit: -hit.level2)


def level1_code_bytes(features: TmkFeatures) -> bytes:
    """An entry's index rows: its unit level-1 vector as little-endian float32 bytes."""
    return _unit(features.average).astype("<f4").tobytes()


class TmkLevel1:
    """The level-1 vectors of a generation's rows, scored in place (mapped bases stay mapped):
    each part is (row ids, codes) of whole entries; entries whose first row id is in `removed`
    are left out."""

    def __init__(self, parts: Sequence[tuple[np.ndarray, np.ndarray]], removed: np.ndarray) -> None:
        """ValueError when a part's rows are not whole entries of consecutive row ids."""
        self._parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        for ids, codes in parts:
            ids = np.asarray(ids, dtype=np.uint64)
            if ids.shape[0] % ROWS_PER_ENTRY:
                raise ValueError(f"{ids.shape[0]} tmk rows are not whole entries")
            grouped = ids.reshape(-1, ROWS_PER_ENTRY)
            firsts = grouped[:, 0]
            steps = np.arange(ROWS_PER_ENTRY, dtype=np.uint64)
            if not np.array_equal(grouped - firsts[:, None], np.broadcast_to(steps, grouped.shape)):
                raise ValueError("tmk rows of an entry are not consecutive row ids")
            vectors = np.asarray(codes).reshape(-1, 4 * FEATURE_DIM).view("<f4")
            self._parts.append((firsts, vectors, ~np.isin(firsts, removed)))
        self._size = sum(int(live.sum()) for _, _, live in self._parts)

    def __len__(self) -> int:
        return self._size

    def candidates(
        self, query: TmkFeatures, level1_min: float = LEVEL1_THRESHOLD
    ) -> list[tuple[int, float]]:
        """(first row id, level-1 score) of the live entries reaching `level1_min`, best first,
        at most `MAX_CANDIDATES`."""
        unit = _unit(query.average)
        found: list[tuple[int, float]] = []
        for firsts, vectors, live in self._parts:
            scores = vectors @ unit
            for row in np.flatnonzero((scores >= level1_min) & live).tolist():
                found.append((int(firsts[row]), float(scores[row])))
        found.sort(key=lambda hit: -hit[1])
        return found[:MAX_CANDIDATES]
