"""Matching robust picture sets: a query set (an upload's dihedral variants) against registered
sets, at the `pdq_robust` type's threshold (its operating point is measured with
`stopframe bench robustness`, see docs/robustness.md)."""

from __future__ import annotations

from collections.abc import Iterable

from stopframe.signals.pdq_robust import NO_MATCH, PDQ_ROBUST, RobustHash, set_distance

MATCH_DISTANCE = PDQ_ROBUST.default_threshold
# the operating point stays at least this many bits under the closest unrelated pair measured on
# the whole benign corpus (tests/bench/test_corpus_false_matches.py checks it)
SAFETY_MARGIN = 10
__all__ = ["MATCH_DISTANCE", "NO_MATCH", "SAFETY_MARGIN", "is_match", "match_score"]


def match_score(query: Iterable[RobustHash], registered: Iterable[RobustHash]) -> int:
    """Smallest Hamming distance between usable hashes of the two sets (`NO_MATCH` if none)."""
    return set_distance(list(query), list(registered))


def is_match(
    query: Iterable[RobustHash], registered: Iterable[RobustHash], threshold: int = MATCH_DISTANCE
) -> bool:
    """Whether a query set matches a registered set at the operating point."""
    return match_score(query, registered) <= threshold
