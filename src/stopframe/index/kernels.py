"""Compiled (numba) inner loops: chunk keys, bucket tables, multi-index probing and flat scans.

Every kernel is serial and releases the GIL (`nogil=True`), so batches run in parallel on Python
threads and concurrent readers never share numba's threading layer. Codes are (N, 4) uint64 rows
(the 32 digest bytes viewed as words); byte order does not matter for XOR + popcount.
"""

from __future__ import annotations

import numba
import numpy as np
from numpy.typing import NDArray

Words = NDArray[np.uint64]  # (N, 4) codes as 64-bit words
Int64s = NDArray[np.int64]

_M1 = np.uint64(0x5555555555555555)
_M2 = np.uint64(0x3333333333333333)
_M4 = np.uint64(0x0F0F0F0F0F0F0F0F)
_H01 = np.uint64(0x0101010101010101)


@numba.njit(inline="always", cache=True)
def _popcount64(x: np.uint64) -> np.uint64:
    # LLVM turns this idiom into the POPCNT instruction where the CPU has one.
    x = x - ((x >> np.uint64(1)) & _M1)
    x = (x & _M2) + ((x >> np.uint64(2)) & _M2)
    x = (x + (x >> np.uint64(4))) & _M4
    return (x * _H01) >> np.uint64(56)


@numba.njit(inline="always", cache=True)
def _distance(a: Words, i: int, b: Words, j: int) -> np.uint64:
    return (
        _popcount64(a[i, 0] ^ b[j, 0])
        + _popcount64(a[i, 1] ^ b[j, 1])
        + _popcount64(a[i, 2] ^ b[j, 2])
        + _popcount64(a[i, 3] ^ b[j, 3])
    )


@numba.njit(nogil=True, cache=True)
def chunk_keys(
    codes_u8: NDArray[np.uint8], bitpos: Int64s, widths: NDArray[np.uint8]
) -> NDArray[np.uint32]:
    """Keys (N, m) uint32: key c gathers bits bitpos[c, :widths[c]] (bit b = MSB-first bit of the
    digest)."""
    n = codes_u8.shape[0]
    m = widths.shape[0]
    keys = np.empty((n, m), dtype=np.uint32)
    for i in range(n):
        for c in range(m):
            key = 0
            for j in range(widths[c]):
                b = bitpos[c, j]
                key = (key << 1) | ((codes_u8[i, b >> 3] >> (7 - (b & 7))) & 1)
            keys[i, c] = key
    return keys


@numba.njit(nogil=True, cache=True)
def build_table(
    keys_col: NDArray[np.uint32], n_buckets: int
) -> tuple[NDArray[np.uint32], NDArray[np.uint32]]:
    """Counting sort of one chunk: CSR offsets (n_buckets + 1) and row positions grouped by key."""
    n = keys_col.shape[0]
    offsets = np.zeros(n_buckets + 1, dtype=np.uint32)
    for i in range(n):
        offsets[keys_col[i] + 1] += 1
    for k in range(n_buckets):
        offsets[k + 1] += offsets[k]
    fill = offsets[:-1].copy()
    positions = np.empty(n, dtype=np.uint32)
    for i in range(n):
        k = keys_col[i]
        positions[fill[k]] = i
        fill[k] += 1
    return offsets, positions


@numba.njit(nogil=True, cache=True)
def mih_search(
    qcodes: Words,
    qkeys: NDArray[np.uint32],
    codes: Words,
    offsets: NDArray[np.uint32],
    offset_base: Int64s,
    positions: NDArray[np.uint32],
    masks: Int64s,
    mask_start: Int64s,
    radius: int,
    cap: int,
    out_rows: Int64s,
    out_dist: Int64s,
    out_count: Int64s,
) -> None:
    """Multi-index range search for each query: probe, verify, report each row once.

    For each chunk c, every key within its probe radius of the query's key is looked up (flip
    masks masks[mask_start[c]:mask_start[c + 1]], empty for unprobed chunks); candidates are
    verified on the full
    code. A hit found through chunk c is dropped when an earlier probed chunk also reaches it, so
    no row is reported twice. Writes up to `cap` hits per query; out_count holds the true count.
    Work is staged (all bucket bounds, then all candidate rows, then all distances) so that each
    loop issues independent memory loads the CPU can overlap, instead of one dependent chain.
    """
    n_q = qcodes.shape[0]
    n = codes.shape[0]
    m = mask_start.shape[0] - 1
    n_probe = masks.shape[0]
    lo_buf = np.empty(n_probe, dtype=np.int64)
    hi_buf = np.empty(n_probe, dtype=np.int64)
    chunk_of = np.empty(n_probe, dtype=np.int64)
    for c in range(m):
        for t in range(mask_start[c], mask_start[c + 1]):
            chunk_of[t] = c
    rows_buf = np.empty(4096, dtype=np.int64)
    dist_buf = np.empty(4096, dtype=np.int64)
    for q in range(n_q):
        total = np.int64(0)
        for t in range(n_probe):
            c = chunk_of[t]
            key = offset_base[c] + (np.int64(qkeys[q, c]) ^ masks[t])
            lo = np.int64(offsets[key])
            hi = np.int64(offsets[key + 1])
            lo_buf[t] = lo + c * n
            hi_buf[t] = hi + c * n
            total += hi - lo
        if total > rows_buf.shape[0]:
            rows_buf = np.empty(2 * total, dtype=np.int64)
            dist_buf = np.empty(2 * total, dtype=np.int64)
        k = 0
        for t in range(n_probe):
            for p in range(lo_buf[t], hi_buf[t]):
                rows_buf[k] = positions[p]
                k += 1
        h = 0  # verified hits, a row once per chunk that reached it
        for i in range(total):
            row = rows_buf[i]
            d = _distance(qcodes, q, codes, row)
            if d <= radius:
                rows_buf[h] = row  # h <= i: overwrites only rows already read
                dist_buf[h] = d
                h += 1
        count = 0
        if h:
            order = np.argsort(rows_buf[:h])
            prev = -1
            for i in range(h):
                row = rows_buf[order[i]]
                if row == prev:
                    continue
                prev = row
                if count < cap:
                    out_rows[q, count] = row
                    out_dist[q, count] = dist_buf[order[i]]
                count += 1
        out_count[q] = count


@numba.njit(nogil=True, cache=True)
def flat_search(
    qcodes: Words,
    codes: Words,
    n_rows: int,
    radius: int,
    cap: int,
    out_rows: Int64s,
    out_dist: Int64s,
    out_count: Int64s,
) -> None:
    """Exhaustive range search over the first n_rows codes (small deltas, very large radii)."""
    for q in range(qcodes.shape[0]):
        count = 0
        for row in range(n_rows):
            d = _distance(qcodes, q, codes, row)
            if d <= radius:
                if count < cap:
                    out_rows[q, count] = row
                    out_dist[q, count] = d
                count += 1
        out_count[q] = count


@numba.njit(nogil=True, cache=True)
def flat_distances(qcode_row: int, qcodes: Words, codes: Words, n_rows: int) -> NDArray[np.uint16]:
    """Distances from one query to the first n_rows codes (uint16)."""
    out = np.empty(n_rows, dtype=np.uint16)
    for row in range(n_rows):
        out[row] = _distance(qcodes, qcode_row, codes, row)
    return out
