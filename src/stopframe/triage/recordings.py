"""Copies, trims, excerpts and compilations among the videos of a collection.

Every good frame hash (vPDQ, quality >= 50) of every video goes into one Hamming index, once per
distinct hash per video; its self-join at PDQ's frame distance gives, for each ordered pair of
videos (A, B), the share of A's good frames that have a near frame in B: its coverage. The
decisions read only coverages, so they are symmetric and independent of input order:

1. **Same recording**: the shorter side's coverage >= 80 % and the longer side's >= 50 %
   (re-encodes, rescales, trims that keep at least half).
2. **Compilation**: a video whose frames lie >= 80 % in other groups, with >= 2 groups holding
   >= 10 % each and none >= 80 % (that would make it an excerpt of that one): it is made of
   other recordings and is no distinct recording itself.
3. **Excerpt**: a video >= 80 % inside one other video, neither a compilation, joins its group.
   An original inside a compilation does not: that would merge the compilation's recordings.

Each video's frames mirrored left-right go into the index too, as a video of their own; a pair's
coverage is the larger of its plain one and the one through either side's mirror (never both:
two mirrors meet where the plain frames do), so a mirrored copy or excerpt counts as a copy.
With `video_crops` each video's nine registration crops (`vpdq_robust`'s 3 x 3 grid, 7.5 % of
each axis) join the same way, one block per crop, met by the other videos' plain frames within
`CROP_DISTANCE`: a copy cut 5-10 % smaller lies within that of one of them, where the whole
frames are too far apart (benchmarks/video_crop_frames.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from stopframe.errors import SignalValueError
from stopframe.index import HammingIndex
from stopframe.index.codes import CODE_BYTES
from stopframe.signals import PDQ
from stopframe.signals.vpdq import VpdqFrame, parse_vpdq_lines
from stopframe.signals.vpdq_robust import REGISTER_CROPS, parse_robust_lines
from stopframe.triage.model import TriageFile
from stopframe.triage.unions import DisjointSets

FRAME_DISTANCE = PDQ.default_threshold
# A plain frame against another video's crops: at 40 bits 13 of 23 corpus clips cropped 5-10 %
# met their original's crops on >= 80 % of frames while no other clip covered more than 25 % of
# a copy; at 48 bits another clip covered 71 % (benchmarks/video_crop_frames.py, docs/triage.md)
CROP_DISTANCE = 40
SAME_SHORTER = 0.8
SAME_LONGER = 0.5
COMPILATION_COVERED = 0.8
COMPILATION_PART = 0.1
INSIDE = 0.8
MIN_FRAMES = 3  # matched frames below which an overlap is noise


@dataclass(slots=True)
class VideoFrames:
    """The good frames of one video: distinct hashes with how many frames each stands for."""

    frames: list[VpdqFrame]
    codes: np.ndarray  # (u, 32) distinct good hashes
    counts: np.ndarray  # (u,) good frames per hash
    total: int  # good frames


def video_frames(item: TriageFile, mirrored: bool = False) -> VideoFrames:
    """The good frames of a video file's vPDQ, or of its mirrored frames (none when it has no
    readable hash)."""
    try:
        frames = parse_vpdq_lines((item.vpdq_mirror if mirrored else item.vpdq) or "", item.path)
    except SignalValueError:
        frames = []
    return _distinct(frames)


def crop_frames(item: TriageFile) -> list[VideoFrames]:
    """The good frames of each of a video file's registration crops, in `REGISTER_CROPS` order
    (none of any when it has no readable crops)."""
    try:
        lines = parse_robust_lines(item.vpdq_crops or "", item.path)
    except SignalValueError:
        lines = []
    by_crop: dict[str, list[VpdqFrame]] = {crop.name: [] for crop in REGISTER_CROPS}
    for line in lines:
        if line.variant in by_crop:
            by_crop[line.variant].append(
                VpdqFrame(line.frame_number, line.quality, line.digest, line.timestamp)
            )
    return [_distinct(frames) for frames in by_crop.values()]


def _distinct(frames: list[VpdqFrame]) -> VideoFrames:
    good = [f for f in frames if f.quality >= PDQ.quality_floor]
    if not good:
        return VideoFrames(frames, np.zeros((0, CODE_BYTES), np.uint8), np.zeros(0, np.int64), 0)
    raw = np.frombuffer(b"".join(f.digest for f in good), np.uint8).reshape(-1, CODE_BYTES)
    codes, counts = np.unique(raw, axis=0, return_counts=True)
    return VideoFrames(frames, codes, counts.astype(np.int64), len(good))


@dataclass(slots=True)
class RecordingGroups:
    """What the videos' coverages decide: a label per video (the smallest video position in its
    group), which videos are compilations, and each ordered pair's coverage; with the index of
    every video's distinct good frame hashes it was found through (None when there are none)
    and the video each indexed hash belongs to, for other searches among the frames."""

    labels: np.ndarray
    compilation: np.ndarray  # bool per video
    coverage: dict[tuple[int, int], float]  # (a, b) -> share of a's good frames found in b
    frame_index: HammingIndex | None = None
    frame_owner: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))


class _Hits:
    """Which distinct hash of which block (a video's plain, mirrored or cropped frames) has a
    near frame in which other block. Blocks come `count` at a time, one per video in video
    order: plain, then mirrors, then each crop."""

    def __init__(
        self, joined: Sequence[VideoFrames], crops: Sequence[VideoFrames], count: int
    ) -> None:
        blocks = [*joined, *crops]
        sizes = [len(v.codes) for v in blocks]
        self.owner = np.repeat(np.arange(len(blocks)), sizes)
        self.weight = np.concatenate([v.counts for v in blocks]) if blocks else np.zeros(0)
        self.total = np.array([v.total for v in blocks], dtype=np.int64)
        codes = (
            np.concatenate([v.codes for v in blocks])
            if sum(sizes)
            else np.zeros((0, CODE_BYTES), np.uint8)
        )
        self.indexed = indexed = sum(sizes[: len(joined)])  # codes in `index`: plain, mirrors
        plain = sum(sizes[:count])
        self.index: HammingIndex | None = None
        found = [np.zeros((2, 0), np.int64)]
        if indexed:
            ids = np.arange(indexed, dtype=np.uint64)
            index = self.index = HammingIndex.build(ids, codes[:indexed])
            pairs = index.self_join(FRAME_DISTANCE)
            found.append(np.stack([pairs.id_a, pairs.id_b]).astype(np.int64))
        if plain and len(codes) > indexed:
            ids = np.arange(indexed, len(codes), dtype=np.uint64)
            hits = HammingIndex.build(ids, codes[indexed:]).range_search_batch(
                codes[:plain], CROP_DISTANCE
            )
            found.append(np.stack([hits.query_index(), hits.ids]).astype(np.int64))
        a, b = np.concatenate(found, axis=1)
        other = self.owner[a] % max(1, count) != self.owner[b] % max(1, count)
        a, b = a[other], b[other]
        # directed: hash a has a near frame in b's block, and the other way round
        self.code_of = np.concatenate([a, b])
        self.video_of = np.concatenate([self.owner[b], self.owner[a]])

    def covered(self, target: np.ndarray) -> dict[tuple[int, int], float]:
        """(video, target label) -> share of the video's good frames with a near frame in a
        video of that label (`target` maps each video to its label)."""
        if not len(self.code_of):
            return {}
        keys = np.unique(np.stack([self.code_of, target[self.video_of]], axis=1), axis=0)
        src = self.owner[keys[:, 0]]
        weights = self.weight[keys[:, 0]]
        pairs, inverse = np.unique(np.stack([src, keys[:, 1]], axis=1), axis=0, return_inverse=True)
        sums = np.bincount(inverse.ravel(), weights=weights)
        return {
            (int(s), int(t)): float(w) / max(1, int(self.total[s]))
            for (s, t), w in zip(pairs.tolist(), sums.tolist(), strict=True)
            if w >= MIN_FRAMES or w >= self.total[s]
        }

    def covered_outside(self, labels: np.ndarray) -> np.ndarray:
        """Per video, the share of its good frames with a near frame in another group."""
        share = np.zeros(len(self.total))
        if not len(self.code_of):
            return share
        outside = labels[self.video_of] != labels[self.owner[self.code_of]]
        codes = np.unique(self.code_of[outside])
        np.add.at(share, self.owner[codes], self.weight[codes])
        return share / np.maximum(1, self.total)


def group_recordings(
    videos: Sequence[VideoFrames],
    mirrors: Sequence[VideoFrames] = (),
    crops: Sequence[Sequence[VideoFrames]] = (),
) -> RecordingGroups:
    """Decide the videos' groups by the module's three rules; `mirrors`, when given, holds
    each video's mirrored frames in the same order, and `crops` each video's crop blocks (one
    list per video, each crop in the same order)."""
    count = len(videos)
    if mirrors and len(mirrors) != count:
        raise ValueError("give one mirror per video, or none")
    if crops and len(crops) != count:
        raise ValueError("give the crops of every video, or none")
    blocks = [video[k] for k in range(len(crops[0]) if crops else 0) for video in crops]
    hits = _Hits([*videos, *mirrors], blocks, count)
    by_video = _folded(hits.covered(np.arange(len(hits.total))), count)
    sets = DisjointSets(count)
    for (a, b), share in by_video.items():
        back = by_video.get((b, a), 0.0)
        if a < b and max(share, back) >= SAME_SHORTER and min(share, back) >= SAME_LONGER:
            sets.union(a, b)
    labels = sets.labels()
    compilation = _compilations(hits, labels)
    for (a, b), share in by_video.items():
        if share >= INSIDE and not compilation[a] and not compilation[b]:
            sets.union(a, b)
    owner = hits.owner[: hits.indexed] % max(1, count)  # a mirrored frame belongs to its video
    return RecordingGroups(sets.labels(), compilation, by_video, hits.index, owner)


def _folded(covered: dict[tuple[int, int], float], count: int) -> dict[tuple[int, int], float]:
    """Coverages between the `count` videos, each the largest of the plain one and the ones
    through one side's mirror or crop (positions from `count` on are those, `count` a block)."""
    out: dict[tuple[int, int], float] = {}
    for (a, b), share in covered.items():
        if a >= count and b >= count:
            continue
        pair = (a % count, b % count)
        if pair[0] != pair[1]:
            out[pair] = max(out.get(pair, 0.0), share)
    return out


def _compilations(hits: _Hits, labels: np.ndarray) -> np.ndarray:
    """Videos made of parts of at least two other groups (see the module docstring); a mirror
    carries its video's label."""
    count = len(labels)
    every = np.resize(labels, len(hits.total))
    outside = hits.covered_outside(every)[:count]
    parts = np.zeros(count, np.int64)
    largest = np.zeros(count)
    for (video, label), share in hits.covered(every).items():
        if video < count and label != labels[video]:
            parts[video] += share >= COMPILATION_PART
            largest[video] = max(largest[video], share)
    # mostly inside one other group: an excerpt of it (its own trims may cover it too), not a
    # compilation of several
    found = (outside >= COMPILATION_COVERED) & (parts >= 2) & (largest < INSIDE)
    return np.isin(labels, labels[found])  # a copy of a compilation is one too
