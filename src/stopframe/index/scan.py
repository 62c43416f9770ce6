"""Compact search: every row is read once per query batch and checked against tables of the queries.

A compact segment keeps only ids and codes (40 bytes per hash), no per-row tables. A batch is
answered by multi-index hashing turned around: the 256 bits are cut into 16 chunks of 16 bits
(chunk c = bits 16*(c % 4) .. of 64-bit word c // 4), and each query is entered in chunk c's
table under every key within rho_c of its own key. The generalised pigeonhole (see layout.py)
says a row within r of a query shares, in some chunk, a key with that query's entries, so each
row looks up its 16 keys (a bitmap test first, 8 KB per chunk) and verifies only the queries
found there. A pair is reported at the first chunk that reaches it, so never twice.
Tables are small (Q x sum(keys per chunk) entries), so they stay in cache while the rows stream
past; rows are split over threads. Tiny batches and large radii fall back to a flat scan.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import Executor
from functools import lru_cache
from typing import Any, TypeAlias

import numba
import numpy as np
from numpy.typing import NDArray

from stopframe.index.backend import Hits
from stopframe.index.kernels import Int64s, Words, _popcount64
from stopframe.index.layout import ball_size, probe_masks

N_CHUNKS = 16
CHUNK_BITS = 16
_KEYS = 1 << CHUNK_BITS
_BLOCK = 1024  # rows whose hits are gathered and verified together (their arrays fit L2)
_ROWS_PER_TASK = 1 << 18  # a thread's share of rows is at least this (thread start-up cost)

# Cost model (nanoseconds on one core, measured on a 2-core x86-64 machine at 10M rows):
# flat: per row and query; tables: per row and probed chunk, and per candidate pair.
_FLAT_NS = 0.9
_CHECK_NS = 2.2
_CANDIDATE_NS = 9.0
_MAX_ENTRIES = 1 << 24  # query-table entries beyond which a batch is split
_MAX_TABLE_QUERIES = (1 << 16) - 1  # query numbers in the tables are uint16

Int: TypeAlias = int | np.integer[Any]  # numba compiles Python and numpy integers alike
# a scan kernel: (words, lo, hi, *extra, out_q, out_r, out_d) -> (hits written, row to resume from)
Kernel: TypeAlias = Callable[..., tuple[Int, Int]]
QueryTables: TypeAlias = tuple[
    NDArray[np.uint64], NDArray[np.uint32], NDArray[np.uint32], NDArray[np.uint16]
]


@lru_cache(maxsize=512)
def scan_radii(radius: int, n_queries: int) -> tuple[int, ...] | None:
    """Per-chunk probe radii of least expected cost for this batch, or None when flat is cheaper.

    The pigeonhole needs sum(rho + 1) >= radius + 1 over the probed chunks. Each probed chunk
    costs a bitmap test per row plus its candidates (queries x keys / 65536 per row); for a
    given number of probed chunks the units are best spread evenly (key counts grow convexly
    with rho), so every count of chunks is costed and the cheapest plan kept.
    """

    def cost(r: int) -> float:
        if r < 0:
            return 0.0
        return _CHECK_NS + _CANDIDATE_NS * n_queries * ball_size(CHUNK_BITS, r) / _KEYS

    need = radius + 1
    plans: list[tuple[float, tuple[int, ...]]] = []
    for m in range(1, N_CHUNKS + 1):
        base, extra = divmod(need, m)
        if base + (extra > 0) > CHUNK_BITS + 1:
            continue  # a chunk cannot take a radius over its width
        rho = tuple(base - 1 + (c < extra) for c in range(m)) + (-1,) * (N_CHUNKS - m)
        plans.append((sum(cost(r) for r in rho), rho))
    total, rho = min(plans)
    if total >= _FLAT_NS * n_queries:
        return None
    return rho


@numba.njit(inline="always", cache=True)
def _chunk_key(words: Words, i: Int, c: Int) -> np.int64:
    return np.int64((words[i, c >> 2] >> np.uint64(16 * (c & 3))) & np.uint64(0xFFFF))


@numba.njit(inline="always", cache=True)
def _entry(bits: NDArray[np.uint64], rank: NDArray[np.uint32], k: Int) -> np.int64:
    """Number of the set bit k among all set bits of the bitmap: the key's entry in offs."""
    w = k >> 6
    below = bits[w] & ((np.uint64(1) << np.uint64(k & 63)) - np.uint64(1))
    entry: np.int64 = np.int64(rank[w]) + _popcount64(below)
    return entry


