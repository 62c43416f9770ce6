"""Range search, k-nearest and self-join equal a brute-force scan, id for id (property tests)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stopframe.index import HammingIndex
from stopframe.index.synthetic import perturb, realistic_codes, realistic_queries
from stopframe.signals.pdq import hamming_matrix

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def brute_range(
    ids: np.ndarray, codes: np.ndarray, queries: np.ndarray, radius: int
) -> list[list[tuple[int, int]]]:
    """The reference: every (id, distance) within radius, sorted by (distance, id)."""
    if ids.size == 0:
        return [[] for _ in range(queries.shape[0])]
    d = hamming_matrix(queries, codes)
    return [
        sorted(
            ((int(ids[j]), int(d[i, j])) for j in np.flatnonzero(d[i] <= radius)),
            key=lambda p: (p[1], p[0]),
        )
        for i in range(queries.shape[0])
    ]


def big_ids(rng: np.random.Generator, n: int) -> np.ndarray:
    """n distinct ids spread over the whole uint64 range (odd multiplier: a bijection mod 2**64)."""
    salt = rng.integers(0, 2**64 - 1, dtype=np.uint64, endpoint=True)
    return (np.arange(n, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)) ^ salt


def clustered(seed: int, n: int) -> np.ndarray:
    """Random codes where half are close copies of a few centres (dense buckets, many hits)."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 256, (n, 32), dtype=np.uint8)
    centres = codes[rng.integers(0, max(n // 50, 1), n // 2)]
    codes[: n // 2] = perturb(centres, rng.integers(0, 12, n // 2), rng)
    return codes


def assert_same(
    index: HammingIndex,
    ids: np.ndarray,
    codes: np.ndarray,
    queries: np.ndarray,
    radius: int,
) -> None:
    got = index.range_search_batch(queries, radius)
    want = brute_range(ids, codes, queries, radius)
    assert len(got) == len(want)
    for i, w in enumerate(want):
        assert list(got[i]) == w, f"query {i} radius {radius}"


@SETTINGS
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(0, 600),
    radius=st.integers(0, 64),
    delta_limit=st.sampled_from([1, 7, 64, 100_000]),
    tables=st.booleans(),
)
def test_random_and_clustered_sets_match_brute_force(
    seed: int, n: int, radius: int, delta_limit: int, tables: bool
) -> None:
    rng = np.random.default_rng(seed)
    codes = clustered(seed, n)
    ids = rng.choice(2**40, size=n, replace=False).astype(np.uint64)
    index = HammingIndex(delta_limit=delta_limit, tables=tables)
    for part in np.array_split(np.arange(n), 3):
        index.add(ids[part], codes[part])
    queries = np.concatenate(
        [
            perturb(codes[: min(n, 20)], rng.integers(0, 20, min(n, 20)), rng),
            rng.integers(0, 256, (5, 32), dtype=np.uint8),
        ]
    )
    assert len(index) == n
    assert_same(index, ids, codes, queries, radius)


@SETTINGS
@given(
    seed=st.integers(0, 2**32 - 1),
    radius=st.sampled_from([0, 8, 16, 31, 40]),
    tables=st.booleans(),
)
def test_realistic_sets_match_brute_force(seed: int, radius: int, tables: bool) -> None:
    codes = realistic_codes(3000, seed=seed % 1000)
    ids = np.arange(10**9, 10**9 + 3000, dtype=np.uint64)
    index = HammingIndex(delta_limit=500, tables=tables)
    index.add(ids, codes)
    queries, _ = realistic_queries(codes, 40, seed=seed % 1000 + 1)
    assert_same(index, ids, codes, queries, radius)


ops = st.lists(
    st.tuples(st.sampled_from(["add", "remove", "save"]), st.integers(0, 2**32 - 1)),
    min_size=1,
    max_size=12,
)


@SETTINGS
@given(program=ops, delta_limit=st.sampled_from([3, 50, 100_000]), tables=st.booleans())
def test_interleaved_adds_removes_and_reload_match_brute_force(
    program, delta_limit: int, tables: bool, tmp_path_factory
) -> None:
    """A dict model of id -> code tracks every operation; the index must agree after each one."""
    model: dict[int, np.ndarray] = {}
    index = HammingIndex(delta_limit=delta_limit, tables=tables)
    centre = np.random.default_rng(0).integers(0, 256, (4, 32), dtype=np.uint8)
    for op, seed in program:
        rng = np.random.default_rng(seed)
        if op == "add":
            k = int(rng.integers(1, 120))
            ids = rng.integers(0, 300, k).astype(np.uint64)
            ids = np.unique(ids)
            codes = perturb(
                centre[rng.integers(0, 4, ids.size)], rng.integers(0, 20, ids.size), rng
            )
            index.add(ids, codes)
            model.update({int(i): c for i, c in zip(ids, codes, strict=False)})
        elif op == "remove":
            ids = rng.integers(0, 300, int(rng.integers(1, 80))).astype(np.uint64)
            removed = index.remove(ids)
            gone = {int(i) for i in ids} & model.keys()
            assert removed == len(gone)
            for i in gone:
                del model[i]
        else:
            path = tmp_path_factory.mktemp("idx") / "index.sfidx"
            index.save(path)
            index = HammingIndex.open(path, delta_limit=delta_limit)
            assert index.tables == tables
        ids = np.array(sorted(model), dtype=np.uint64)
        codes = (
            np.stack([model[i] for i in sorted(model)]) if model else np.empty((0, 32), np.uint8)
        )
        assert len(index) == len(model)
        assert all(int(i) in index for i in ids[:20])
        queries = perturb(centre, rng.integers(0, 10, 4), rng)
        assert_same(index, ids, codes, queries, int(rng.integers(0, 65)))
        exp_ids, exp_codes = index.export()
        order = np.argsort(exp_ids)
        assert np.array_equal(exp_ids[order], ids) and np.array_equal(exp_codes[order], codes)


@SETTINGS
@given(
    seed=st.integers(0, 2**32 - 1),
    k=st.integers(1, 40),
    n=st.integers(1, 400),
    tables=st.booleans(),
)
def test_knn_matches_brute_force(seed: int, k: int, n: int, tables: bool) -> None:
    rng = np.random.default_rng(seed)
    codes = clustered(seed, n)
    ids = big_ids(rng, n)
    index = HammingIndex(delta_limit=50, tables=tables)
    index.add(ids, codes)
    queries = np.concatenate([codes[:3], rng.integers(0, 256, (2, 32), dtype=np.uint8)])
    d = hamming_matrix(queries, codes)
    got = index.knn_batch(queries, k)
    for i in range(queries.shape[0]):
        want = sorted((int(d[i, j]), int(ids[j])) for j in range(n))[:k]
        assert [(dist, id_) for id_, dist in got[i]] == want
    assert list(index.knn(queries[0], k)) == list(got[0])


@SETTINGS
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(0, 500),
    radius=st.integers(0, 64),
    tables=st.booleans(),
)
def test_self_join_matches_brute_force(seed: int, n: int, radius: int, tables: bool) -> None:
    rng = np.random.default_rng(seed)
    codes = clustered(seed, n)
    ids = rng.choice(2**50, size=n, replace=False).astype(np.uint64)
    index = HammingIndex(delta_limit=64, tables=tables)
    index.add(ids, codes)
    pairs = index.self_join(radius, batch=97)
    d = hamming_matrix(codes, codes) if n else np.empty((0, 0), np.int64)
    want = sorted(
        (min(int(ids[a]), int(ids[b])), max(int(ids[a]), int(ids[b])), int(d[a, b]))
        for a, b in zip(*np.triu_indices(n, 1), strict=False)
        if d[a, b] <= radius
    )
    got = list(
        zip(pairs.id_a.tolist(), pairs.id_b.tolist(), pairs.distances.tolist(), strict=False)
    )
    assert got == want


@pytest.mark.slow
@pytest.mark.parametrize("tables", [False, True])
def test_larger_realistic_index_matches_brute_force(tables: bool) -> None:
    """60k realistic codes in several segments (compact, or tabled with 12-14 bit chunks)."""
    codes = realistic_codes(60_000, seed=5)
    ids = big_ids(np.random.default_rng(5), 60_000)
    index = HammingIndex(delta_limit=20_000, tables=tables)
    index.add(ids[:30_000], codes[:30_000])
    index.add(ids[30_000:], codes[30_000:])
    index.remove(ids[::7])
    keep = np.ones(60_000, dtype=bool)
    keep[::7] = False
    queries, _ = realistic_queries(codes, 60, seed=6)
    for radius in (0, 10, 31, 64):
        assert_same(index, ids[keep], codes[keep], queries, radius)
