"""Which stretches of one recording appear in another (clips, trims, compilations).

Frame matches are points (time in A, time in B); a copied stretch is a run of points along a
diagonal whose slope is near 1 (within `speed_tolerance`) at an arbitrary offset. `align_pairs`
finds those runs in four steps:

1. Tidy: drop repeated pairs and keep at most `MAX_PAIRS_PER_FRAME` per frame on each side,
   the closest (Hamming) first, then those on the most popular time offset, so that a still
   scene matching everything stays bounded and keeps one diagonal.
2. Chain: a longest-chain dynamic programme over the pairs in A-time order. A pair may follow an
   earlier one at most `max_gap_s` before it in A if B's time advanced at a speed within
   tolerance (plus one sampling step of slack for frame-rate rounding), and it stays inside the
   speed cone from its chain's first pair, so slack cannot pile up into drift. A pair scores 1
   less its excess distance (how much worse it is than the best match of either of its frames,
   per `_EXCESS_BITS`): frames just outside a copied stretch of a slowly changing scene still
   match its edge, but worse than the edge's own partner, so they do not stretch the segment.
   A tiny penalty for changing offset makes ties go to the straightest chain.
3. Extract: chains are read back from the best-scoring ends, each stopping at pairs already
   taken; chains shorter than `min_frames` go, and each A moment belongs to one segment only
   (longer chains first), which also removes the parallel chains a slowly changing scene makes.
4. Merge: neighbouring runs less than `max_gap_s` apart in both recordings become one segment,
   as long as the whole still keeps to the speed tolerance (give or take one gap).

A sampled frame stands for the time up to the next sample, so a segment ends one sampling step
after its last matched frame (a recording matched against itself is covered in full).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypedDict

import numpy as np

from stopframe.matching.video import frame_pairs_within
from stopframe.signals.pdq import PDQ, digest_matrix
from stopframe.signals.vpdq import VpdqFrame

if TYPE_CHECKING:
    from typing_extensions import Unpack

DEFAULT_MAX_GAP_S = 4.0
DEFAULT_MIN_FRAMES = 3
DEFAULT_SPEED_TOLERANCE = 0.12
MAX_PAIRS_PER_FRAME = 8  # the degenerate all-match case stays at 8 pairs per A frame
_OFFSET_PENALTY = 1e-2  # score per second of offset change: ties go to the straightest chain
_EXCESS_BITS = 16.0  # a pair this many bits worse than its frames' best matches scores nothing
_EPS = 1e-9


@dataclass(frozen=True, slots=True)
class Segment:
    """A stretch of recording A that appears in recording B: seconds in each, and how many
    sampled frames of A matched a frame of B within it."""

    start_s: float
    end_s: float
    other_start_s: float
    other_end_s: float
    frames: int

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


class AlignOptions(TypedDict, total=False):
    """The tuning knobs of `align_pairs` that `find_segments` passes through."""

    max_gap_s: float
    min_frames: int
    speed_tolerance: float


@dataclass(frozen=True, slots=True)
class _Pairs:
    """Matched pairs sorted by (A time, A row, B time, B row), one group per A frame."""

    a: np.ndarray  # A times, float64
    b: np.ndarray  # B times, float64
    cost: np.ndarray  # the tie-breaking distance penalty of each pair
    starts: np.ndarray  # first pair of each A frame's group
    ends: np.ndarray  # one past its last pair


@dataclass(frozen=True, slots=True)
class _Run:
    """A chain of pairs as its end points in both recordings and its frame count."""

    a_first: float
    a_last: float
    b_first: float
    b_last: float
    frames: int


def align_pairs(
    a_times: np.ndarray,
    b_times: np.ndarray,
    a_rows: np.ndarray,
    b_rows: np.ndarray,
    *,
    max_gap_s: float = DEFAULT_MAX_GAP_S,
    min_frames: int = DEFAULT_MIN_FRAMES,
    speed_tolerance: float = DEFAULT_SPEED_TOLERANCE,
    distances: np.ndarray | None = None,
) -> list[Segment]:
    """The stretches of A found in B, from matched frame pairs (A row `a_rows[k]` is near B row
    `b_rows[k]`; `distances[k]` their Hamming distance, if known), sorted by A time and disjoint
    on A's side."""
    a_times = np.asarray(a_times, dtype=np.float64)
    b_times = np.asarray(b_times, dtype=np.float64)
    a_rows = np.asarray(a_rows, dtype=np.intp).ravel()
    b_rows = np.asarray(b_rows, dtype=np.intp).ravel()
    if len(a_rows) != len(b_rows) or (distances is not None and len(distances) != len(a_rows)):
        raise ValueError("a_rows, b_rows and distances must have the same length")
    if len(a_rows) == 0:
        return []
    step_a, step_b = _sampling_step(a_times), _sampling_step(b_times)
    slack = max(step_a, step_b)
    pairs = _tidy(a_times, b_times, a_rows, b_rows, distances, slack)
    score, prev = _chain(pairs, max_gap_s, speed_tolerance, slack)
    chains = _extract(score, prev, max(1, min_frames))
    runs = _exclusive(pairs, chains, max(1, min_frames))
    runs = _merge(runs, max_gap_s, speed_tolerance, slack)
    return _segments(runs, step_a, step_b)