@numba.njit(nogil=True, cache=True)
def build_query_tables(qwords: Words, masks: Int64s, mask_start: Int64s) -> QueryTables:
    """Bitmap, rank and CSR lists of the queries under every probed key of every chunk.

    bits[c * 1024 + k // 64] has bit k % 64 set when some query sits under key k of chunk c;
    the entry's number among set bits (rank) indexes offs, and post[offs[e]:offs[e + 1]] are
    the queries under it.
    """
    n_q = qwords.shape[0]
    n_masks = mask_start[N_CHUNKS]
    n_words = N_CHUNKS * (_KEYS // 64)
    keys = np.empty((n_q, n_masks), dtype=np.int32)  # table key of every (query, probe)
    bits = np.zeros(n_words, dtype=np.uint64)
    for q in range(n_q):
        for c in range(N_CHUNKS):
            k0 = _chunk_key(qwords, q, c)
            for t in range(mask_start[c], mask_start[c + 1]):
                k = c * _KEYS + (k0 ^ masks[t])
                keys[q, t] = np.int32(k)
                bits[k >> 6] |= np.uint64(1) << np.uint64(k & 63)
    rank = np.empty(n_words + 1, dtype=np.uint32)
    s: Int = 0
    for i in range(n_words):
        rank[i] = s
        s += _popcount64(bits[i])
    rank[n_words] = s
    offs = np.zeros(s + 1, dtype=np.uint32)
    for q in range(n_q):
        for t in range(n_masks):
            keys[q, t] = np.int32(_entry(bits, rank, np.int64(keys[q, t])))  # now entry numbers
            offs[keys[q, t] + 1] += 1
    for i in range(s):
        offs[i + 1] += offs[i]
    fill = offs[:s].copy()
    post = np.empty(offs[s], dtype=np.uint16)  # query numbers: batches hold < 65536 queries
    for q in range(n_q):
        for t in range(n_masks):
            e = keys[q, t]
            post[fill[e]] = q
            fill[e] += 1
    return bits, rank, offs, post


@numba.njit(inline="always", cache=True)
def _emit(out_q: Int64s, out_r: Int64s, out_d: Int64s, n_out: Int, q: Int, r: Int, d: Int) -> Int:
    """Write one hit if there is room; count it either way (the caller resumes on overflow)."""
    if n_out < out_q.shape[0]:
        out_q[n_out] = q
        out_r[n_out] = r
        out_d[n_out] = d
    return n_out + 1


@numba.njit(nogil=True, cache=True)
def table_scan(
    words: Words,
    lo: Int,
    hi: Int,
    qwords: Words,
    rho: Int64s,
    bits: NDArray[np.uint64],
    rank: NDArray[np.uint32],
    offs: NDArray[np.uint32],
    post: NDArray[np.uint16],
    radius: Int,
    out_q: Int64s,
    out_r: Int64s,
    out_d: Int64s,
) -> tuple[Int, Int]:
    """Range search of rows lo..hi against query tables: (hits written, row to resume from).

    When a block of rows would overflow the output, the hits before it are kept and the scan
    stops at that block's first row (hi when it finished), so the caller resumes with room.

    Per block of rows: first every (row, chunk) key is tested against the bitmaps without
    branches, then the hits' bucket bounds are read, then each bucket's queries are verified;
    separate loops let memory loads overlap instead of waiting on each other.
    """
    cap = out_q.shape[0]
    n_out: Int = 0
    hit_row = np.empty(_BLOCK * N_CHUNKS, dtype=np.int32)
    hit_key = np.empty(_BLOCK * N_CHUNKS, dtype=np.int32)
    hit_lo = np.empty(_BLOCK * N_CHUNKS, dtype=np.uint32)
    hit_hi = np.empty(_BLOCK * N_CHUNKS, dtype=np.uint32)
    for b0 in range(lo, hi, _BLOCK):
        b1 = min(b0 + _BLOCK, hi)
        block_start = n_out
        n_hit = np.int64(0)
        for c in range(N_CHUNKS):
            if rho[c] < 0:
                continue
            for r in range(b0, b1):
                k = c * _KEYS + _chunk_key(words, r, c)
                hit_row[n_hit] = np.int32(r - b0)
                hit_key[n_hit] = np.int32(k)
                n_hit += np.int64((bits[k >> 6] >> np.uint64(k & 63)) & np.uint64(1))
        for i in range(n_hit):
            e = _entry(bits, rank, np.int64(hit_key[i]))
            hit_lo[i] = offs[e]
            hit_hi[i] = offs[e + 1]
        for i in range(n_hit):
            row = b0 + np.int64(hit_row[i])
            chunk = np.int64(hit_key[i] >> 16)
            w0, w1, w2, w3 = words[row, 0], words[row, 1], words[row, 2], words[row, 3]
            for p in range(np.int64(hit_lo[i]), np.int64(hit_hi[i])):
                q = np.int64(post[p])
                d = (
                    _popcount64(w0 ^ qwords[q, 0])
                    + _popcount64(w1 ^ qwords[q, 1])
                    + _popcount64(w2 ^ qwords[q, 2])
                    + _popcount64(w3 ^ qwords[q, 3])
                )
                if d > radius:
                    continue
                first = True  # report the pair only through the first chunk that reaches it
                for c2 in range(chunk):
                    if rho[c2] >= 0:
                        x = (qwords[q, c2 >> 2] ^ words[row, c2 >> 2]) >> np.uint64(16 * (c2 & 3))
                        if _popcount64(x & np.uint64(0xFFFF)) <= rho[c2]:
                            first = False
                            break
                if first:
                    n_out = _emit(out_q, out_r, out_d, n_out, q, row, d)
        if n_out > cap:
            return block_start, b0
    return n_out, hi


@numba.njit(nogil=True, cache=True)
def flat_scan(
    words: Words,
    lo: Int,
    hi: Int,
    qwords: Words,
    radius: Int,
    out_q: Int64s,
    out_r: Int64s,
    out_d: Int64s,
) -> tuple[Int, Int]:
    """Every (query, row) within radius for rows lo..hi, comparing all pairs: (hits written,
    row to resume from), stopping at the first block of rows that would overflow the output."""
    cap = out_q.shape[0]
    n_out: Int = 0
    for b0 in range(lo, hi, _BLOCK):
        block_start = n_out
        for r in range(b0, min(b0 + _BLOCK, hi)):
            w0, w1, w2, w3 = words[r, 0], words[r, 1], words[r, 2], words[r, 3]
            for q in range(qwords.shape[0]):
                d = _popcount64(w0 ^ qwords[q, 0]) + _popcount64(w1 ^ qwords[q, 1])
                if d > radius:
                    continue
                d += _popcount64(w2 ^ qwords[q, 2]) + _popcount64(w3 ^ qwords[q, 3])
                if d <= radius:
                    n_out = _emit(out_q, out_r, out_d, n_out, q, r, d)
        if n_out > cap:
            return block_start, b0
    return n_out, hi


def _run_part(kernel: Kernel, args: tuple[Any, ...], cap: int) -> Hits:
    """Run a scan kernel over rows lo..hi with room for `cap` hits, resuming with twice the
    room where it stopped whenever the output filled (no row is scanned more than twice)."""
    words, lo, hi, *extra = args
    parts = []
    while True:
        out = (np.empty(cap, np.int64), np.empty(cap, np.int64), np.empty(cap, np.int64))
        count, lo = kernel(words, lo, hi, *extra, *out)
        parts.append(Hits(out[0][:count], out[1][:count], out[2][:count]))
        if lo >= hi:
            return Hits.concat(parts) if len(parts) > 1 else parts[0]
        cap *= 2


def scan_search(
    words: Words,
    n_rows: int,
    qwords: Words,
    radius: int,
    pool: Executor | None = None,
    method: str = "auto",
) -> Hits:
    """Exact range search of a query batch over the first n_rows of `words` ((N, 4) uint64).

    method: "auto" (cost model), "tables" or "flat" (tests force each). Rows are split over
    `pool` when there are enough of them.
    """
    n_q = qwords.shape[0]
    if n_q == 0 or n_rows == 0:
        return Hits.concat([])
    if method == "auto":
        rho = scan_radii(radius, n_q)
    elif method == "tables":
        rho = _fit_radii(radius)
    elif method == "flat":
        rho = None
    else:
        raise ValueError(f"unknown scan method {method!r}")
    if rho is not None and (
        n_q > _MAX_TABLE_QUERIES
        or n_q * sum(ball_size(CHUNK_BITS, r) for r in rho if r >= 0) > _MAX_ENTRIES
    ):
        half = n_q // 2
        a = scan_search(words, n_rows, qwords[:half], radius, pool, method)
        b = scan_search(words, n_rows, qwords[half:], radius, pool, method)
        return Hits.concat([a, Hits(b.q + half, b.rows, b.dist)])
    kernel: Kernel
    extra: tuple[Any, ...]
    if rho is None:
        kernel, extra = flat_scan, (qwords, radius)
    else:
        rho_arr = np.asarray(rho, dtype=np.int64)
        masks, start = probe_masks(np.full(N_CHUNKS, CHUNK_BITS), rho_arr)
        tables = build_query_tables(qwords, masks, start)
        kernel, extra = table_scan, (qwords, rho_arr, *tables, radius)
    workers = os.cpu_count() or 1
    n_parts = 1 if pool is None else max(1, min(workers, n_rows // _ROWS_PER_TASK))
    bounds = np.linspace(0, n_rows, n_parts + 1).astype(np.int64)
    cap = max(1 << 16, 64 * n_q)  # untouched room is free; a full buffer resumes with more
    jobs = [
        (kernel, (words, int(lo), int(hi), *extra), cap)
        for lo, hi in zip(bounds, bounds[1:], strict=False)
    ]
    if n_parts == 1:
        return _run_part(*jobs[0])
    assert pool is not None
    return Hits.concat(list(pool.map(lambda job: _run_part(*job), jobs)))


def _fit_radii(radius: int) -> tuple[int, ...]:
    """Probe radii meeting the pigeonhole bound, spread evenly (for forcing the table kernel)."""
    need = radius + 1
    base, extra = divmod(need, N_CHUNKS)
    return tuple(base - 1 + (1 if c < extra else 0) for c in range(N_CHUNKS))
