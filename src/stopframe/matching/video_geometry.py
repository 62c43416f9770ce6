"""Frame hashes of a video in several geometric variants, so that mirrored, cropped and
letterboxed copies of a registered recording still meet it frame by frame.

Each sampled frame loses its own flat bars first (a compilation boxes each excerpt differently,
so no bar holds over the whole clip). Then:

- registration keeps the frame's PDQ plus nine crops (`REGISTER_CROPS`) that each cut
  `CROP_CUT` of both axes, the kept window at the nine positions of a 3 x 3 grid (top-left to
  bottom-right). A copy cut 5-10 % smaller, on any sides, is then within about 2.5 % per edge of
  one of them, where PDQ still sees the same picture; the whole frame alone is 86 bits away at
  the median (measured on corpus photos);
- a query keeps the frame's PDQ plus the PDQ of its left-right mirror. The mirror is hashed from
  the flipped plane, not taken from the DCT block (`PdqResult.dihedral`): PDQ's Jarosz sampling
  is not symmetric, and on small frames the DCT mirror lands 30-46 bits from the mirrored frame's
  hash at 160 x 120 (10-22 at 320 x 240), while a second PDQ of the plane costs 0.3 ms.

A mirrored copy then meets the registered frame through the query's mirror variant, a cropped one
through a registered crop, and both together through the two. Which variants pay for themselves
was measured with `benchmarks/video_segments.py` (see docs/video.md). Triage, where any video may
be the original of any other, keeps each frame's mirror and its registration crops
(`triage_video`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from stopframe.media.borders import without_frame_bars
from stopframe.media.limits import VideoLimits
from stopframe.media.regular import require_regular
from stopframe.media.video import SparseSamplingError, VideoReader
from stopframe.signals.pdq import PDQ, PdqHash, digest_matrix
from stopframe.signals.pdq_plane import pdq_from_plane
from stopframe.signals.pdq_robust import Crop
from stopframe.signals.vpdq import VpdqFrame
from stopframe.signals.vpdq_robust import CROP_CUT as CROP_CUT
from stopframe.signals.vpdq_robust import (
    REGISTER_CROPS,
    ROBUST_NAMES,
    RobustFrame,
    register_frame,
    register_names,
)

QUERY_NAMES: tuple[str, ...] = ("full", "mirror")
CROP_NAMES: tuple[str, ...] = tuple(crop.name for crop in REGISTER_CROPS)
DEFAULT_RATE = 0.5  # seconds between hashed frames: the rate benchmarks/video_segments.py measured


@dataclass(frozen=True, slots=True)
class FrameVariants:
    """Sampled frames of one video: their times and one digest per variant each.

    `codes[i, k]` is frame i's digest in variant `names[k]` as 4 big-endian uint64 words;
    `usable[i, k]` says whether that hash reached PDQ's quality floor.
    """

    times: np.ndarray  # (n,) float64 seconds
    codes: np.ndarray  # (n, v, 4) uint64
    usable: np.ndarray  # (n, v) bool
    names: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.times)

    def only(self, names: Iterable[str]) -> FrameVariants:
        """The same frames restricted to the variants named (in this object's order)."""
        wanted = set(names)
        keep = [k for k, name in enumerate(self.names) if name in wanted]
        return FrameVariants(
            self.times,
            self.codes[:, keep],
            self.usable[:, keep],
            tuple(self.names[k] for k in keep),
        )


def variants_of_frames(frames: Sequence[VpdqFrame]) -> FrameVariants:
    """Plain vPDQ frames (a stored registration) as a single-variant `FrameVariants`."""
    codes = digest_matrix([frame.digest for frame in frames]).view(">u8").astype(np.uint64)
    return FrameVariants(
        times=np.array([frame.timestamp for frame in frames], dtype=np.float64),
        codes=codes.reshape(len(frames), 1, 4),
        usable=np.array([frame.quality >= PDQ.quality_floor for frame in frames], dtype=bool)[
            :, None
        ],
        names=("full",),
    )


def variants_of_robust(frames: Sequence[RobustFrame]) -> FrameVariants:
    """A listed `vpdq_robust` registration as `FrameVariants`: one row per sampled frame (by
    timestamp), one column per variant name it carries (a missing variant is unusable)."""
    times = sorted({frame.timestamp for frame in frames})
    names = tuple(name for name in ROBUST_NAMES if any(f.variant == name for f in frames))
    row = {time: i for i, time in enumerate(times)}
    col = {name: k for k, name in enumerate(names)}
    codes = np.zeros((len(times), len(names), 4), dtype=np.uint64)
    usable = np.zeros((len(times), len(names)), dtype=bool)
    for frame in frames:
        i, k = row[frame.timestamp], col[frame.variant]
        codes[i, k] = np.frombuffer(frame.digest, dtype=">u8")
        usable[i, k] = frame.quality >= PDQ.quality_floor
    return FrameVariants(np.array(times, dtype=np.float64), codes, usable, names)


def robust_frames(variants: FrameVariants) -> list[RobustFrame]:
    """Every variant of every frame as `vpdq_robust` lines take them (the inverse of
    `variants_of_robust`; the quality is only known as usable or not, as in
    `frames_of_variant`)."""
    digests = variants.codes.astype(">u8").view(np.uint8).reshape(len(variants), -1, 32)
    return [
        RobustFrame(i, name, PDQ.quality_floor if usable[k] else 0, row[k].tobytes(), time)
        for i, (row, usable, time) in enumerate(
            zip(digests, variants.usable.tolist(), variants.times.tolist(), strict=True)
        )
        for k, name in enumerate(variants.names)
    ]


def frames_of_variant(variants: FrameVariants, name: str) -> list[VpdqFrame]:
    """One variant's frames as plain vPDQ frames (numbered in sampling order; the quality is
    only known as usable or not, so it reads as PDQ's floor or 0)."""
    k = variants.names.index(name)
    digests = variants.codes[:, k].astype(">u8").view(np.uint8).reshape(-1, 32)
    return [
        VpdqFrame(i, PDQ.quality_floor if usable else 0, digest.tobytes(), float(time))
        for i, (digest, usable, time) in enumerate(
            zip(digests, variants.usable[:, k].tolist(), variants.times.tolist(), strict=True)
        )
    ]


def query_frame(plane: np.ndarray, scale: float, offset: float) -> list[PdqHash]:
    """PDQ of one bar-trimmed luma plane as is and mirrored left-right (query side)."""
    content = without_frame_bars(plane)
    return [pdq_from_plane(view, scale, offset).hash for view in (content, content[:, ::-1])]


def triage_frame(
    plane: np.ndarray, scale: float, offset: float, crops: Sequence[Crop] = REGISTER_CROPS
) -> list[PdqHash]:
    """PDQ of one bar-trimmed luma plane mirrored left-right and in each of `crops`."""
    content = without_frame_bars(plane)
    views = [content[:, ::-1], *(crop.apply(content) for crop in crops)]
    return [pdq_from_plane(view, scale, offset).hash for view in views]


def register_video(
    path: str | os.PathLike[str],
    *,
    rate: float = DEFAULT_RATE,
    crops: Sequence[Crop] = REGISTER_CROPS,
    rotations: Sequence[float] = (),
    limits: VideoLimits | None = None,
) -> FrameVariants:
    """The registration variants of a video file: each sampled frame whole, cropped, turned."""
    return _hash_file(
        path,
        rate,
        limits,
        register_names(crops, rotations),
        lambda p, s, o: register_frame(p, s, o, crops, rotations),
    )


def query_video(
    path: str | os.PathLike[str], *, rate: float = DEFAULT_RATE, limits: VideoLimits | None = None
) -> FrameVariants:
    """The query variants of a video file: each sampled frame as is and mirrored."""
    return _hash_file(path, rate, limits, QUERY_NAMES, query_frame)


def triage_video(
    path: str | os.PathLike[str],
    *,
    rate: float,
    crops: Sequence[Crop] = REGISTER_CROPS,
    limits: VideoLimits | None = None,
) -> FrameVariants:
    """A collection's video for triage: each sampled frame mirrored (`mirror`) and in each of
    `crops` (named as they are; the frame as is comes from its vPDQ)."""
    return _hash_file(
        path,
        rate,
        limits,
        ("mirror", *(crop.name for crop in crops)),
        lambda p, s, o: triage_frame(p, s, o, crops),
    )


def _hash_file(
    path: str | os.PathLike[str],
    rate: float,
    limits: VideoLimits | None,
    names: tuple[str, ...],
    hasher: Callable[[np.ndarray, float, float], list[PdqHash]],
) -> FrameVariants:
    """Decode once (sparsely where the codec allows) and hash every sampled frame's variants."""
    limits = limits or VideoLimits.from_env()
    require_regular(path)
    try:
        rows = _hash_rows(path, rate, limits, hasher, sparse=True)
    except SparseSamplingError:
        rows = _hash_rows(path, rate, limits, hasher, sparse=False)
    return _stack(rows, names)


def _hash_rows(
    path: str | os.PathLike[str],
    rate: float,
    limits: VideoLimits,
    hasher: Callable[[np.ndarray, float, float], list[PdqHash]],
    sparse: bool,
) -> list[tuple[float, list[PdqHash]]]:
    with VideoReader(path, limits, threads=0) as reader:
        return [
            (luma.timestamp, hasher(luma.plane, luma.scale, luma.offset))
            for luma in reader.frames(rate, sparse=sparse)
        ]


def _stack(rows: list[tuple[float, list[PdqHash]]], names: tuple[str, ...]) -> FrameVariants:
    """Per-frame hash lists as one `FrameVariants`."""
    hashes = [h for _, row in rows for h in row]
    codes = digest_matrix([h.digest for h in hashes]).view(">u8").astype(np.uint64)
    return FrameVariants(
        times=np.array([time for time, _ in rows], dtype=np.float64),
        codes=codes.reshape(len(rows), len(names), 4),
        usable=np.array([h.quality >= PDQ.quality_floor for h in hashes], dtype=bool).reshape(
            len(rows), len(names)
        ),
        names=names,
    )