def find_segments(
    a: Sequence[VpdqFrame],
    b: Sequence[VpdqFrame],
    *,
    distance: int = PDQ.default_threshold,
    quality_min: int = PDQ.quality_floor,
    **align_options: Unpack[AlignOptions],
) -> list[Segment]:
    """The stretches of vPDQ hash `a` found in `b`: good frames within `distance` bits, chained
    by `align_pairs`. Repeated frames are kept, unlike `frame_codes`: their times matter here."""
    good_a = [frame for frame in a if frame.quality >= quality_min]
    good_b = [frame for frame in b if frame.quality >= quality_min]
    codes_a, codes_b = _codes(good_a), _codes(good_b)
    rows_a, rows_b, bits = _pairs_with_distance(codes_a, codes_b, distance)
    return align_pairs(
        _times(good_a),
        _times(good_b),
        rows_a,
        rows_b,
        distances=bits,
        **align_options,
    )


def coverage(segments: Sequence[Segment], duration_s: float) -> float:
    """The share (0-1) of A's first `duration_s` seconds that the segments cover, overlaps
    counted once: how much of A lies inside B."""
    if duration_s <= 0 or not segments:
        return 0.0
    spans = sorted((max(0.0, s.start_s), min(duration_s, s.end_s)) for s in segments)
    covered, reach = 0.0, 0.0
    for start, end in spans:
        start = max(start, reach)
        if end > start:
            covered += end - start
            reach = end
    return min(1.0, covered / duration_s)


def _codes(frames: Sequence[VpdqFrame]) -> np.ndarray:
    """Every frame's digest as an n x 4 uint64 matrix (big-endian words), repeats kept."""
    return digest_matrix([frame.digest for frame in frames]).view(">u8").astype(np.uint64)


def _times(frames: Sequence[VpdqFrame]) -> np.ndarray:
    return np.array([frame.timestamp for frame in frames], dtype=np.float64)


