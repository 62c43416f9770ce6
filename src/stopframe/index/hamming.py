"""HammingIndex: exact Hamming range search, k-nearest and self-join over 256-bit codes.

Concurrency model (copy-on-write snapshots): the index state is one immutable `_Snapshot`
(tuple of immutable segments, their tombstones, and the used length of an append-only delta
buffer). A reader takes the current snapshot once and answers from it alone, so it sees either
all or none of a concurrent write. Writers serialise on a lock, build the next snapshot beside
the current one (appending only past the readers' delta length, copying tombstone arrays) and
publish it with one reference assignment. Searches release the GIL in the compiled kernels.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from stopframe.index import kernels
from stopframe.index.backend import Hits, SearchBackend
from stopframe.index.codes import (
    CODE_BYTES,
    CodesLike,
    IdsLike,
    as_codes,
    as_ids,
    as_words,
)
from stopframe.index.pools import LazyPool
from stopframe.index.scan import scan_search
from stopframe.index.segment import Segment, TabledSegment, build_segment
from stopframe.signals.pdq import PDQ

DEFAULT_RADIUS = PDQ.default_threshold  # the PDQ type's match distance
MAX_RADIUS = 64
DELTA_LIMIT = 32_768  # rows kept in the flat-scanned delta before they become a segment
DEAD_LIMIT = 0.25  # a segment is rebuilt once this share of its rows is removed


@dataclass(frozen=True)
class Matches:
    """Hits of one query, nearest first (ties by id): `ids` uint64 and `distances` int64."""

    ids: np.ndarray
    distances: np.ndarray

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    def __iter__(self) -> Iterator[tuple[int, int]]:
        return iter(zip(self.ids.tolist(), self.distances.tolist(), strict=False))


@dataclass(frozen=True)
class BatchMatches:
    """Hits of a query batch in CSR form: query i owns ids[start[i]:start[i + 1]]."""

    start: np.ndarray
    ids: np.ndarray
    distances: np.ndarray

    def __len__(self) -> int:
        return int(self.start.shape[0] - 1)

    def __getitem__(self, i: int) -> Matches:
        lo, hi = int(self.start[i]), int(self.start[i + 1])
        return Matches(self.ids[lo:hi], self.distances[lo:hi])

    def __iter__(self) -> Iterator[Matches]:
        return (self[i] for i in range(len(self)))

    def query_index(self) -> np.ndarray:
        """The query number of every hit (same length as `ids`)."""
        return np.repeat(np.arange(len(self)), np.diff(self.start))


@dataclass(frozen=True)
class Pairs:
    """Self-join result: id_a < id_b for every pair, sorted by (id_a, id_b)."""

    id_a: np.ndarray
    id_b: np.ndarray
    distances: np.ndarray

    def __len__(self) -> int:
        return int(self.id_a.shape[0])


@dataclass(frozen=True)
class _Snapshot:
    segments: tuple[Segment, ...] = ()
    dead: tuple[np.ndarray, ...] = ()  # sorted dead rows, one array per segment
    delta_ids: np.ndarray = field(default_factory=lambda: np.empty(0, np.uint64))
    delta_codes: np.ndarray = field(default_factory=lambda: np.empty((0, CODE_BYTES), np.uint8))
    delta_n: int = 0
    delta_dead: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    size: int = 0

    def locate(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(where, row) of each id among live entries: where = segment number, -2 delta, -1
        absent."""
        where = np.full(ids.shape[0], -1, dtype=np.int64)
        rows = np.full(ids.shape[0], -1, dtype=np.int64)
        for s, (seg, dead) in enumerate(zip(self.segments, self.dead, strict=False)):
            r = seg.rows_of(ids)
            live = (r >= 0) & ~np.isin(r, dead)
            where[live], rows[live] = s, r[live]
        if self.delta_n:
            live = np.ones(self.delta_n, dtype=bool)
            live[self.delta_dead] = False
            live_rows = np.flatnonzero(
                live
            )  # live delta ids are unique: add() drops old ones first
            live_ids = self.delta_ids[: self.delta_n][live_rows]
            order = np.argsort(live_ids)
            pos = np.minimum(np.searchsorted(live_ids[order], ids), max(live_rows.size - 1, 0))
            if live_rows.size:
                hit = live_ids[order][pos] == ids
                where[hit], rows[hit] = -2, live_rows[order][pos][hit]
        return where, rows

    def export(self) -> tuple[np.ndarray, np.ndarray]:
        """Ids and codes of every live entry."""
        ids, codes = [], []
        for seg, dead in zip(self.segments, self.dead, strict=False):
            keep = np.ones(len(seg), dtype=bool)
            keep[dead] = False
            ids.append(np.asarray(seg.ids)[keep])
            codes.append(np.asarray(seg.codes)[keep])
        keep = np.ones(self.delta_n, dtype=bool)
        keep[self.delta_dead] = False
        ids.append(self.delta_ids[: self.delta_n][keep])
        codes.append(self.delta_codes[: self.delta_n][keep])
        return np.concatenate(ids), np.concatenate(codes)

    def search(
        self, qcodes: np.ndarray, radius: int, pool: ThreadPoolExecutor | None = None
    ) -> BatchMatches:
        """Exact range search of a query batch against every live entry of this snapshot."""
        n_q = qcodes.shape[0]
        q_parts: list[NDArray[np.int64]] = []
        id_parts: list[NDArray[np.uint64]] = []
        d_parts: list[NDArray[np.int64]] = []
        backends: tuple[SearchBackend, ...] = self.segments
        for backend, dead in zip(backends, self.dead, strict=False):
            hits = backend.search(qcodes, radius, pool)
            _gather(hits, dead, backend.ids, q_parts, id_parts, d_parts)
        if self.delta_n:
            hits = scan_search(
                as_words(self.delta_codes), self.delta_n, as_words(qcodes), radius, pool
            )
            _gather(hits, self.delta_dead, self.delta_ids, q_parts, id_parts, d_parts)
        q = np.concatenate(q_parts) if q_parts else np.empty(0, np.int64)
        ids = np.concatenate(id_parts) if id_parts else np.empty(0, np.uint64)
        dist = np.concatenate(d_parts) if d_parts else np.empty(0, np.int64)
        order = np.lexsort((ids, dist, q))
        start = np.zeros(n_q + 1, dtype=np.int64)
        start[1:] = np.cumsum(np.bincount(q, minlength=n_q))
        return BatchMatches(start, ids[order], dist[order])


