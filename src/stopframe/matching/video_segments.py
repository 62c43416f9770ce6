"""Which stretches of which registered recordings a query video shows, and where.

All frame variants of the query (`video_geometry`: as is, mirrored) are searched at once against
all variants of every registered recording (as is, nine crops) in one Hamming range search.
A hit joins query frame i to registered frame j at the closest distance any pair of their
variants reaches; the hits of each recording are then chained into time-aligned runs by
`segments.align_pairs`, which allows speed changes within `speed_tolerance` (default ±12 %) and
any frame rate, since it works on timestamps, not frame numbers.

`match_listed` runs the same search against the vPDQ and robust vPDQ entries of the matcher's
lists: the frame indexes name the entries sharing a frame with any query variant, only those are
read and aligned (a `vpdq_robust` entry with all its registered variants, so that cropped and
turned copies meet it), and each entry's best segment becomes a `Match` under its bank's policy
(the distance is the per cent of the query's frames in the stretch without a matched frame,
vPDQ's own scale).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from stopframe.errors import SignalValueError
from stopframe.index.codes import CODE_BYTES
from stopframe.matching.index_set import IndexSet
from stopframe.matching.match import MAX_MATCHES, Entries, Match
from stopframe.matching.policy import SEVERITY, Policy
from stopframe.matching.rows import split_rows
from stopframe.matching.segments import DEFAULT_MAX_GAP_S, DEFAULT_SPEED_TOLERANCE, align_pairs
from stopframe.matching.video import frame_pairs_within
from stopframe.matching.video_geometry import FrameVariants, variants_of_frames, variants_of_robust
from stopframe.signals import PDQ, VPDQ, VPDQ_ROBUST
from stopframe.signals.vpdq import parse_vpdq_lines
from stopframe.signals.vpdq_robust import parse_robust_lines

LISTED_KINDS = (VPDQ.name, VPDQ_ROBUST.name)  # the list kinds the segment pass searches

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
            inside = _inside(query.times, seg.start_s, seg.end_s)
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


@dataclass(frozen=True, slots=True)
class ListedSegments:
    """A listed recording found in a query: its match under the bank's policy, and where."""

    match: Match
    segments: list[SegmentMatch]


def segment_distance(segment: SegmentMatch, query: FrameVariants, listed: FrameVariants) -> int:
    """A segment on vPDQ's distance scale: per cent of the sampled frames in the stretch without
    a match, counted on the more sparsely sampled side (a chain pairs each frame once, so a query
    sampled twice as densely as a listed recording would otherwise miss half its frames)."""
    inside_query = _inside(query.times, segment.query_start_s, segment.query_end_s)
    inside_listed = _inside(listed.times, segment.registered_start_s, segment.registered_end_s)
    share = segment.frames / max(1, min(inside_query, inside_listed))
    return round(100 * (1 - min(1.0, share)))


def _inside(times: np.ndarray, start: float, end: float) -> int:
    """How many sampled frames fall in [start, end)."""
    return int(np.count_nonzero((times >= start) & (times < end)))


def listed_candidates(
    index_set: IndexSet, query: FrameVariants, radius: int = PDQ.default_threshold
) -> dict[int, list[int]]:
    """Entry ids by source number of the listed vPDQ and robust vPDQ recordings with a frame
    within `radius` bits of any usable query variant (one search per kind, no entry read)."""
    codes, _ = _usable(query)
    digests = np.unique(codes.astype(">u8").view(np.uint8).reshape(-1, CODE_BYTES), axis=0)
    found: dict[int, set[int]] = {}
    for kind in LISTED_KINDS:
        sources, entries, _rows = split_rows(index_set.search(kind, digests, radius).ids)
        for source, entry in zip(sources.tolist(), entries.tolist(), strict=True):
            found.setdefault(source, set()).add(entry)
    return {source: sorted(ids) for source, ids in found.items()}


def match_listed(
    query: FrameVariants, index_set: IndexSet, entries: Entries, policy: Policy
) -> list[ListedSegments]:
    """The listed (robust) vPDQ recordings with a segment in `query`, each matched at its best
    segment and kept when its bank is enabled and that distance is within the bank's threshold;
    at most `MAX_MATCHES`, those that decide first (allow-list, most severe, nearest)."""
    registered: dict[str, FrameVariants] = {}
    listed: dict[str, tuple[str, int, str, str]] = {}  # key -> source, entry id, bank, kind
    for number, ids in listed_candidates(index_set, query).items():
        source = index_set.source_name(number)
        if source is None:
            continue
        for entry in entries.entries_by_id(source, ids).values():
            variants = _listed_variants(entry.kind, entry.value)
            if variants is None:
                continue
            key = f"{source}:{entry.id}"
            registered[key] = variants
            listed[key] = (source, entry.id, entry.bank, entry.kind)
    found: dict[str, list[SegmentMatch]] = {}
    for segment in match_segments(query, registered):
        found.setdefault(segment.recording, []).append(segment)
    out = []
    for key, segments in found.items():
        source, entry_id, bank, kind = listed[key]
        state = index_set.sources().get(source)
        rule = policy.bank(bank, state.banks.get(bank) if state else None, kind)
        distance = min(segment_distance(s, query, registered[key]) for s in segments)
        if not rule.enabled or distance > rule.threshold or key in policy.allow_entries:
            continue
        match = Match(source, entry_id, bank, kind, distance, rule.action, rule.allow)
        out.append(ListedSegments(match, segments))
    out.sort(key=lambda item: (not item.match.allowed, -SEVERITY[item.match.action],
                               item.match.distance, item.match.key))  # fmt: skip
    return out[:MAX_MATCHES]


def _listed_variants(kind: str, value: str) -> FrameVariants | None:
    """A listed entry's frames as a registration: plain vPDQ as one variant, robust vPDQ with all
    its variants; None for other kinds and values that no longer parse."""
    try:
        if kind == VPDQ.name:
            return variants_of_frames(parse_vpdq_lines(value))
        if kind == VPDQ_ROBUST.name:
            return variants_of_robust(parse_robust_lines(value))
    except SignalValueError:
        return None
    return None


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
