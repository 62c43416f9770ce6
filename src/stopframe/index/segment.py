"""Immutable blocks of (id, code) rows: compact, or with multi-index bucket tables.

Both kinds are `SearchBackend`s. Rows are sorted by id (so membership is a binary search). A
compact segment holds only ids and codes (40 bytes per hash) and answers by scanning its rows
against tables of the queries (scan.py). A tabled segment adds, per chunk c, a CSR table:
offsets[base_c + key] .. offsets[base_c + key + 1] index into positions[c * n : (c + 1) * n], the
rows whose chunk-c key is `key` (about 57 more bytes per hash at 10M), which makes single
queries ~20x faster. Segments are never modified after build, so any number of readers can use
one while a writer builds the next.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import TypeAlias

import numpy as np
from numpy.typing import NDArray

from stopframe.index import kernels
from stopframe.index.backend import Hits
from stopframe.index.codes import as_words
from stopframe.index.kernels import Int64s
from stopframe.index.layout import ChunkLayout, probe_plan
from stopframe.index.scan import scan_search

_SLICE_MIN = 64  # queries per parallel task on a tabled segment

# run(select, cap, out_rows, out_dist, out_count): a kernel over the selected queries, cap hits each
Run: TypeAlias = Callable[[Int64s, int, Int64s, Int64s, Int64s], None]


def collect(run: Run, n_q: int, cap: int = 64) -> Hits:
    """Call run(select, cap, out_rows, out_dist, out_count) and redo overflowing queries with
    room."""
    out_rows = np.empty((n_q, cap), dtype=np.int64)
    out_dist = np.empty((n_q, cap), dtype=np.int64)
    counts = np.zeros(n_q, dtype=np.int64)
    run(np.arange(n_q), cap, out_rows, out_dist, counts)
    rows_parts: list[Int64s] = []
    dist_parts: list[Int64s] = []
    over = np.flatnonzero(counts > cap)
    redo: dict[int, tuple[Int64s, Int64s]] = {}
    for q in over.tolist():
        big = int(counts[q])
        r = np.empty((1, big), dtype=np.int64)
        d = np.empty((1, big), dtype=np.int64)
        c = np.zeros(1, dtype=np.int64)
        run(np.array([q]), big, r, d, c)
        redo[q] = (r[0], d[0])
    for q in range(n_q):
        if q in redo:
            rows_parts.append(redo[q][0])
            dist_parts.append(redo[q][1])
        else:
            rows_parts.append(out_rows[q, : counts[q]])
            dist_parts.append(out_dist[q, : counts[q]])
    if n_q:
        qs = np.repeat(np.arange(n_q), counts)
        return Hits(qs, np.concatenate(rows_parts), np.concatenate(dist_parts))
    return Hits.concat([])


@dataclass(frozen=True)
class _SortedRows:
    """Ids sorted for binary search and their codes; arrays may be memory-mapped read-only."""

    ids: NDArray[np.uint64]  # (n,) strictly increasing
    codes: NDArray[np.uint8]  # (n, 32)

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    def rows_of(self, ids: NDArray[np.uint64]) -> Int64s:
        """Row of each id, or -1 where this segment does not hold it."""
        n = len(self)
        if n == 0:
            return np.full(ids.shape[0], -1, dtype=np.int64)
        pos = np.searchsorted(self.ids, ids)
        pos_c = np.minimum(pos, n - 1)
        return np.where(self.ids[pos_c] == ids, pos_c, -1).astype(np.int64)


@dataclass(frozen=True)
class CompactSegment(_SortedRows):
    """Ids and codes only (40 bytes per hash), searched by scanning rows against query tables."""

    @property
    def nbytes(self) -> int:
        return int(self.ids.nbytes + self.codes.nbytes)

    def search(self, qcodes: NDArray[np.uint8], radius: int, pool: Executor | None = None) -> Hits:
        """Every (query, row, distance) within `radius` (exact), rows split over `pool` if given."""
        if len(self) == 0 or qcodes.shape[0] == 0:
            return Hits.concat([])
        return scan_search(as_words(self.codes), len(self), as_words(qcodes), radius, pool)


@dataclass(frozen=True)
class TabledSegment(_SortedRows):
    """Ids, codes and one CSR bucket table per chunk of `layout`, probed per query."""

    layout: ChunkLayout
    offsets: NDArray[np.uint32]  # concatenated per-chunk CSR offsets
    positions: NDArray[np.uint32]  # (m * n,)

    @property
    def nbytes(self) -> int:
        arrays = (self.ids, self.codes, self.offsets, self.positions)
        return sum(int(a.nbytes) for a in arrays)

    @property
    def offset_base(self) -> Int64s:
        """Where each chunk's offsets start in `offsets`."""
        base = np.zeros(self.layout.n_chunks, dtype=np.int64)
        base[1:] = np.cumsum((1 << self.layout.widths.astype(np.int64)) + 1)[:-1]
        return base

    def search(self, qcodes: NDArray[np.uint8], radius: int, pool: Executor | None = None) -> Hits:
        """Every (query, row, distance) within `radius` (exact), queries split over `pool`."""
        n_q = qcodes.shape[0]
        if len(self) == 0 or n_q == 0:
            return Hits.concat([])
        if pool is None or n_q < 2 * _SLICE_MIN:
            return self._probe(qcodes, radius)
        bounds = np.linspace(0, n_q, min(8, n_q // _SLICE_MIN) + 1).astype(int).tolist()
        spans = list(zip(bounds[:-1], bounds[1:], strict=True))
        parts = list(pool.map(lambda ab: self._probe(qcodes[ab[0] : ab[1]], radius), spans))
        return Hits.concat(
            [Hits(h.q + a, h.rows, h.dist) for h, (a, _) in zip(parts, spans, strict=True)]
        )

    def _probe(self, qcodes: NDArray[np.uint8], radius: int) -> Hits:
        """Multi-index probing of this segment's tables (a flat scan when probing costs more)."""
        n_q = qcodes.shape[0]
        qwords = as_words(qcodes)
        words = as_words(self.codes)
        n = len(self)
        plan = probe_plan(self.layout, radius, n)
        if plan.flat:

            def run_flat(sel: Int64s, cap: int, r: Int64s, d: Int64s, c: Int64s) -> None:
                kernels.flat_search(qwords[sel], words, n, radius, cap, r, d, c)

            return collect(run_flat, n_q)
        qkeys = kernels.chunk_keys(qcodes, self.layout.bitpos, self.layout.widths)
        base = self.offset_base
        masks, mask_start = plan.masks, plan.mask_start

        def run(sel: Int64s, cap: int, r: Int64s, d: Int64s, c: Int64s) -> None:
            kernels.mih_search(
                qwords[sel],
                qkeys[sel],
                words,
                self.offsets,
                base,
                self.positions,
                masks,
                mask_start,
                radius,
                cap,
                r,
                d,
                c,
            )

        return collect(run, n_q)


Segment: TypeAlias = CompactSegment | TabledSegment


def build_segment(
    ids: NDArray[np.uint64], codes: NDArray[np.uint8], tables: bool = False
) -> Segment:
    """Sort by id; with `tables`, build one table per chunk (counting sort, O(n) per chunk).
    Rows already in increasing id order are used as they are (no copy of the codes)."""
    if ids.size > 1 and not bool(np.all(ids[1:] > ids[:-1])):
        order = np.argsort(ids, kind="stable")
        ids = ids[order]
        if np.any(ids[1:] == ids[:-1]):
            raise ValueError("duplicate ids in one segment")
        codes = codes[order]
    ids = np.ascontiguousarray(ids)
    codes = np.ascontiguousarray(codes)
    if not tables:
        return CompactSegment(ids, codes)
    layout = ChunkLayout.for_size(ids.shape[0])
    n = ids.shape[0]
    offsets_parts = []
    positions = np.empty(layout.n_chunks * n, dtype=np.uint32)
    for c in range(layout.n_chunks):
        keys = kernels.chunk_keys(codes, layout.bitpos[c : c + 1], layout.widths[c : c + 1])[:, 0]
        offs, pos = kernels.build_table(keys, 1 << int(layout.widths[c]))
        offsets_parts.append(offs)
        positions[c * n : (c + 1) * n] = pos
    return TabledSegment(ids, codes, layout, np.concatenate(offsets_parts), positions)
