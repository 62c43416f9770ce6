"""Disjoint sets (union-find) over 0..n-1: groups grow by edges, whatever order they arrive in."""

from __future__ import annotations

import numpy as np


class DisjointSets:
    """Path halving, and the smaller root wins a union: the root of a set is its smallest
    member, so labels do not depend on the order edges were added."""

    def __init__(self, size: int) -> None:
        self.parent = np.arange(size, dtype=np.int64)

    def find(self, item: int) -> int:
        parent = self.parent
        while parent[item] != item:
            parent[item] = parent[parent[item]]
            item = int(parent[item])
        return item

    def union(self, a: int, b: int) -> None:
        root_a, root_b = self.find(a), self.find(b)
        if root_a != root_b:
            low, high = sorted((root_a, root_b))
            self.parent[high] = low

    def union_pairs(self, a: np.ndarray, b: np.ndarray) -> None:
        """Join each pair (a[k], b[k]); repeated pairs are joined once."""
        if not len(a):
            return
        low, high = np.minimum(a, b), np.maximum(a, b)
        pairs = np.unique(np.stack([low, high], axis=1), axis=0)
        for x, y in pairs.tolist():
            self.union(x, y)

    def labels(self) -> np.ndarray:
        """The root (smallest member) of every item's set."""
        return np.array([self.find(i) for i in range(len(self.parent))], dtype=np.int64)
