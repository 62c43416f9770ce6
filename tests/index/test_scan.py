"""The compact search kernels (query tables and flat), forced one at a time, against brute force."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stopframe.index import scan
from stopframe.index.codes import as_words
from stopframe.index.scan import N_CHUNKS, scan_radii, scan_search
from stopframe.index.synthetic import realistic_codes, realistic_queries
from stopframe.signals.pdq import hamming_matrix

POOL = ThreadPoolExecutor(2)


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 999),
    radius=st.integers(0, 64),
    method=st.sampled_from(["tables", "flat", "auto"]),
    n_queries=st.integers(1, 120),
)
def test_each_method_equals_brute_force_and_reports_pairs_once(
    seed: int, radius: int, method: str, n_queries: int
) -> None:
    codes = realistic_codes(4000, seed=seed)
    queries, _ = realistic_queries(codes, n_queries, seed=seed + 1)
    hits = scan_search(as_words(codes), 4000, as_words(queries), radius, POOL, method)
    d = hamming_matrix(queries, codes)
    want = set(zip(*np.nonzero(d <= radius), strict=False))
    got = list(zip(hits.q.tolist(), hits.rows.tolist(), strict=False))
    assert len(got) == len(set(got))  # a pair reached through several chunks is reported once
    assert set(got) == want
    assert np.array_equal(hits.dist, d[hits.q, hits.rows])


def test_rows_split_over_threads_give_the_same_hits(monkeypatch) -> None:
    monkeypatch.setattr("stopframe.index.scan._ROWS_PER_TASK", 1000)
    codes = realistic_codes(5000, seed=2)
    queries, _ = realistic_queries(codes, 200, seed=3)
    one = scan_search(as_words(codes), 5000, as_words(queries), 31, None, "tables")
    split = scan_search(as_words(codes), 5000, as_words(queries), 31, POOL, "tables")
    assert sorted(zip(one.q, one.rows, strict=False)) == sorted(
        zip(split.q, split.rows, strict=False)
    )


@pytest.mark.parametrize("limit", ["_MAX_TABLE_QUERIES", "_MAX_ENTRIES"])
def test_batches_over_the_table_limits_are_split_exactly(monkeypatch, limit: str) -> None:
    monkeypatch.setattr(f"stopframe.index.scan.{limit}", 7 if "QUERIES" in limit else 3000)
    sizes = []
    build = scan.build_query_tables
    monkeypatch.setattr(
        scan, "build_query_tables", lambda q, *a: sizes.append(q.shape[0]) or build(q, *a)
    )
    codes = realistic_codes(3000, seed=4)
    queries, _ = realistic_queries(codes, 50, seed=5)
    hits = scan_search(as_words(codes), 3000, as_words(queries), 31, None, "tables")
    d = hamming_matrix(queries, codes)
    assert sorted(zip(hits.q.tolist(), hits.rows.tolist(), strict=False)) == sorted(
        zip(*(a.tolist() for a in np.nonzero(d <= 31)), strict=False)
    )
    assert np.array_equal(hits.dist, d[hits.q, hits.rows])
    assert sum(sizes) == 50 and max(sizes) <= (7 if "QUERIES" in limit else 3000 // 272)


@pytest.mark.parametrize("method", ["tables", "flat"])
def test_a_full_output_buffer_resumes_without_losing_or_repeating_hits(
    monkeypatch, method: str
) -> None:
    run_part = scan._run_part
    monkeypatch.setattr(scan, "_run_part", lambda kernel, args, cap: run_part(kernel, args, 1))
    codes = realistic_codes(3000, seed=6)
    queries, _ = realistic_queries(codes, 40, seed=7)
    hits = scan_search(as_words(codes), 3000, as_words(queries), 31, None, method)
    d = hamming_matrix(queries, codes)
    got = list(zip(hits.q.tolist(), hits.rows.tolist(), strict=False))
    assert len(got) == len(set(got)) > 1  # buffers of 1, 2, 4 ... hits, each resumed
    assert set(got) == set(zip(*(a.tolist() for a in np.nonzero(d <= 31)), strict=False))
    assert np.array_equal(hits.dist, d[hits.q, hits.rows])


@pytest.mark.parametrize("radius", [0, 15, 31, 47])
def test_plans_meet_the_pigeonhole_bound(radius: int) -> None:
    for n_queries in (30, 1000, 100_000):
        rho = scan_radii(radius, n_queries)
        if rho is not None:
            assert len(rho) == N_CHUNKS and sum(r + 1 for r in rho) >= radius + 1
    assert scan_radii(31, 1) is None  # one query: a flat scan is cheaper than 16 lookups a row
    assert scan_radii(31, 2000) == (1,) * N_CHUNKS
