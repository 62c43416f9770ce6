"""How 256 bits split into multi-index chunks, and how a radius splits into per-chunk probe radii.

Pigeonhole (generalised): if d(q, x) <= r and the chunks get probe radii rho_c >= -1 with
sum(rho_c + 1) >= r + 1, then some chunk c has d_c(q, x) <= rho_c, so probing every chunk key
within rho_c of the query's finds every x within r (rho_c = -1 means "not probed").
Bits are spread over chunks by a fixed permutation so that the correlated DCT rows and columns
of PDQ do not pile into one chunk and overfill its buckets.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from itertools import combinations
from math import comb

import numpy as np

from stopframe.index.codes import CODE_BITS

_PERMUTATION_SEED = 0x5F3759DF


@dataclass(frozen=True)
class ChunkLayout:
    """Chunk widths (bits) and, per chunk, the digest bit positions (MSB-first) it gathers."""

    widths: np.ndarray  # (m,) uint8
    bitpos: np.ndarray  # (m, max width) int64, unused tail = 0

    @property
    def n_chunks(self) -> int:
        return int(self.widths.shape[0])

    @classmethod
    def for_size(cls, n_rows: int) -> ChunkLayout:
        """Chunk width grows with the number of rows (about 8 rows per bucket), 8 to 20 bits.

        Wider chunks mean fewer candidates but more probes and 2**width offsets per chunk;
        20 bits measured fastest at 10M rows on a 2-core machine (benchmarks/index.py)."""
        width = int(np.clip(np.round(np.log2(max(n_rows, 1))) - 3, 8, 20))
        return cls.with_width(width)

    @classmethod
    def with_width(cls, width: int) -> ChunkLayout:
        m = -(-CODE_BITS // width)
        widths = np.full(m, CODE_BITS // m, dtype=np.uint8)
        widths[: CODE_BITS - int(widths.sum())] += 1
        order = np.random.default_rng(_PERMUTATION_SEED).permutation(CODE_BITS)
        bitpos = np.zeros((m, int(widths.max())), dtype=np.int64)
        start = 0
        for c, w in enumerate(widths.tolist()):
            bitpos[c, :w] = np.sort(order[start : start + w])
            start += w
        return cls(widths, bitpos)


def ball_size(width: int, rho: int) -> int:
    """Number of width-bit keys within Hamming distance rho of a key."""
    return sum(comb(width, i) for i in range(rho + 1))


def plan_radii(widths: np.ndarray, radius: int, n_rows: int, probe_cost: float = 4.0) -> np.ndarray:
    """Per-chunk probe radii meeting the pigeonhole bound at least expected cost.

    Cost of a chunk = keys probed * (probe_cost + expected rows per bucket); it is convex in rho,
    so raising the cheapest increment first is optimal.
    """
    m = len(widths)
    rho = np.full(m, -1, dtype=np.int64)
    need = radius + 1
    if need > int(np.sum(np.asarray(widths, dtype=np.int64) + 1)):
        raise ValueError(f"radius {radius} too large for this layout")

    def cost(c: int, r: int) -> float:
        if r < 0:
            return 0.0
        w = int(widths[c])
        return ball_size(w, min(r, w)) * (probe_cost + n_rows / 2.0**w)

    for _ in range(need):
        best = min(
            (c for c in range(m) if rho[c] < widths[c]),
            key=lambda c: cost(c, int(rho[c]) + 1) - cost(c, int(rho[c])),
        )
        rho[best] += 1
    return rho


def plan_cost(widths: np.ndarray, rho: np.ndarray, n_rows: int, probe_cost: float = 4.0) -> float:
    """Expected work of a plan, in the units of plan_radii (a flat scan costs n_rows)."""
    return float(
        sum(
            ball_size(int(w), int(r)) * (probe_cost + n_rows / 2.0 ** int(w))
            for w, r in zip(widths, rho, strict=False)
            if r >= 0
        )
    )


@lru_cache(maxsize=256)
def flip_masks(width: int, rho: int) -> np.ndarray:
    """All width-bit masks with at most rho bits set, fewest bits first (int64)."""
    masks = [0]
    for k in range(1, min(rho, width) + 1):
        masks.extend(sum(1 << b for b in bits) for bits in combinations(range(width), k))
    out = np.asarray(masks, dtype=np.int64)
    out.flags.writeable = False
    return out


def probe_masks(widths: np.ndarray, rho: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Concatenated flip masks for a plan and the start of each chunk's run (m + 1 entries)."""
    parts = [
        flip_masks(int(w), int(r)) if r >= 0 else np.empty(0, np.int64)
        for w, r in zip(widths, rho, strict=False)
    ]
    start = np.zeros(len(parts) + 1, dtype=np.int64)
    start[1:] = np.cumsum([len(p) for p in parts])
    return np.concatenate(parts), start


@dataclass(frozen=True)
class ProbePlan:
    """Everything a multi-index search needs for one (layout, radius, size): or a flat scan."""

    rho: np.ndarray
    masks: np.ndarray
    mask_start: np.ndarray
    flat: bool


@lru_cache(maxsize=1024)
def _plan(widths: tuple[int, ...], radius: int, size_class: int) -> ProbePlan:
    w = np.asarray(widths, dtype=np.int64)
    n_rows = 1 << size_class
    if radius + 1 > int(np.sum(w + 1)):
        return ProbePlan(np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int64), True)
    rho = plan_radii(w, radius, n_rows)
    masks, start = probe_masks(w, rho)
    return ProbePlan(rho, masks, start, plan_cost(w, rho, n_rows) > n_rows)


def probe_plan(layout: ChunkLayout, radius: int, n_rows: int) -> ProbePlan:
    """Cached plan; sizes are rounded to a power of two so a growing index reuses plans."""
    return _plan(
        tuple(int(x) for x in layout.widths),
        int(radius),
        max(int(n_rows), 1).bit_length(),
    )
