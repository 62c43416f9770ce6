"""Which stretches of which registered recordings a query video shows, and where.

All frame variants of the query (`video_geometry`: as is, mirrored) are searched at once against
all variants of every registered recording (as is, nine crops) in one Hamming range search.
A hit joins query frame i to registered frame j at the closest distance any pair of their
variants reaches; the hits of each recording are then chained into time-aligned runs by
`segments.align_pairs`, which allows speed changes within `speed_tolerance` (default ±12 %) and
any frame rate, since it works on timestamps, not frame numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from stopframe.matching.segments import DEFAULT_MAX_GAP_S, DEFAULT_SPEED_TOLERANCE, align_pairs
from stopframe.matching.video import frame_pairs_within
from stopframe.matching.video_geometry import FrameVariants

DEFAULT_MIN_FRAMES = 4  # sampled frames a segment needs
# Frame pairs are looser than PDQ's 31 bits: a 5-10 % crop lands 40-56 bits from the nearest
# registered crop on a share of frames, and a chance run of 4 time-aligned pairs this close stays
# rare (benchmarks/video_segments.py: crop recall 0.75-0.93 at 31-40 bits, 1.0 at 48, precision 1)
DEFAULT_DISTANCE = 48


@dataclass(frozen=True, slots=True)
class SegmentMatch:
    """A stretch of the query found in a registered recording: seconds on both sides, the
    number of matched sampled frames, and their share of the query's frames in the stretch."""

    recording: str
    query_start_s: float
    query_end_s: float
    registered_start_s: float
    registered_end_s: float
    frames: int
    score: float


def match_segments(
    query: FrameVariants,
    registered: Mapping[str, FrameVariants],
    *,
    distance: int = DEFAULT_DISTANCE,
    min_frames: int = DEFAULT_MIN_FRAMES,
    max_gap_s: float = DEFAULT_MAX_GAP_S,
    speed_tolerance: float = DEFAULT_SPEED_TOLERANCE,
) -> list[SegmentMatch]:
    """Every stretch of `query` found in a registered recording, ordered by query time."""
    names = list(registered)
    q_codes, q_rows = _usable(query)
    parts = [_usable(registered[name]) for name in names]
    if not parts or not len(q_codes):
        return []
    corpus = np.concatenate([codes for codes, _ in parts])
    frame_of = np.concatenate([rows for _, rows in parts])
    owner = np.repeat(np.arange(len(names)), [len(rows) for _, rows in parts])
    q_found, r_found, bits = _search(q_codes, corpus, distance)
    q_frame, r_frame, who = q_rows[q_found], frame_of[r_found], owner[r_found]
    out = []
    for k in np.unique(who).tolist():
        mine = who == k
        segments = align_pairs(
            query.times,
            registered[names[k]].times,
            q_frame[mine],
            r_frame[mine],
            distances=bits[mine],
            max_gap_s=max_gap_s,
            min_frames=min_frames,
            speed_tolerance=speed_tolerance,
        )
        for seg in segments:
            in_range = (query.times >= seg.start_s) & (query.times < seg.end_s)
            inside = int(np.count_nonzero(in_range))
            out.append(
                SegmentMatch(
                    recording=names[k],
                    query_start_s=seg.start_s,
                    query_end_s=seg.end_s,
                    registered_start_s=seg.other_start_s,
                    registered_end_s=seg.other_end_s,
                    frames=seg.frames,
                    score=seg.frames / max(1, inside),
                )
            )
    return sorted(out, key=lambda m: (m.query_start_s, m.recording))


def _usable(variants: FrameVariants) -> tuple[np.ndarray, np.ndarray]:
    """The usable variant codes as an m x 4 matrix, and the frame each row belongs to."""
    frames, kinds = np.nonzero(variants.usable)
    return variants.codes[frames, kinds], frames


def _search(
    query: np.ndarray, corpus: np.ndarray, distance: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All (query row, corpus row, Hamming distance) triples within `distance` bits."""
    q_parts, c_parts, bit_parts = [], [], []
    for q, c in frame_pairs_within(query, corpus, distance):
        q_parts.append(q)
        c_parts.append(c)
        bit_parts.append(np.bitwise_count(query[q] ^ corpus[c]).sum(axis=1, dtype=np.intp))
    if not q_parts:
        empty = np.zeros(0, dtype=np.intp)
        return empty, empty, empty
    return np.concatenate(q_parts), np.concatenate(c_parts), np.concatenate(bit_parts)
