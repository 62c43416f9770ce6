"""The perception-style metric on hand-built scores with known answers."""

from __future__ import annotations

import numpy as np

from stopframe.bench.metrics import Counts, at_threshold, recall_at_precision, score_matrix
from stopframe.signals.pdq import hamming_matrix


def test_recall_at_precision_known_answer() -> None:
    # 4 queries; own-original scores 2, 5, 9, 30; negatives: one pair at 6, one at 40, rest far.
    positives = np.array([2, 5, 9, 30])
    negatives = np.array([6, 40, 100, 200, 120, 90])
    counts = Counts.from_scores(positives, negatives, bits=256)
    assert counts.queries == 4 and counts.negative_pairs == 6
    # t=5: TP 2, FP 0 -> precision 1; t=6..8: TP 2, FP 1 -> 2/3; t=9: 3/4; t=30..39: 4/5
    assert recall_at_precision(counts, 0.999).threshold == 5
    assert recall_at_precision(counts, 0.999).recall == 0.5
    point = recall_at_precision(counts, 0.8)
    assert (point.threshold, point.recall, point.false_matches) == (39, 1.0, 1)
    assert recall_at_precision(counts, 0.81).threshold == 5  # 0.75 and 0.8 are both below
    assert at_threshold(counts, 31).precision == 0.8


def test_nothing_matches_when_first_negative_is_closest() -> None:
    counts = Counts.from_scores(np.array([10]), np.array([0]), bits=64)
    point = recall_at_precision(counts, 0.9999)
    assert (point.threshold, point.recall) == (-1, 0.0)


def test_counts_add_pools_transforms() -> None:
    a = Counts.from_scores(np.array([1]), np.array([50]), bits=64)
    b = Counts.from_scores(np.array([60]), np.array([3]), bits=64)
    pooled = a + b
    assert pooled.queries == 2 and pooled.negative_pairs == 2
    assert recall_at_precision(pooled, 0.99).threshold == 2


def test_scores_above_bits_never_match() -> None:
    counts = Counts.from_scores(np.array([65]), np.array([65]), bits=64)
    assert counts.true_matches[-1] == 0 and counts.false_matches[-1] == 0


def test_score_matrix_is_min_over_rows_of_each_set() -> None:
    rng = np.random.default_rng(3)
    q = rng.integers(0, 256, (7, 32), dtype=np.uint8)
    r = rng.integers(0, 256, (9, 32), dtype=np.uint8)
    q_owner = np.array([0, 0, 0, 2, 2, 3, 3])  # query 1 has no usable rows
    r_owner = np.array([0, 1, 1, 1, 2, 2, 4, 4, 4])  # image 3 has none
    scores = score_matrix(q, q_owner, 4, r, r_owner, 5, no_match=257, chunk_rows=3)
    full = hamming_matrix(q, r)
    for qi in range(4):
        for ri in range(5):
            block = full[np.ix_(q_owner == qi, r_owner == ri)]
            assert scores[qi, ri] == (block.min() if block.size else 257)


def test_hamming_matrix_matches_python_bit_count() -> None:
    rng = np.random.default_rng(4)
    a = rng.integers(0, 256, (3, 32), dtype=np.uint8)
    b = rng.integers(0, 256, (2, 32), dtype=np.uint8)
    expected = [
        [
            (int.from_bytes(x.tobytes(), "big") ^ int.from_bytes(y.tobytes(), "big")).bit_count()
            for y in b
        ]
        for x in a
    ]
    assert hamming_matrix(a, b).tolist() == expected
