"""Robust vPDQ: the registration variants of one video's sampled frames, so that a cropped,
mirrored or slightly rotated copy still meets a listed recording frame by frame.

Lines read `frame_number,variant,quality,pdq_hex,timestamp_seconds`, one per variant of each
sampled frame: the frame whole (`full`, after its own flat bars are cut), nine crops that each
cut `CROP_CUT` of both axes with the kept window on a 3 x 3 grid (`crop-tl` ... `crop-br`), and
the frame turned by each of `REGISTER_ROTATIONS` inside its own box (`rotate-4`, `rotate+4`).
The segment pass of the matcher (`stopframe.matching.video_segments`) searches these against a
query's frames as is and mirrored; `docs/video.md` has the measurements behind the variants.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

from stopframe.errors import SignalValueError
from stopframe.media.borders import without_frame_bars
from stopframe.media.limits import VideoLimits
from stopframe.media.regular import require_regular
from stopframe.media.video import SparseSamplingError, VideoReader
from stopframe.signals.base import ContentType, IndexKind, Signal, SignalType
from stopframe.signals.pdq import PDQ, PdqHash, digest_matrix
from stopframe.signals.pdq_plane import pdq_from_plane
from stopframe.signals.pdq_robust import Crop
from stopframe.signals.vpdq import unmatched_percent

CROP_CUT = 0.075  # share of each axis a registered crop removes: the middle of 5-10 %
REGISTER_ROTATIONS: tuple[float, ...] = (-4.0, 4.0)  # degrees, corners filled black
REGISTER_RATE = 0.5  # seconds between registered frames
# Over 4 hours at `REGISTER_RATE`: 28,800 frames x 12 variants x at most 100 characters
MAX_VPDQ_ROBUST_CHARS = 35_000_000
_FRAME_NUMBER = re.compile(r"[0-9]{1,10}")
_QUALITY = re.compile(r"[0-9]{1,3}")
_SECONDS = re.compile(r"[0-9]{1,10}(?:\.[0-9]{1,9})?")


def _grid_crops(cut: float) -> tuple[Crop, ...]:
    """Crops removing `cut` of each axis, the kept window at 3 x 3 positions."""
    rows = (("t", 0.0), ("m", cut / 2), ("b", cut))
    cols = (("l", 0.0), ("c", cut / 2), ("r", cut))
    return tuple(
        Crop(f"crop-{v}{h}", left=x, top=y, right=cut - x, bottom=cut - y)
        for v, y in rows
        for h, x in cols
    )


REGISTER_CROPS: tuple[Crop, ...] = _grid_crops(CROP_CUT)


def register_names(
    crops: Sequence[Crop] = REGISTER_CROPS, rotations: Sequence[float] = ()
) -> tuple[str, ...]:
    """Variant names of a registration with these crops and rotations, in line order."""
    return ("full", *(crop.name for crop in crops), *(f"rotate{a:+g}" for a in rotations))


ROBUST_NAMES: tuple[str, ...] = register_names(REGISTER_CROPS, REGISTER_ROTATIONS)


def _rotate(plane: np.ndarray, degrees: float) -> np.ndarray:
    """The plane turned by `degrees` in its own box, corners filled with 0."""
    turned = Image.fromarray(np.asarray(plane, dtype=np.float32), "F")
    return np.asarray(turned.rotate(degrees, Image.Resampling.BILINEAR))


def register_frame(
    plane: np.ndarray,
    scale: float,
    offset: float,
    crops: Sequence[Crop] = REGISTER_CROPS,
    rotations: Sequence[float] = (),
) -> list[PdqHash]:
    """PDQ of one bar-trimmed luma plane, of its crops and of its rotations (registration)."""
    content = without_frame_bars(plane)
    views = [
        content,
        *(crop.apply(content) for crop in crops),
        *(_rotate(content, angle) for angle in rotations),
    ]
    return [pdq_from_plane(view, scale, offset).hash for view in views]


@dataclass(frozen=True, slots=True)
class RobustFrame:
    """One variant of one sampled frame: its number, variant name, quality, digest and time."""

    frame_number: int
    variant: str
    quality: int
    digest: bytes
    timestamp: float

    def line(self) -> str:
        """The text line for this variant."""
        return (
            f"{self.frame_number},{self.variant},{self.quality},{self.digest.hex()},"
            f"{self.timestamp:.3f}"
        )


def format_robust_lines(frames: Iterable[RobustFrame]) -> str:
    """One `frame_number,variant,quality,pdq_hex,timestamp` line per variant."""
    return "".join(frame.line() + "\n" for frame in frames)


def parse_robust_lines(text: str, source: str = "vpdq_robust") -> list[RobustFrame]:
    """Parse and validate robust vPDQ text (blank lines and `#` comments ignored);
    SignalValueError names the bad line."""
    frames = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = [part.strip() for part in line.split(",")]
        if len(parts) != 5:
            raise SignalValueError(f"{source} line {number}: expected 5 comma-separated fields")
        frame, variant, quality_text, hex_text, seconds_text = parts
        if not _FRAME_NUMBER.fullmatch(frame):
            raise SignalValueError(f"{source} line {number}: frame number must be 1-10 digits 0-9")
        if variant not in ROBUST_NAMES:
            raise SignalValueError(f"{source} line {number}: unknown variant (not a known name)")
        if not _QUALITY.fullmatch(quality_text) or int(quality_text) > 100:
            raise SignalValueError(f"{source} line {number}: quality must be an integer 0-100")
        if not _SECONDS.fullmatch(seconds_text):
            raise SignalValueError(
                f"{source} line {number}: timestamp must be seconds as digits 0-9, like 12.345"
            )
        try:
            digest = bytes.fromhex(PDQ.canonical(hex_text))
        except SignalValueError as exc:
            raise SignalValueError(f"{source} line {number}: {exc}") from None
        frames.append(
            RobustFrame(int(frame), variant, int(quality_text), digest, float(seconds_text))
        )
    return frames


def good_robust_digests(frames: Iterable[RobustFrame]) -> np.ndarray:
    """The unique digests of all variants at or above PDQ's quality floor, N x 32 uint8."""
    return digest_matrix(
        sorted({frame.digest for frame in frames if frame.quality >= PDQ.quality_floor})
    )