def _gather(
    hits: Hits,
    dead: NDArray[np.int64],
    ids: NDArray[np.uint64],
    q_parts: list[NDArray[np.int64]],
    id_parts: list[NDArray[np.uint64]],
    d_parts: list[NDArray[np.int64]],
) -> None:
    """Append the hits on live rows, rows turned into ids, to the three part lists."""
    keep = ~np.isin(hits.rows, dead) if dead.size else np.ones(hits.rows.shape[0], dtype=bool)
    q_parts.append(hits.q[keep])
    id_parts.append(np.asarray(ids)[hits.rows[keep]])
    d_parts.append(hits.dist[keep])


def _check_radius(radius: int) -> int:
    if (
        isinstance(radius, bool)
        or not isinstance(radius, (int, np.integer))
        or not 0 <= radius <= MAX_RADIUS
    ):
        raise ValueError(f"radius must be an integer from 0 to {MAX_RADIUS}, got {radius!r}")
    return int(radius)


_POOL = LazyPool(os.cpu_count() or 1, "stopframe-index")


def _pool() -> ThreadPoolExecutor:
    return _POOL.get()


def _merge(parts: list[BatchMatches]) -> BatchMatches:
    offsets = np.cumsum([0] + [p.ids.shape[0] for p in parts[:-1]])
    start = np.concatenate([[0]] + [p.start[1:] + o for p, o in zip(parts, offsets, strict=True)])
    return BatchMatches(
        start.astype(np.int64),
        np.concatenate([p.ids for p in parts]),
        np.concatenate([p.distances for p in parts]),
    )


