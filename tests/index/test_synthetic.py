"""The realistic hash generator: PDQ's invariants, determinism, and a distance profile like
real hashes."""

from __future__ import annotations

import numpy as np

from stopframe.index.codes import as_codes
from stopframe.index.synthetic import (
    load_real_hashes,
    perturb,
    realistic_codes,
    realistic_queries,
)
from stopframe.signals.pdq import hamming_matrix


def pair_distances(codes: np.ndarray) -> np.ndarray:
    return hamming_matrix(codes, codes)[np.triu_indices(codes.shape[0], 1)]


def test_every_code_has_128_ones_and_seeds_reproduce() -> None:
    a = realistic_codes(5000, seed=11)
    assert np.all(np.unpackbits(a, axis=1).sum(axis=1) == 128)
    assert np.array_equal(a, realistic_codes(5000, seed=11))
    assert not np.array_equal(a, realistic_codes(5000, seed=12))


def test_committed_real_hashes_load() -> None:
    real = load_real_hashes()
    assert real.originals().shape[0] > 1000
    assert set(np.unique(real.variant)) == {"orig", "half", "jpeg40"}
    assert np.all(np.unpackbits(real.originals(), axis=1).sum(axis=1) == 128)


def test_distance_profile_is_close_to_real_hashes(vectors_dir) -> None:
    """Unrelated pairs centre on 128 with real PDQ's spread; a small share of pairs are near."""
    real = load_real_hashes().originals()
    haystack = as_codes(
        [
            line.strip()
            for line in (vectors_dir / "pdq/data/reg-test-input/haystack.txt")
            .read_text()
            .splitlines()
            if line.strip()
        ]
    )
    fake = pair_distances(realistic_codes(1350, seed=4))
    for ref in (pair_distances(real), pair_distances(haystack)):
        assert abs(np.median(fake) - np.median(ref)) <= 2
        assert abs(np.percentile(fake, 10) - np.percentile(ref, 10)) <= 4
        assert abs(np.percentile(fake, 90) - np.percentile(ref, 90)) <= 4
    near = np.mean(fake <= 31)
    assert 0.0002 < near < 0.01  # families exist but do not dominate (haystack: 0.0009)


def test_near_duplicate_queries_sit_at_their_distance() -> None:
    listed = realistic_codes(2000, seed=1)
    queries, src = realistic_queries(listed, 400, seed=2)
    near = src >= 0
    assert 150 < near.sum() < 250
    d = hamming_matrix(queries[near], listed[src[near]]).diagonal()
    assert d.max() <= 30 and np.all(d % 2 == 0) and len(np.unique(d)) > 10
    assert np.all(np.unpackbits(queries, axis=1).sum(axis=1) == 128)


def test_perturb_gives_exact_distances() -> None:
    rng = np.random.default_rng(0)
    base = realistic_codes(50, seed=3)
    k = rng.integers(0, 40, 50)
    assert np.array_equal(hamming_matrix(perturb(base, k, rng), base).diagonal(), 2 * k)