def _pairs_with_distance(
    codes_a: np.ndarray, codes_b: np.ndarray, distance: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All (A row, B row, Hamming distance) triples within `distance` bits."""
    found = list(_blocks_with_distance(codes_a, codes_b, distance))
    if not found:
        empty = np.zeros(0, dtype=np.intp)
        return empty, empty, empty
    rows_a, rows_b, bits = zip(*found, strict=True)
    return np.concatenate(rows_a), np.concatenate(rows_b), np.concatenate(bits)


def _blocks_with_distance(
    codes_a: np.ndarray, codes_b: np.ndarray, distance: int
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    for rows_a, rows_b in frame_pairs_within(codes_a, codes_b, distance):
        bits = np.bitwise_count(codes_a[rows_a] ^ codes_b[rows_b]).sum(axis=1, dtype=np.intp)
        yield rows_a, rows_b, bits


def _sampling_step(times: np.ndarray) -> float:
    """The typical time between samples (the median gap), 1 s when it cannot be told."""
    gaps = np.diff(np.unique(times))
    gaps = gaps[gaps > _EPS]
    return float(np.median(gaps)) if len(gaps) else 1.0


def _tidy(
    a_times: np.ndarray,
    b_times: np.ndarray,
    a_rows: np.ndarray,
    b_rows: np.ndarray,
    distances: np.ndarray | None,
    slack: float,
) -> _Pairs:
    """Unique pairs, capped per frame on both sides, sorted and grouped by A frame."""
    bits = np.zeros(len(a_rows)) if distances is None else np.asarray(distances, np.float64)
    order = np.lexsort((bits, b_rows, a_rows))  # repeats of a pair: the closest one stays
    a_rows, b_rows, bits = a_rows[order], b_rows[order], bits[order]
    fresh = np.r_[True, (a_rows[1:] != a_rows[:-1]) | (b_rows[1:] != b_rows[:-1])]
    a_rows, b_rows, bits = a_rows[fresh], b_rows[fresh], bits[fresh]
    cost = _excess(a_rows, b_rows, bits) / _EXCESS_BITS
    rank = _offset_rank(b_times[b_rows] - a_times[a_rows], slack)
    keep = _capped(a_rows, b_rows, bits, rank)
    keep = keep[_capped(b_rows[keep], a_rows[keep], bits[keep], rank[keep])]
    a_rows, b_rows, cost = a_rows[keep], b_rows[keep], cost[keep]
    order = np.lexsort((b_rows, b_times[b_rows], a_rows, a_times[a_rows]))
    a_rows, b_rows, cost = a_rows[order], b_rows[order], cost[order]
    starts = _group_starts(a_rows)
    return _Pairs(
        a=a_times[a_rows],
        b=b_times[b_rows],
        cost=cost,
        starts=starts,
        ends=np.r_[starts[1:], len(a_rows)],
    )


def _excess(a_rows: np.ndarray, b_rows: np.ndarray, bits: np.ndarray) -> np.ndarray:
    """How much farther apart each pair is than the closest match either of its frames has.

    Zero on the true diagonal; large where a frame just outside a copied stretch matches its
    edge only because the scene changes slowly, which is what keeps segment ends in place.
    """
    best_a = np.full(int(a_rows.max()) + 1, np.inf)
    best_b = np.full(int(b_rows.max()) + 1, np.inf)
    np.minimum.at(best_a, a_rows, bits)
    np.minimum.at(best_b, b_rows, bits)
    return bits - np.minimum(best_a[a_rows], best_b[b_rows])


def _offset_rank(offsets: np.ndarray, slack: float) -> np.ndarray:
    """A preference order over pairs by offset (B time - A time, in `slack` bins): the offsets
    most pairs share first, ties going to the one nearest the most popular offset."""
    values, bin_of, votes = np.unique(
        np.floor(offsets / slack), return_inverse=True, return_counts=True
    )
    mode = values[np.argmax(votes)]
    bin_rank = np.lexsort((np.abs(values - mode), -votes)).argsort()
    return bin_rank[bin_of.ravel()]


def _capped(rows: np.ndarray, others: np.ndarray, bits: np.ndarray, rank: np.ndarray) -> np.ndarray:
    """Indices of the pairs to keep: per frame (`rows`) the closest `MAX_PAIRS_PER_FRAME`, ties
    going to the preferred offsets (`rank`), then to the lower other row."""
    order = np.lexsort((others, rank, bits, rows))
    return np.sort(order[_rank_in_group(rows[order]) < MAX_PAIRS_PER_FRAME])


def _group_starts(keys: np.ndarray) -> np.ndarray:
    """Where each run of equal consecutive keys begins."""
    return np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])


def _rank_in_group(keys: np.ndarray) -> np.ndarray:
    """Each element's position within its run of equal consecutive keys."""
    starts = _group_starts(keys)
    return np.arange(len(keys)) - np.repeat(starts, np.diff(np.r_[starts, len(keys)]))


def _chain(
    pairs: _Pairs, max_gap_s: float, tolerance: float, slack: float
) -> tuple[np.ndarray, np.ndarray]:
    """Best chain score ending at each pair and the pair before it there (-1: chain start).

    One A frame at a time; its predecessors are the pairs of the previous `max_gap_s` seconds.
    """
    a, b = pairs.a, pairs.b
    offset = b - a
    score = 1.0 - pairs.cost
    prev = np.full(len(a), -1, dtype=np.intp)
    origin_a, origin_b = a.copy(), b.copy()
    windows = np.searchsorted(a, a[pairs.starts] - max_gap_s - _EPS, side="left")
    for lo, hi, w in zip(pairs.starts.tolist(), pairs.ends.tolist(), windows.tolist(), strict=True):
        if w == lo:
            continue
        step_a = a[lo] - a[w:lo]
        step_b = b[lo:hi, None] - b[None, w:lo]
        from_a = a[lo] - origin_a[w:lo]
        from_b = b[lo:hi, None] - origin_b[None, w:lo]
        ok = (
            (step_a > _EPS)
            & (step_b >= 0)
            & (np.abs(step_b - step_a) <= tolerance * step_a + slack)
            & (np.abs(from_b - from_a) <= tolerance * from_a + slack)
        )
        gain = score[w:lo] - _OFFSET_PENALTY * np.abs(offset[lo:hi, None] - offset[None, w:lo])
        gain = np.where(ok, gain, -np.inf)
        best = gain.argmax(axis=1)
        top = gain[np.arange(hi - lo), best]
        link = top > 0
        before = w + best[link]
        targets = np.arange(lo, hi)[link]
        score[targets] += top[link]
        prev[targets] = before
        origin_a[targets] = origin_a[before]
        origin_b[targets] = origin_b[before]
    return score, prev


def _extract(score: np.ndarray, prev: np.ndarray, min_frames: int) -> list[np.ndarray]:
    """Chains (pair indices in A order) read back from the best ends, each stopping at the
    first pair an earlier chain took; those under `min_frames` pairs are dropped."""
    links = prev.tolist()
    used = bytearray(len(links))
    chains = []
    for end in np.argsort(-score, kind="stable").tolist():
        path = []
        node = end
        while node >= 0 and not used[node]:
            used[node] = 1
            path.append(node)
            node = links[node]
        if len(path) >= min_frames:
            chains.append(np.array(path[::-1], dtype=np.intp))
    chains.sort(key=len, reverse=True)
    return chains


def _exclusive(pairs: _Pairs, chains: list[np.ndarray], min_frames: int) -> list[_Run]:
    """Runs disjoint on A's side: longer chains first, later ones lose what they share with
    earlier ones and split where an earlier run lies between their pairs."""
    bounds = np.zeros(0)  # sorted edges of accepted runs: first, last, first, last, ...
    runs = []
    for chain in chains:
        a = pairs.a[chain]
        below = np.searchsorted(bounds, a, side="left")
        inside = (below % 2 == 1) | (np.searchsorted(bounds, a, side="right") % 2 == 1)
        for piece in _pieces(chain[~inside], below[~inside]):
            if len(piece) < min_frames:
                continue
            run = _Run(
                float(pairs.a[piece[0]]),
                float(pairs.a[piece[-1]]),
                float(pairs.b[piece[0]]),
                float(pairs.b[piece[-1]]),
                len(piece),
            )
            runs.append(run)
            bounds = np.sort(np.r_[bounds, run.a_first, run.a_last])
    return runs


def _pieces(chain: np.ndarray, zone: np.ndarray) -> list[np.ndarray]:
    """The chain cut wherever its pairs' zone (gap between accepted runs) changes."""
    cuts = np.flatnonzero(zone[1:] != zone[:-1]) + 1
    return [piece for piece in np.split(chain, cuts) if len(piece)]


def _merge(runs: list[_Run], max_gap_s: float, tolerance: float, slack: float) -> list[_Run]:
    """Runs in A order, neighbours closer than `max_gap_s` in both recordings joined while the
    joined run still keeps to the speed tolerance (give or take one gap)."""
    merged: list[_Run] = []
    for run in sorted(runs, key=lambda r: r.a_first):
        last = merged[-1] if merged else None
        if last is not None and _joinable(last, run, max_gap_s, tolerance, slack):
            merged[-1] = _Run(
                last.a_first,
                run.a_last,
                min(last.b_first, run.b_first),
                max(last.b_last, run.b_last),
                last.frames + run.frames,
            )
        else:
            merged.append(run)
    return merged


def _joinable(first: _Run, then: _Run, max_gap_s: float, tolerance: float, slack: float) -> bool:
    span_a = then.a_last - first.a_first
    span_b = then.b_last - first.b_first
    return (
        then.a_first - first.a_last <= max_gap_s + _EPS
        and -slack <= then.b_first - first.b_last <= max_gap_s + slack
        and abs(span_b - span_a) <= tolerance * span_a + max_gap_s + slack
    )


def _segments(runs: list[_Run], step_a: float, step_b: float) -> list[Segment]:
    """Segments from runs in A order, each frame standing for one sampling step."""
    segments = []
    for k, run in enumerate(runs):
        end = run.a_last + step_a
        if k + 1 < len(runs):
            end = min(end, runs[k + 1].a_first)
        segments.append(Segment(run.a_first, end, run.b_first, run.b_last + step_b, run.frames))
    return segments
