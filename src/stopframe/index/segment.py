"""An immutable block of (id, code) rows, compact or with multi-index bucket tables.

Rows are sorted by id (so membership is a binary search). A compact segment holds only ids and
codes (40 bytes per hash) and answers by scanning its rows against tables of the queries
(scan.py). A tabled segment adds, per chunk c, a CSR table: offsets[base_c + key] ..
offsets[base_c + key + 1] index into positions[c * n : (c + 1) * n], the rows whose chunk-c key
is `key` (about 57 more bytes per hash at 10M), which makes single queries ~20x faster.
Segments are never modified after build, so any number of readers can use one while a writer
builds the next.
"""

from __future__ import annotations

from concurrent.futures import Executor
from dataclasses import dataclass

import numpy as np

from stopframe.index import kernels
from stopframe.index.codes import as_words
from stopframe.index.layout import ChunkLayout, probe_plan
from stopframe.index.scan import Triples, scan_search

_SLICE_MIN = 64  # queries per parallel task on a tabled segment


@dataclass(frozen=True)
class Hits:
    """Range-search hits of a query batch in CSR form: query i owns rows[start[i]:start[i + 1]]."""

    start: np.ndarray  # (Q + 1,) int64
    rows: np.ndarray  # int64
    dist: np.ndarray  # int64


def collect(run, n_q: int, cap: int = 64) -> Hits:
    """Call run(select, cap, out_rows, out_dist, out_count) and redo overflowing queries with room."""
    out_rows = np.empty((n_q, cap), dtype=np.int64)
    out_dist = np.empty((n_q, cap), dtype=np.int64)
    counts = np.zeros(n_q, dtype=np.int64)
    run(np.arange(n_q), cap, out_rows, out_dist, counts)
    rows_parts: list[np.ndarray] = []
    dist_parts: list[np.ndarray] = []
    over = np.flatnonzero(counts > cap)
    redo: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for q in over:
        big = int(counts[q])
        r = np.empty((1, big), dtype=np.int64)
        d = np.empty((1, big), dtype=np.int64)
        c = np.zeros(1, dtype=np.int64)
        run(np.array([q]), big, r, d, c)
        redo[int(q)] = (r[0], d[0])
    for q in range(n_q):
        if q in redo:
            rows_parts.append(redo[q][0])
            dist_parts.append(redo[q][1])
        else:
            rows_parts.append(out_rows[q, : counts[q]])
            dist_parts.append(out_dist[q, : counts[q]])
    start = np.zeros(n_q + 1, dtype=np.int64)
    start[1:] = np.cumsum(counts)
    if n_q:
        return Hits(start, np.concatenate(rows_parts), np.concatenate(dist_parts))
    return Hits(start, np.empty(0, np.int64), np.empty(0, np.int64))


@dataclass(frozen=True)
class Segment:
    """Sorted ids, their codes and optional chunk tables; arrays may be memory-mapped read-only."""

    ids: np.ndarray  # (n,) uint64, strictly increasing
    codes: np.ndarray  # (n, 32) uint8
    layout: ChunkLayout | None = None  # None: compact (no tables)
    offsets: np.ndarray | None = None  # concatenated per-chunk CSR offsets, uint32
    positions: np.ndarray | None = None  # (m * n,) uint32

    @property
    def size(self) -> int:
        return int(self.ids.shape[0])

    @property
    def tabled(self) -> bool:
        return self.layout is not None

    @property
    def nbytes(self) -> int:
        arrays = (self.ids, self.codes, self.offsets, self.positions)
        return sum(a.nbytes for a in arrays if a is not None)

    @property
    def offset_base(self) -> np.ndarray:
        assert self.layout is not None
        base = np.zeros(self.layout.n_chunks, dtype=np.int64)
        base[1:] = np.cumsum((1 << self.layout.widths.astype(np.int64)) + 1)[:-1]
        return base

    @classmethod
    def build(cls, ids: np.ndarray, codes: np.ndarray, tables: bool = False) -> Segment:
        """Sort by id; with `tables`, build one table per chunk (counting sort, O(n) per chunk)."""
        order = np.argsort(ids, kind="stable")
        ids = np.ascontiguousarray(ids[order])
        if ids.size > 1 and np.any(ids[1:] == ids[:-1]):
            raise ValueError("duplicate ids in one segment")
        codes = np.ascontiguousarray(codes[order])
        if not tables:
            return cls(ids, codes)
        layout = ChunkLayout.for_size(ids.shape[0])
        n = ids.shape[0]
        offsets_parts = []
        positions = np.empty(layout.n_chunks * n, dtype=np.uint32)
        for c in range(layout.n_chunks):
            keys = kernels.chunk_keys(
                codes, layout.bitpos[c : c + 1], layout.widths[c : c + 1]
            )[:, 0]
            offs, pos = kernels.build_table(keys, 1 << int(layout.widths[c]))
            offsets_parts.append(offs)
            positions[c * n : (c + 1) * n] = pos
        return cls(ids, codes, layout, np.concatenate(offsets_parts), positions)

    def search(self, qcodes: np.ndarray, radius: int, pool: Executor | None = None) -> Triples:
        """Every (query, row, distance) within `radius` (exact), parallel over `pool` if given."""
        n_q = qcodes.shape[0]
        if self.size == 0 or n_q == 0:
            return Triples.concat([])
        if not self.tabled:
            return scan_search(as_words(self.codes), self.size, as_words(qcodes), radius, pool)
        if pool is None or n_q < 2 * _SLICE_MIN:
            return _as_triples(self._probe(qcodes, radius))
        bounds = np.linspace(0, n_q, min(8, n_q // _SLICE_MIN) + 1).astype(int)
        parts = list(pool.map(lambda ab: self._probe(qcodes[ab[0] : ab[1]], radius),
                              zip(bounds, bounds[1:])))
        return Triples.concat([_as_triples(h, int(a)) for h, a in zip(parts, bounds)])

    def _probe(self, qcodes: np.ndarray, radius: int) -> Hits:
        """Multi-index probing of this segment's tables (a flat scan when probing costs more)."""
        assert self.layout is not None and self.offsets is not None and self.positions is not None
        n_q = qcodes.shape[0]
        qwords = as_words(qcodes)
        words = as_words(self.codes)
        plan = probe_plan(self.layout, radius, self.size)
        if plan.flat:

            def run_flat(sel, cap, r, d, c):
                kernels.flat_search(qwords[sel], words, self.size, radius, cap, r, d, c)

            return collect(run_flat, n_q)
        qkeys = kernels.chunk_keys(qcodes, self.layout.bitpos, self.layout.widths)
        base = self.offset_base
        masks, mask_start = plan.masks, plan.mask_start

        def run(sel, cap, r, d, c):
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

    def rows_of(self, ids: np.ndarray) -> np.ndarray:
        """Row of each id, or -1 where this segment does not hold it."""
        if self.size == 0:
            return np.full(ids.shape[0], -1, dtype=np.int64)
        pos = np.searchsorted(self.ids, ids)
        pos_c = np.minimum(pos, self.size - 1)
        return np.where(self.ids[pos_c] == ids, pos_c, -1).astype(np.int64)


def _as_triples(hits: Hits, q_offset: int = 0) -> Triples:
    q = np.repeat(np.arange(hits.start.shape[0] - 1), np.diff(hits.start)) + q_offset
    return Triples(q, hits.rows, hits.dist)
