"""Triton kernel for the GPU range scan: Hamming distance as a ±1 matrix product on tensor cores.

With bits mapped to ±1, the dot product of two 256-bit codes is 256 - 2 * Hamming distance, so a
query batch against a block of codes is one int8 matrix product, which tensor cores do many times
faster than XOR-and-popcount on ordinary cores. Each program unpacks one block of packed codes
once (read from device memory once per launch), then walks every query block against it. A tile
with any pair at or over the dot threshold hands its hits out one by one (hits are sparse, and
this costs a few reductions, where a masked store of the whole tile costs a pass over it) to flat
hit arrays through an atomic counter.
Results are exact: the product of ±1 int8 values accumulates in int32 without rounding.
"""

# Triton reads kernel parameter annotations itself (tl.constexpr): they carry no Python types
# mypy: disable-error-code="no-untyped-def, untyped-decorator"

from __future__ import annotations

import triton  # type: ignore[import-not-found, unused-ignore]
import triton.language as tl  # type: ignore[import-not-found, unused-ignore]


@triton.jit
def range_scan_kernel(
    words_ptr,  # int32 (n_rows, 8): packed codes, bit j of word i is code bit 32 * i + j
    signs_ptr,  # int8 (padded queries, 256): the queries as ±1, rows past n_queries zero
    n_rows,
    n_queries,
    min_dot,  # 256 - 2 * radius
    hit_query_ptr,
    hit_row_ptr,
    hit_dot_ptr,
    count_ptr,  # int64 (1,): hits found, which may exceed capacity
    capacity,
    BLOCK_ROWS: tl.constexpr,
    BLOCK_QUERIES: tl.constexpr,
):
    row0 = tl.program_id(0).to(tl.int64) * BLOCK_ROWS
    rows = row0 + tl.arange(0, BLOCK_ROWS)
    live = rows < n_rows
    bit = tl.arange(0, 256)
    packed = tl.load(
        words_ptr + rows[:, None] * 8 + (bit[None, :] // 32),
        mask=live[:, None],
        other=0,
    )
    signs = ((((packed >> (bit[None, :] % 32)) & 1) * 2) - 1).to(tl.int8)
    codes_t = tl.trans(signs)  # (256, BLOCK_ROWS)
    tile = BLOCK_QUERIES * BLOCK_ROWS
    cell = tl.arange(0, BLOCK_QUERIES)[:, None] * BLOCK_ROWS + tl.arange(0, BLOCK_ROWS)
    for q0 in range(0, n_queries, BLOCK_QUERIES):
        queries = q0 + tl.arange(0, BLOCK_QUERIES)
        q = tl.load(signs_ptr + queries[:, None].to(tl.int64) * 256 + bit[None, :])
        dot = tl.dot(q, codes_t, out_dtype=tl.int32)  # (BLOCK_QUERIES, BLOCK_ROWS)
        if tl.max(tl.max(dot, axis=1), axis=0) >= min_dot:
            # hits are few per tile: take them one at a time, in cell order
            hit = (dot >= min_dot) & live[None, :] & (queries[:, None] < n_queries)
            key = tl.where(hit, cell, tile)
            first = tl.min(tl.min(key, axis=1), axis=0)
            while first < tile:
                at = key == first
                value = tl.sum(tl.sum(tl.where(at, dot, 0), axis=1), axis=0)
                slot = tl.atomic_add(count_ptr, 1)
                if slot < capacity:
                    tl.store(hit_query_ptr + slot, q0 + first // BLOCK_ROWS)
                    tl.store(hit_row_ptr + slot, row0 + first % BLOCK_ROWS)
                    tl.store(hit_dot_ptr + slot, value)
                key = tl.where(at, tile, key)
                first = tl.min(tl.min(key, axis=1), axis=0)
