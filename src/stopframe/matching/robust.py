"""Matching robust picture sets: a query set (an upload's dihedral variants) against registered
sets, at the `pdq_robust` type's threshold (its operating point is measured with
`stopframe bench robustness`, see docs/robustness.md)."""

from __future__ import annotations

from collections.abc import Iterable

from stopframe.signals.pdq_robust import NO_MATCH, PDQ_ROBUST, RobustHash, set_distance

MATCH_DISTANCE = PDQ_ROBUST.default_threshold
__all__ = ["MATCH_DISTANCE", "NO_MATCH", "is_match", "match_score"]


def match_score(query: Iterable[RobustHash], registered: Iterable[RobustHash]) -> int:
    """Smallest Hamming distance between usable hashes of the two sets (`NO_MATCH` if none)."""
    return set_distance(list(query), list(registered))


def is_match(
    query: Iterable[RobustHash], registered: Iterable[RobustHash], threshold: int = MATCH_DISTANCE
) -> bool:
    """Whether a query set matches a registered set at the operating point."""
    return match_score(query, registered) <= threshold
