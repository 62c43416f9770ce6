"""Perception-style matching metrics: scores of queries against every registered image, and recall
at the largest threshold whose precision stays at or above a target.

A query is a transformed picture; its positive is its own original, its negatives are all other
registered images. At threshold t a positive match is a query whose own original scores <= t; a
false match is any (query, other image) pair scoring <= t. Precision = TP / (TP + FP).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stopframe.signals.pdq import hamming_matrix


def group_starts(owner: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For rows sorted by `owner`: the first row of each owner and the owner ids present."""
    if owner.size and np.any(np.diff(owner) < 0):
        raise ValueError("rows must be sorted by owner")
    present, starts = np.unique(owner, return_index=True)
    return starts, present


def score_matrix(
    query_digests: np.ndarray,
    query_owner: np.ndarray,
    n_queries: int,
    reg_digests: np.ndarray,
    reg_owner: np.ndarray,
    n_registered: int,
    no_match: int,
    chunk_rows: int = 1024,
) -> np.ndarray:
    """n_queries x n_registered matrix of the smallest distance between any row of a query and
    any row of a registered image (`no_match` where either has no row). Rows must be usable ones,
    sorted by owner."""
    out = np.full((n_queries, n_registered), no_match, dtype=np.int16)
    if not len(query_digests) or not len(reg_digests):
        return out
    reg_starts, reg_present = group_starts(reg_owner)
    q_starts, q_present = group_starts(query_owner)
    q_ends = np.append(q_starts[1:], len(query_owner))
    begin = 0
    while begin < len(q_starts):
        end = begin
        while end < len(q_starts) and q_ends[end] - q_starts[begin] <= chunk_rows:
            end += 1
        end = max(end, begin + 1)
        rows = slice(q_starts[begin], q_ends[end - 1])
        dist = hamming_matrix(query_digests[rows], reg_digests)
        per_image = np.minimum.reduceat(dist, reg_starts, axis=1)
        per_query = np.minimum.reduceat(per_image, q_starts[begin:end] - q_starts[begin], axis=0)
        out[np.ix_(q_present[begin:end], reg_present)] = per_query
        begin = end
    return out


@dataclass(frozen=True)
class Counts:
    """Cumulative counts per threshold t = 0..bits: true matches and false (query, image) pairs."""

    true_matches: np.ndarray
    false_matches: np.ndarray
    queries: int
    negative_pairs: int

    @classmethod
    def from_scores(cls, positives: np.ndarray, negatives: np.ndarray, bits: int) -> Counts:
        """`positives`: each query's score to its own original; `negatives`: scores of all
        (query, other image) pairs. Scores above `bits` never match."""
        tp = np.cumsum(np.bincount(np.clip(positives, 0, bits + 1), minlength=bits + 2)[: bits + 1])
        fp = np.cumsum(
            np.bincount(np.clip(negatives.ravel(), 0, bits + 1), minlength=bits + 2)[: bits + 1]
        )
        return cls(tp, fp, int(positives.size), int(negatives.size))

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            self.true_matches + other.true_matches,
            self.false_matches + other.false_matches,
            self.queries + other.queries,
            self.negative_pairs + other.negative_pairs,
        )

    def precision(self) -> np.ndarray:
        total = self.true_matches + self.false_matches
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(total > 0, self.true_matches / np.maximum(total, 1), 1.0)

    def recall(self) -> np.ndarray:
        return self.true_matches / max(self.queries, 1)


@dataclass(frozen=True)
class OperatingPoint:
    """Recall, precision and false matches at one threshold (-1: nothing matches)."""

    threshold: int
    recall: float
    precision: float
    false_matches: int


def at_threshold(counts: Counts, threshold: int) -> OperatingPoint:
    """The figures at a fixed threshold."""
    if threshold < 0:
        return OperatingPoint(-1, 0.0, 1.0, 0)
    t = min(threshold, len(counts.true_matches) - 1)
    return OperatingPoint(
        threshold,
        float(counts.recall()[t]),
        float(counts.precision()[t]),
        int(counts.false_matches[t]),
    )


def recall_at_precision(counts: Counts, min_precision: float) -> OperatingPoint:
    """Recall at the largest threshold whose precision is >= `min_precision`."""
    ok = np.flatnonzero(counts.precision() >= min_precision)
    return at_threshold(counts, int(ok[-1]) if ok.size else -1)