class VpdqRobustSignal(SignalType):
    """Registration variants of a video's sampled frames (whole, 3 x 3 grid of crops, small
    rotations), one `frame,variant,quality,pdq_hex,seconds` line each. The distance from `a` to
    `b` is the percentage of a's unique good hashes with no hash of `b` within PDQ's threshold;
    the matcher decides these lists by segments of a video upload, not by this distance."""

    name = "vpdq_robust"
    contents = (ContentType.VIDEO,)
    description = "vPDQ registration variants (crops, rotations) of a video's frames"
    index_kind = IndexKind.FRAMES
    default_threshold = 20
    max_threshold = 100
    single_line = False
    max_value_chars = MAX_VPDQ_ROBUST_CHARS

    def canonical(self, value: str) -> str:
        frames = parse_robust_lines(value, source=self.name)
        if not frames:
            raise SignalValueError("vpdq_robust must have at least one frame line")
        return format_robust_lines(frames).rstrip("\n")

    def distance(self, a: str, b: str) -> int:
        left = good_robust_digests(parse_robust_lines(a))
        return unmatched_percent(left, good_robust_digests(parse_robust_lines(b)))


VPDQ_ROBUST = VpdqRobustSignal()


def hash_video_robust(
    path: str | os.PathLike[str],
    *,
    rate: float = REGISTER_RATE,
    limits: VideoLimits | None = None,
) -> list[RobustFrame]:
    """The registration variants of a video file, one sampled frame every `rate` seconds."""
    limits = limits or VideoLimits.from_env()
    require_regular(path)
    try:
        return _robust_frames(path, rate, limits, sparse=True)
    except SparseSamplingError:
        return _robust_frames(path, rate, limits, sparse=False)


def _robust_frames(
    path: str | os.PathLike[str], rate: float, limits: VideoLimits, sparse: bool
) -> list[RobustFrame]:
    out: list[RobustFrame] = []
    with VideoReader(path, limits, threads=0) as reader:
        for luma in reader.frames(rate, sparse=sparse):
            hashes = register_frame(
                luma.plane, luma.scale, luma.offset, REGISTER_CROPS, REGISTER_ROTATIONS
            )
            out += [
                RobustFrame(luma.frame_number, name, h.quality, h.digest, luma.timestamp)
                for name, h in zip(ROBUST_NAMES, hashes, strict=True)
            ]
    return out


def robust_video_signal(frames: Sequence[RobustFrame]) -> Signal:
    """The frames as a `vpdq_robust` signal value."""
    return Signal(VPDQ_ROBUST.name, format_robust_lines(frames).rstrip("\n"))