class HammingIndex:
    """Exact Hamming search over 256-bit codes keyed by caller-chosen uint64 ids.

    `add` inserts or replaces, `remove` deletes; both are incremental (a flat delta plus tombstones,
    folded into segments in the background of the write). Safe for any number of reader threads
    alongside writers. Compact by default (40 bytes per hash, fastest on batches); `tables=True`
    adds multi-index tables (about 97 bytes per hash at 10M) for fast single queries.
    """

    def __init__(self, delta_limit: int = DELTA_LIMIT, tables: bool = False) -> None:
        """`delta_limit`: rows kept in the delta before they are folded into a segment."""
        if delta_limit < 1:
            raise ValueError("delta_limit must be at least 1")
        self._snap = _Snapshot()
        self._write = threading.Lock()
        self._delta_limit = int(delta_limit)
        self._tables = bool(tables)

    @property
    def tables(self) -> bool:
        """Whether segments carry multi-index tables (fast single queries, more memory)."""
        return self._tables

    @classmethod
    def build(
        cls, ids: IdsLike, codes: CodesLike, delta_limit: int = DELTA_LIMIT, tables: bool = False
    ) -> HammingIndex:
        """Bulk-load: one segment built straight from the arrays (ids must be distinct)."""
        codes = as_codes(codes)
        ids = as_ids(ids, codes.shape[0])
        index = cls(delta_limit, tables)
        seg = build_segment(ids, codes, tables)
        index._snap = _Snapshot((seg,), (np.empty(0, np.int64),), size=len(seg))
        return index

    @classmethod
    def layered(
        cls,
        base: Segment | None,
        removed: IdsLike = (),
        add_ids: IdsLike = (),
        add_codes: CodesLike = (),
    ) -> HammingIndex:
        """A read view of a shared (memory-mapped) base segment, less `removed` ids, plus a small
        flat delta: no copy of the base, so many processes can map one file and each hold only
        its own delta."""
        codes = as_codes(add_codes)
        ids = as_ids(add_ids, codes.shape[0])
        index = cls(
            delta_limit=max(DELTA_LIMIT, ids.shape[0] + 1),
            tables=bool(base is not None and isinstance(base, TabledSegment)),
        )
        segments: tuple[Segment, ...] = () if base is None else (base,)
        dead: tuple[np.ndarray, ...] = ()
        size = ids.shape[0]
        if base is not None:
            rows = base.rows_of(np.unique(as_ids(removed)))
            dead = (np.sort(rows[rows >= 0]).astype(np.int64),)
            size += len(base) - dead[0].shape[0]
        index._snap = _Snapshot(segments, dead, ids.copy(), codes.copy(), ids.shape[0], size=size)
        return index

    # -- writing -------------------------------------------------------------------------
    def add(self, ids: IdsLike, codes: CodesLike) -> None:
        """Insert codes under ids; an id already present gets the new code (its old one is
        removed)."""
        codes = as_codes(codes)
        ids = as_ids(ids, codes.shape[0])
        if np.unique(ids).shape[0] != ids.shape[0]:
            raise ValueError("duplicate ids in one add() call")
        with self._write:
            snap = self._drop(self._snap, ids)
            n, k = snap.delta_n, ids.shape[0]
            d_ids, d_codes = snap.delta_ids, snap.delta_codes
            if n + k > d_ids.shape[0]:
                cap = max(1024, 2 * (n + k))
                d_ids = np.concatenate([d_ids[:n], np.empty(cap - n, np.uint64)])
                d_codes = np.concatenate([d_codes[:n], np.empty((cap - n, CODE_BYTES), np.uint8)])
            d_ids[n : n + k] = ids
            d_codes[n : n + k] = codes
            snap = replace(
                snap,
                delta_ids=d_ids,
                delta_codes=d_codes,
                delta_n=n + k,
                size=snap.size + k,
            )
            if snap.delta_n - snap.delta_dead.shape[0] >= self._delta_limit:
                snap = self._flush(snap, self._tables)
            self._snap = snap

    def remove(self, ids: IdsLike) -> int:
        """Delete these ids; unknown ids are ignored. Returns how many were removed."""
        ids = np.unique(as_ids(ids))
        with self._write:
            before = self._snap.size
            snap = self._drop(self._snap, ids)
            self._snap = self._compact_dead(snap, self._tables)
            return before - snap.size

    def compact(self) -> None:
        """Fold the delta and all segments into one segment without tombstones."""
        with self._write:
            ids, codes = self._snap.export()
            segs = (build_segment(ids, codes, self._tables),) if ids.size else ()
            self._snap = _Snapshot(
                segs, tuple(np.empty(0, np.int64) for _ in segs), size=int(ids.size)
            )

    @staticmethod
    def _drop(snap: _Snapshot, ids: np.ndarray) -> _Snapshot:
        where, rows = snap.locate(ids)
        if not np.any(where != -1):
            return snap
        dead = tuple(
            np.union1d(d, rows[where == s]) if np.any(where == s) else d
            for s, d in enumerate(snap.dead)
        )
        delta_dead = (
            np.union1d(snap.delta_dead, rows[where == -2])
            if np.any(where == -2)
            else snap.delta_dead
        )
        return replace(
            snap,
            dead=dead,
            delta_dead=delta_dead,
            size=snap.size - int(np.sum(where != -1)),
        )

    @staticmethod
    def _flush(snap: _Snapshot, tables: bool) -> _Snapshot:
        """Turn the live delta rows into a segment, merging equal-sized neighbours
        (log-structured)."""
        keep = np.ones(snap.delta_n, dtype=bool)
        keep[snap.delta_dead] = False
        new = build_segment(
            snap.delta_ids[: snap.delta_n][keep], snap.delta_codes[: snap.delta_n][keep], tables
        )
        segs, dead = list(snap.segments), list(snap.dead)
        segs.append(new)
        dead.append(np.empty(0, np.int64))
        while len(segs) >= 2 and len(segs[-2]) - dead[-2].size <= 2 * (
            len(segs[-1]) - dead[-1].size
        ):
            merged = _Snapshot((segs[-2], segs[-1]), (dead[-2], dead[-1])).export()
            segs[-2:] = [build_segment(*merged, tables)]
            dead[-2:] = [np.empty(0, np.int64)]
        return replace(
            snap,
            segments=tuple(segs),
            dead=tuple(dead),
            delta_ids=np.empty(0, np.uint64),
            delta_codes=np.empty((0, CODE_BYTES), np.uint8),
            delta_n=0,
            delta_dead=np.empty(0, np.int64),
        )

    @staticmethod
    def _compact_dead(snap: _Snapshot, tables: bool) -> _Snapshot:
        """Rebuild segments that lost more than DEAD_LIMIT of their rows."""
        segs, dead = list(snap.segments), list(snap.dead)
        for s, (seg, d) in enumerate(zip(segs, dead, strict=False)):
            if d.size and d.size > DEAD_LIMIT * len(seg):
                ids, codes = _Snapshot((seg,), (d,)).export()
                segs[s], dead[s] = build_segment(ids, codes, tables), np.empty(0, np.int64)
        return replace(snap, segments=tuple(segs), dead=tuple(dead))

    # -- reading -------------------------------------------------------------------------
    def __len__(self) -> int:
        return self._snap.size

    @property
    def nbytes(self) -> int:
        """Bytes held by the index arrays (ids, codes, tables, delta), mapped or in memory."""
        snap = self._snap
        segs = sum(s.nbytes for s in snap.segments)
        return (
            segs
            + snap.delta_ids.nbytes
            + snap.delta_codes.nbytes
            + sum(d.nbytes for d in snap.dead)
        )

    def __contains__(self, id_: object) -> bool:
        if (
            isinstance(id_, bool)
            or not isinstance(id_, (int, np.integer))
            or id_ < 0
            or id_ >= 2**64
        ):
            return False
        where, _ = self._snap.locate(np.array([id_], dtype=np.uint64))
        return bool(where[0] != -1)

    def export(self) -> tuple[np.ndarray, np.ndarray]:
        """(ids, codes) of every entry: uint64 (N,) and uint8 (N, 32)."""
        return self._snap.export()

    def range_search(self, code: CodesLike, radius: int = DEFAULT_RADIUS) -> Matches:
        """Every (id, distance) within `radius` (0-64) of one code, nearest first."""
        qcodes = as_codes(code)
        if qcodes.shape[0] != 1:
            raise ValueError("range_search takes one code; use range_search_batch for many")
        return self.range_search_batch(qcodes, radius)[0]

    def range_search_batch(self, codes: CodesLike, radius: int = DEFAULT_RADIUS) -> BatchMatches:
        """Range search for many codes at once, spread over the CPU cores."""
        radius = _check_radius(radius)
        qcodes = as_codes(codes)
        return self._search(qcodes, radius)

    def _search(self, qcodes: np.ndarray, radius: int) -> BatchMatches:
        return self._snap.search(qcodes, radius, _pool())

    def knn(self, code: CodesLike, k: int) -> Matches:
        """The k nearest entries (ties by id), exact at any distance."""
        qcodes = as_codes(code)
        if qcodes.shape[0] != 1:
            raise ValueError("knn takes one code; use knn_batch for many")
        return self.knn_batch(qcodes, k)[0]

    def knn_batch(self, codes: CodesLike, k: int) -> BatchMatches:
        """k-nearest for each code: widening exact range searches until k live entries are
        inside."""
        if k < 1:
            raise ValueError("k must be at least 1")
        qcodes = as_codes(codes)
        snap = self._snap
        results: list[BatchMatches] = []
        for i in range(qcodes.shape[0]):
            q = qcodes[i : i + 1]
            for radius in (15, 31, 47, 64, 96, 128):
                hit = snap.search(q, radius, _pool())
                if hit.ids.shape[0] >= k:
                    break
            else:
                hit = _flat_all(snap, q)
            m = min(k, hit.ids.shape[0])
            results.append(BatchMatches(np.array([0, m]), hit.ids[:m], hit.distances[:m]))
        if not results:
            return BatchMatches(
                np.zeros(1, np.int64), np.empty(0, np.uint64), np.empty(0, np.int64)
            )
        return _merge(results)

    def self_join(self, radius: int = DEFAULT_RADIUS, batch: int = 8192) -> Pairs:
        """All pairs of entries within `radius`, each once (id_a < id_b): the basis of
        clustering."""
        radius = _check_radius(radius)
        snap = self._snap
        ids, codes = snap.export()
        a_parts, b_parts, d_parts = [], [], []
        for lo in range(0, ids.shape[0], batch):
            res = snap.search(codes[lo : lo + batch], radius, _pool())
            qa = ids[lo : lo + batch][res.query_index()]
            keep = qa < res.ids
            a_parts.append(qa[keep])
            b_parts.append(res.ids[keep])
            d_parts.append(res.distances[keep])
        a = np.concatenate(a_parts) if a_parts else np.empty(0, np.uint64)
        b = np.concatenate(b_parts) if b_parts else np.empty(0, np.uint64)
        d = np.concatenate(d_parts) if d_parts else np.empty(0, np.int64)
        order = np.lexsort((b, a))
        return Pairs(a[order], b[order], d[order])

    # -- persistence ---------------------------------------------------------------------
    def save(self, path: str | os.PathLike[str]) -> None:
        """Write one compacted segment to `path` atomically (temp file, fsync, rename)."""
        from stopframe.index.storage import write_segment

        snap = self._snap
        if (
            len(snap.segments) == 1
            and not snap.dead[0].size
            and snap.delta_n == len(snap.delta_dead)
            and isinstance(snap.segments[0], TabledSegment) == self._tables
        ):
            seg = snap.segments[0]
        else:
            seg = build_segment(*snap.export(), self._tables)
        write_segment(Path(path), seg)

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        verify: bool = True,
        delta_limit: int = DELTA_LIMIT,
    ) -> HammingIndex:
        """Memory-map an index file (compact or tabled, as saved); checksums are verified unless
        verify=False. Raises IndexFileError."""
        from stopframe.index.storage import read_segment

        seg = read_segment(Path(path), verify=verify)
        index = cls(delta_limit, isinstance(seg, TabledSegment))
        index._snap = _Snapshot((seg,), (np.empty(0, np.int64),), size=len(seg))
        return index


def _flat_all(snap: _Snapshot, qcodes: np.ndarray) -> BatchMatches:
    """Every live entry with its distance to one query, nearest first (ties by id)."""
    ids, codes = snap.export()
    dist = kernels.flat_distances(0, as_words(qcodes), as_words(codes), ids.shape[0]).astype(
        np.int64
    )
    order = np.lexsort((ids, dist))
    return BatchMatches(np.array([0, ids.shape[0]]), ids[order], dist[order])
