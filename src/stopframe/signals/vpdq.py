"""vPDQ: PDQ hashes of a video's frames sampled at an interval, in upstream's line format.

Lines read `frame_number,quality,pdq_hex,timestamp_seconds` (timestamp to 3 decimals), as Meta's
vpdq tools write them. `hash_video` streams the file once for hashing (plus a cheap key-frame pass
when letterbox removal is on) and never holds decoded frames.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from stopframe.errors import SignalValueError
from stopframe.media.borders import Box, detect_content_box, without_frame_bars
from stopframe.media.limits import VideoLimits
from stopframe.media.regular import require_regular
from stopframe.media.video import SparseSamplingError, VideoReader
from stopframe.signals.base import ContentType, IndexKind, Signal, SignalType
from stopframe.signals.exact import MD5, SHA256, ExactDigests, digests_of_file
from stopframe.signals.pdq import PDQ, digest_matrix, hamming_matrix
from stopframe.signals.pdq_plane import pdq_from_plane

# Over 4 hours at one frame per second: 14,400 lines of at most ~88 characters are ~1.27 M
MAX_VPDQ_CHARS = 1_600_000
# Fields are ASCII digits only: int() and float() would take other scripts' digits, "nan",
# "inf", exponents and underscores, and thousands of digits
_FRAME_NUMBER = re.compile(r"[0-9]{1,10}")
_QUALITY = re.compile(r"[0-9]{1,3}")
_SECONDS = re.compile(r"[0-9]{1,10}(?:\.[0-9]{1,9})?")


@dataclass(frozen=True, slots=True)
class VpdqFrame:
    """One hashed frame: its number in the decoded stream, PDQ quality, digest and time."""

    frame_number: int
    quality: int
    digest: bytes
    timestamp: float

    @property
    def hex(self) -> str:
        return self.digest.hex()

    def line(self) -> str:
        """The upstream text line for this frame."""
        return f"{self.frame_number},{self.quality},{self.hex},{self.timestamp:.3f}"


@dataclass(frozen=True, slots=True)
class VideoHash:
    """The vPDQ frames of one video plus what was learned about the file on the way."""

    frames: list[VpdqFrame]
    md5: str
    sha256: str
    fps: float
    width: int
    height: int
    duration_s: float | None
    frame_count: int  # frames in the stream as read (counted from the index in a sparse decode)
    interval: float
    content_box: Box | None = None  # the crop applied by letterbox removal, if any
    partial: bool = False
    partial_reason: str | None = None
    container: str = ""
    codec: str = ""

    def lines(self) -> str:
        return format_vpdq_lines(self.frames)

    def signals(self) -> list[Signal]:
        """The file's signals in the common form: vPDQ (canonical lines), MD5 and SHA-256."""
        return [
            Signal(VPDQ.name, self.lines().rstrip("\n")),
            Signal(MD5.name, self.md5),
            Signal(SHA256.name, self.sha256),
        ]


def format_vpdq_lines(frames: Iterable[VpdqFrame]) -> str:
    """Upstream vPDQ text: one `frame_number,quality,pdq_hex,timestamp` line per frame."""
    return "".join(frame.line() + "\n" for frame in frames)


def parse_vpdq_lines(text: str, source: str = "vpdq") -> list[VpdqFrame]:
    """Parse and validate vPDQ text (blank lines and `#` comments ignored); SignalValueError
    names the bad line."""
    frames = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(",")
        if len(parts) != 4:
            raise SignalValueError(f"{source} line {number}: expected 4 comma-separated fields")
        frame, quality_text, _, seconds_text = (part.strip() for part in parts)
        if not _FRAME_NUMBER.fullmatch(frame):
            raise SignalValueError(f"{source} line {number}: frame number must be 1-10 digits 0-9")
        if not _QUALITY.fullmatch(quality_text) or int(quality_text) > 100:
            raise SignalValueError(f"{source} line {number}: quality must be an integer 0-100")
        if not _SECONDS.fullmatch(seconds_text):
            raise SignalValueError(
                f"{source} line {number}: timestamp must be seconds as digits 0-9, like 12.345"
            )
        frame_number, quality, seconds = int(frame), int(quality_text), float(seconds_text)
        try:
            digest = bytes.fromhex(PDQ.canonical(parts[2]))
        except SignalValueError as exc:
            raise SignalValueError(f"{source} line {number}: {exc}") from None
        frames.append(VpdqFrame(frame_number, quality, digest, seconds))
    return frames


class VpdqSignal(SignalType):
    """Meta's vPDQ video hash: the PDQ of sampled frames, one `frame,quality,pdq_hex,seconds`
    line each. The distance from `a` to `b` is the percentage of a's unique good frames that
    find no frame of `b` within PDQ's threshold, so the default threshold of 20 is upstream's
    rule of an 80 % query match (`stopframe.matching.video` has both percentages and an index)."""

    name = "vpdq"
    contents = (ContentType.VIDEO,)
    description = "vPDQ video hash (PDQ of frames, share of matching frames)"
    index_kind = IndexKind.FRAMES
    default_threshold = 20
    max_threshold = 100
    single_line = False
    max_value_chars = MAX_VPDQ_CHARS

    def canonical(self, value: str) -> str:
        frames = parse_vpdq_lines(value, source=self.name)
        if not frames:
            raise SignalValueError("vpdq must have at least one frame line")
        return format_vpdq_lines(frames).rstrip("\n")

    def distance(self, a: str, b: str) -> int:
        return unmatched_percent(
            good_digests(parse_vpdq_lines(a)), good_digests(parse_vpdq_lines(b))
        )


