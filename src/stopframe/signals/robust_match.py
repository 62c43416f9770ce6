"""Comparing robust hash sets: the score of a query set against a registered set is the smallest
Hamming distance between any usable hash of each; `MATCH_DISTANCE` is the operating point measured
with `stopframe bench robustness` (see docs/robustness.md)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from stopframe.signals.pdq import PDQ_BITS, hamming_matrix
from stopframe.signals.robust import RobustHash

MATCH_DISTANCE = 31
NO_MATCH = PDQ_BITS + 1  # score when either side has no usable hash


def match_score(query: Iterable[RobustHash], registered: Iterable[RobustHash]) -> int:
    """Smallest Hamming distance between usable hashes of the two sets (`NO_MATCH` if none)."""
    left = digest_matrix([item.hash.digest for item in query if item.usable])
    right = digest_matrix([item.hash.digest for item in registered if item.usable])
    if not len(left) or not len(right):
        return NO_MATCH
    return int(hamming_matrix(left, right).min())


def is_match(query: Iterable[RobustHash], registered: Iterable[RobustHash],
             threshold: int = MATCH_DISTANCE) -> bool:
    """Whether a query set matches a registered set at the operating point."""
    return match_score(query, registered) <= threshold


def digest_matrix(digests: Sequence[bytes]) -> np.ndarray:
    """Equal-length digests as an N x B uint8 array (B a multiple of 8)."""
    if not digests:
        return np.zeros((0, PDQ_BITS // 8), dtype=np.uint8)
    return np.frombuffer(b"".join(digests), dtype=np.uint8).reshape(len(digests), -1)