def unmatched_percent(left: np.ndarray, right: np.ndarray) -> int:
    """The percentage of `left`'s digests with no digest of `right` within PDQ's threshold;
    100 when either side has none."""
    if not len(left) or not len(right):
        return 100
    near = (hamming_matrix(left, right) <= PDQ.default_threshold).any(axis=1)
    return round(100 * (1 - float(near.mean())))


VPDQ = VpdqSignal()


def good_digests(frames: Iterable[VpdqFrame], quality_min: int = PDQ.quality_floor) -> np.ndarray:
    """The unique digests of frames at or above `quality_min`, as an N x 32 uint8 array."""
    return digest_matrix(sorted({frame.digest for frame in frames if frame.quality >= quality_min}))


def read_vpdq_file(path: str | os.PathLike[str], max_bytes: int = 256 * 1024**2) -> list[VpdqFrame]:
    """Read a vPDQ hash file (upstream's .txt form)."""
    path = Path(path)
    if path.stat().st_size > max_bytes:
        raise SignalValueError(f"{path}: vPDQ file is over {max_bytes} bytes")
    try:
        text = path.read_text(encoding="ascii")
    except UnicodeDecodeError:
        raise SignalValueError(f"{path}: vPDQ files are plain ASCII text") from None
    return parse_vpdq_lines(text, source=str(path))


def detect_bars(path: str | os.PathLike[str], limits: VideoLimits | None = None) -> Box | None:
    """The clip's content box inside fixed letterbox/pillarbox bars, from its key frames."""
    with VideoReader(path, limits, threads=1) as reader:
        return detect_content_box(reader.keyframe_planes())


def hash_video(
    path: str | os.PathLike[str],
    *,
    rate: float = 1.0,
    remove_bars: bool = True,
    limits: VideoLimits | None = None,
    threads: int = 0,
    digests: ExactDigests | None = None,
    bars_per_frame: bool = False,
    skip_deblocking: bool = False,
) -> VideoHash:
    """vPDQ of a video file: PDQ of one frame every `rate` seconds (0 = every frame).

    `remove_bars` crops fixed letterbox/pillarbox bars first (declared in `content_box`).
    `bars_per_frame` also cuts each frame's own bars: a compilation joins recordings of several
    shapes, each boxed differently, so no bar holds over the whole clip; upstream vPDQ does not
    do this, so hashes made with it are for comparing with each other (triage), not for lists.
    `threads` is the decoder's thread count (0 = automatic). `digests` saves a second read when
    the caller already has the file's MD5/SHA-256. `skip_deblocking` (opt-in) decodes about a
    fifth faster by skipping H.264's loop filter on non-intra frames; the hashes then drift (at
    one frame per second up to 12 bits from the exact decode, within the conformance tolerance
    on the sample videos; at every frame up to 22 bits from upstream's, beyond it), so keep it
    off for hashes that go on shared lists. Raises
    `MediaError` for files that cannot be hashed; a file that breaks off midway gives
    `partial=True` with the reason.
    """
    limits = limits or VideoLimits.from_env()
    require_regular(path)  # FFmpeg would wait forever on a named pipe
    box = detect_bars(path, limits) if remove_bars else None
    digests = digests or digests_of_file(path)
    md5, sha256 = digests.md5, digests.sha256
    options = _HashOptions(rate, box, limits, threads, bars_per_frame, skip_deblocking)
    try:
        return _hash_frames(path, options, md5, sha256, sparse=True)
    except SparseSamplingError:
        return _hash_frames(path, options, md5, sha256, sparse=False)


@dataclass(frozen=True, slots=True)
class _HashOptions:
    """How `hash_video` decodes and samples, passed on to each decoding attempt."""

    rate: float
    box: Box | None
    limits: VideoLimits
    threads: int
    per_frame: bool
    skip_deblocking: bool


def _hash_frames(
    path: str | os.PathLike[str], options: _HashOptions, md5: str, sha256: str, sparse: bool
) -> VideoHash:
    frames: list[VpdqFrame] = []
    rate, box = options.rate, options.box
    with VideoReader(
        path, options.limits, threads=options.threads, skip_deblocking=options.skip_deblocking
    ) as reader:
        for luma in reader.frames(rate, crop=box, sparse=sparse):
            plane = without_frame_bars(luma.plane) if options.per_frame else luma.plane
            result = pdq_from_plane(plane, luma.scale, luma.offset).hash
            frames.append(
                VpdqFrame(luma.frame_number, result.quality, result.digest, luma.timestamp)
            )
        info = reader.info
        return VideoHash(
            frames=frames,
            md5=md5,
            sha256=sha256,
            fps=info.fps,
            width=info.width,
            height=info.height,
            duration_s=info.duration_s,
            frame_count=reader.frame_count,
            interval=rate,
            content_box=box,
            partial=reader.partial_reason is not None,
            partial_reason=reader.partial_reason,
            container=info.container,
            codec=info.codec,
        )
