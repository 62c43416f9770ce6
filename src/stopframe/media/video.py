"""Safe video decoding with PyAV: sniff the container, enforce limits, stream sampled luma frames.

Frames are numbered as upstream vPDQ numbers them: the count of frames the decoder has output
(presentation order), starting at 0, with timestamp `frame_number / fps` (fps = the stream's
average frame rate). Sampling every `interval` seconds keeps frames whose number is a multiple of
`int(interval * fps)`. Frames are never held: each is handed out as a view of its luma plane.
Anything malformed becomes a `MediaError` (`UnsupportedFormat`, `CorruptMedia`, `LimitExceeded`),
or a result marked partial when some frames were read.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Self

import numpy as np

from stopframe.errors import CorruptMedia, LimitExceeded, MediaError, UnsupportedFormat
from stopframe.media.borders import Box
from stopframe.media.limits import VideoLimits
from stopframe.media.sniff import SNIFF_BYTES, MediaType, sniff_bytes

try:
    import av
except ImportError:  # pragma: no cover - exercised only without the `video` extra
    av = None  # type: ignore[assignment]


# The values PyAV accepts for `CodecContext.skip_frame` (FFmpeg's AVDiscard levels)
SkipFrame = Literal["NONE", "DEFAULT", "NONREF", "BIDIR", "NONINTRA", "NONKEY", "ALL"]


class SparseSamplingError(Exception):
    """Internal: the sparse decode's frame numbering disagreed with the decoder, so the caller
    decodes every frame instead. Never reaches users."""


@dataclass(frozen=True, slots=True)
class VideoInfo:
    """What the container says about the video stream."""

    container: str
    codec: str
    width: int
    height: int
    fps: float
    duration_s: float | None
    declared_frames: int | None


@dataclass(frozen=True, slots=True)
class LumaFrame:
    """One sampled frame: its luma plane maps to 0-255 as `plane * scale + offset`.

    `plane` may be a view into the decoder's buffer: use it before asking for the next frame.
    """

    frame_number: int
    timestamp: float
    plane: np.ndarray
    scale: float
    offset: float


_SPARSE_CODECS = {"h264", "hevc"}
_IDR_TYPES = {"h264": {5}, "hevc": {19, 20}}


def _starts_clean(data: bytes, codec: str) -> bool:
    """Whether a length-prefixed (MP4/Matroska) packet holds an IDR picture, after which no frame
    refers to anything earlier. Unsure means False, which only costs speed."""
    position = 0
    while position + 5 <= len(data):
        size = int.from_bytes(data[position : position + 4], "big")
        header = data[position + 4]
        nal_type = header & 0x1F if codec == "h264" else (header >> 1) & 0x3F
        if nal_type in _IDR_TYPES[codec]:
            return True
        if size <= 0:
            return False
        position += 4 + size
    return False


@dataclass(frozen=True, slots=True)
class SparsePlan:
    """Which packets (in decode order) a sparse decode sends, and which frames it keeps.

    A frame's number is its rank in presentation order. Targets are decoded in full; other packets
    up to the last target of their group of pictures are decoded only if other frames refer to
    them (FFmpeg's skip of non-reference frames); the rest of a group is not sent at all, unless
    the next group does not open with an IDR picture (its frames may refer back).
    """

    pts: np.ndarray
    rank: np.ndarray
    target: np.ndarray
    keep: np.ndarray

    @classmethod
    def build(
        cls, pts: np.ndarray, keyframe: np.ndarray, clean: np.ndarray, step: int
    ) -> SparsePlan | None:
        if len(pts) == 0 or len(np.unique(pts)) != len(pts):
            return None
        rank = np.empty(len(pts), dtype=np.int64)
        rank[np.argsort(pts, kind="stable")] = np.arange(len(pts))
        target = rank % step == 0
        starts = np.flatnonzero(keyframe).tolist()
        if not starts or starts[0] != 0:
            starts.insert(0, 0)
        bounds = starts + [len(pts)]
        keep = np.zeros(len(pts), dtype=bool)
        for begin, end in itertools.pairwise(bounds):
            next_clean = end == len(pts) or bool(clean[end])
            hits = np.flatnonzero(target[begin:end])
            if not next_clean:
                keep[begin:end] = True
            elif len(hits):
                keep[begin : begin + int(hits[-1]) + 1] = True
        return cls(pts, rank, target, keep)


def sniff_video(head: bytes) -> str | None:
    """The container of a video file from its first bytes ('mp4', 'mov', 'matroska', 'webm',
    'avi', 'ogg', 'mpeg-ps', 'mpeg-ts', 'flv', 'asf', ...), or None when it is not video.
    One sniffer (`media.sniff`) decides for every kind of media."""
    found = sniff_bytes(head)
    return found.format if found is not None and found.media_type is MediaType.VIDEO else None


def sniff_animation(head: bytes) -> str | None:
    """'gif' or 'webp' (animated) for image formats that can hold many frames, else None."""
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:4] == b"RIFF" and head[8:16] == b"WEBPVP8X" and len(head) > 20 and head[20] & 0x02:
        return "webp"
    return None


# 8-bit formats whose first plane is full-resolution luma; the rest go through swscale to gray.
_Y_PLANE_FORMATS = {
    "yuv420p",
    "yuv422p",
    "yuv444p",
    "yuv410p",
    "yuv411p",
    "yuv440p",
    "nv12",
    "nv21",
    "yuva420p",
    "yuva422p",
    "yuva444p",
}
_FULL_RANGE_FORMATS = {"yuvj420p", "yuvj422p", "yuvj444p", "yuvj440p", "gray"}
_LIMITED_SCALE = 255.0 / 219.0  # swscale's default for non-"j" YUV: Y 16-235 -> 0-255
_LIMITED_OFFSET = -16.0 * _LIMITED_SCALE


def frame_timestamp(frame_number: int, fps: float) -> float:
    """Upstream's timestamp: frame number over frame rate, computed in single precision."""
    return float(np.float32(frame_number) / np.float32(fps))


def sampling_step(interval: float, fps: float) -> int:
    """Keep every n-th frame for one frame per `interval` seconds (0 = every frame), as upstream."""
    if interval < 0:
        raise ValueError("sampling interval must be >= 0 seconds")
    return max(1, int(interval * fps))


class VideoReader:
    """An open video file: checks limits on open, then streams sampled luma frames.

    After `frames()` is exhausted, `partial_reason` says why decoding stopped early (or is None)
    and `frame_count` how many frames the stream had up to there. `skip_deblocking` (opt-in)
    has the decoder skip the loop filter of every non-intra frame: about a fifth less decoding
    on H.264, but the pixels (and so hashes) drift from a full decode.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        limits: VideoLimits | None = None,
        threads: int = 0,
        skip_deblocking: bool = False,
    ) -> None:
        self.path = Path(path)
        if av is None:
            raise UnsupportedFormat(
                str(self.path), "video support needs PyAV: pip install 'stopframe[video]'"
            )
        self.limits = limits or VideoLimits.from_env()
        self.threads = threads
        self.skip_deblocking = skip_deblocking
        self.partial_reason: str | None = None
        self.frame_count = 0
        self._packets = 0
        self.kind = self._check_file()
        self._container = self._open()
        self.info = self._probe()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._container.close()

    def _fail(self, cls: type[MediaError], reason: str) -> MediaError:
        return cls(str(self.path), reason)

    def _check_file(self) -> str:
        try:
            size = self.path.stat().st_size
            with self.path.open("rb") as handle:
                head = handle.read(SNIFF_BYTES)
        except OSError as exc:
            raise self._fail(MediaError, f"cannot read the file ({exc.strerror})") from None
        if size == 0:
            raise self._fail(UnsupportedFormat, "the file is empty")
        if size > self.limits.max_file_bytes:
            raise self._fail(
                LimitExceeded,
                f"{size} bytes is over the limit of {self.limits.max_file_bytes} "
                "(STOPFRAME_MAX_VIDEO_BYTES)",
            )
        kind = sniff_video(head) or sniff_animation(head)
        if kind is None:
            raise self._fail(UnsupportedFormat, "the content is not a known video container")
        return kind

    def _open(self) -> av.container.InputContainer:
        try:
            return av.open(str(self.path), mode="r", metadata_errors="ignore")
        except (av.FFmpegError, UnicodeDecodeError, ValueError, OSError) as exc:
            raise self._fail(CorruptMedia, f"cannot open the container ({exc})") from None

    def _probe(self) -> VideoInfo:
        streams = self._container.streams.video
        if not streams:
            self.close()
            raise self._fail(UnsupportedFormat, "the container holds no video stream")
        stream = streams[0]
        if stream.codec_context is None:  # FFmpeg has no decoder for the stream's codec
            self.close()
            raise self._fail(UnsupportedFormat, "the video stream's codec cannot be decoded")
        width, height = stream.codec_context.width, stream.codec_context.height
        if width <= 0 or height <= 0:
            self.close()
            raise self._fail(CorruptMedia, "the video stream has no valid frame size")
        reason = self._frame_over_limit(width, height)
        if reason:
            self.close()
            raise self._fail(LimitExceeded, f"{width}x{height} frames are {reason}")
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        fps = float(rate) if rate else 0.0
        if not fps > 0:
            self.close()
            raise self._fail(CorruptMedia, "the video stream declares no frame rate")
        duration = None
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif self._container.duration is not None:
            duration = self._container.duration / 1_000_000
        if duration is not None and duration > self.limits.max_duration_s * 2:
            self.close()
            raise self._fail(
                LimitExceeded,
                f"declared duration {duration:.0f} s is far over the limit of "
                f"{self.limits.max_duration_s:.0f} s (STOPFRAME_MAX_VIDEO_SECONDS)",
            )
        return VideoInfo(
            container=self.kind,
            codec=stream.codec_context.name,
            width=width,
            height=height,
            fps=fps,
            duration_s=duration,
            declared_frames=stream.frames or None,
        )

    def _stream(
        self, skip: SkipFrame = "DEFAULT", slice_only: bool = False
    ) -> av.video.stream.VideoStream:
        stream = self._container.streams.video[0]
        # Frame threading would apply per-packet skip settings to the wrong packets.
        stream.thread_type = "SLICE" if slice_only or self.threads == 1 else "AUTO"
        stream.thread_count = self.threads
        stream.codec_context.skip_frame = skip
        if self.skip_deblocking:  # read when the decoder opens, at the first packet
            stream.codec_context.options = {"skip_loop_filter": "nointra"}
        return stream

    def frames(
        self,
        interval: float = 1.0,
        crop: Box | None = None,
        sparse: bool = True,
    ) -> Iterator[LumaFrame]:
        """Sampled frames, one per `interval` seconds (0 = every frame), cropped to
        `crop` when given. Stops early, setting `partial_reason`,
        on a limit or a decode error after some frames; raises CorruptMedia if none decoded.

        With `sparse`, an H.264/HEVC stream sampled sparsely decodes only what the sampled
        frames need (see `sparse_plan`); if the decoder then disagrees with the plan,
        `SparseSamplingError` is raised and the caller should start again with `sparse=False`.
        """
        started = time.monotonic()  # the time budget covers the planning pass too
        step = sampling_step(interval, self.info.fps)
        plan = self.sparse_plan(step) if sparse and step > 1 else None
        stream = self._stream(slice_only=plan is not None)
        numbered = self._numbered_sparse(stream, plan) if plan else self._numbered_all(stream)
        number = -1
        for number, frame in numbered:
            reason = self._over_limit(number, started)
            if reason:
                self.partial_reason = reason
                return
            self.frame_count = number + 1
            if number % step:
                continue
            over = self._frame_over_limit(frame.width, frame.height)
            if over:
                self.partial_reason = f"frame {number} is {frame.width}x{frame.height}, {over}"
                return
            yield self._luma(frame, number, crop)
        if number < 0 and self.partial_reason is None:
            raise self._fail(CorruptMedia, "no video frame could be decoded")
        if number < 0:
            raise self._fail(CorruptMedia, f"no video frame decoded: {self.partial_reason}")
        if plan is not None and self.partial_reason is None:
            self.frame_count = len(plan.rank)
        # An MP4 index lists every sample, so fewer packets than listed means lost data. (Decoders
        # may legitimately output fewer frames than packets, and AVI counts can include drops.)
        declared = self.info.declared_frames
        if (
            self.partial_reason is None
            and self.kind == "mp4"
            and declared
            and self._packets < declared
        ):
            self.partial_reason = (
                f"the stream ended after {self._packets} of the {declared} samples its index lists "
                "(truncated file?)"
            )

    def _numbered_all(
        self, stream: av.video.stream.VideoStream
    ) -> Iterator[tuple[int, av.VideoFrame]]:
        """Every decoded frame, numbered by output count as upstream does."""
        yield from enumerate(self._decoded(stream))

    def sparse_plan(self, step: int) -> SparsePlan | None:
        """Read the packet list once without decoding and plan a sparse decode, or None when the
        stream does not allow one (codec, container, missing or repeated timestamps)."""
        stream = self._container.streams.video[0]
        if self.info.codec not in _SPARSE_CODECS or self.kind not in ("mp4", "matroska"):
            return None
        pts: list[int] = []
        clean: list[bool] = []
        keyframe: list[bool] = []
        usable = True
        try:
            for packet in self._container.demux(stream):
                if packet.size == 0:
                    continue
                if packet.pts is None or len(pts) > self.limits.max_frames:
                    usable = False
                    break
                pts.append(packet.pts)
                keyframe.append(packet.is_keyframe)
                clean.append(packet.is_keyframe and _starts_clean(bytes(packet), self.info.codec))
        except (av.FFmpegError, ValueError):
            usable = False
        plan = (
            SparsePlan.build(np.array(pts), np.array(keyframe), np.array(clean), step)
            if usable
            else None
        )
        self._rewind(stream, seek=plan is not None)
        return plan

    def _rewind(self, stream: av.video.stream.VideoStream, seek: bool) -> None:
        """Back to the first packet after the planning pass. A seek is far cheaper than reopening
        but only a planned decode checks where it landed (every packet must be the one planned),
        so a decode without a plan gets the file reopened, as does a failed seek."""
        if seek:
            try:
                self._container.seek(0, backward=True, stream=stream)
                return
            except (av.FFmpegError, ValueError, OSError):
                pass
        self._container.close()
        self._container = self._open()

    def _numbered_sparse(
        self, stream: av.video.stream.VideoStream, plan: SparsePlan
    ) -> Iterator[tuple[int, av.VideoFrame]]:
        """Frames decoded by the plan, numbered by presentation order; checks the decoder agrees."""
        context = stream.codec_context
        rank_of = dict(zip(plan.pts.tolist(), plan.rank.tolist(), strict=True))
        wanted = iter(np.sort(plan.rank[plan.target]).tolist())
        expected = next(wanted, None)
        for frame in self._decoded(stream, plan=plan, context=context):
            number = rank_of.get(frame.pts)
            if number is None or (expected is not None and number > expected):
                raise SparseSamplingError(f"{self.path}: the decoder skipped frame {expected}")
            if number == expected:
                expected = next(wanted, None)
            yield number, frame
        if expected is not None and self.partial_reason is None:
            raise SparseSamplingError(f"{self.path}: the decoder never produced frame {expected}")

    def _frame_over_limit(self, width: int, height: int) -> str | None:
        """Why a frame of this size is refused (pixels or side over the limit), or None."""
        limits = self.limits
        if width * height > limits.max_pixels:
            return (
                f"over the limit of {limits.max_pixels} pixels per frame "
                "(STOPFRAME_MAX_FRAME_PIXELS, STOPFRAME_MAX_PIXELS)"
            )
        if max(width, height) > limits.max_side:
            return f"over the side limit of {limits.max_side} px (STOPFRAME_MAX_SIDE)"
        return None

    def _over_limit(self, number: int, started: float) -> str | None:
        limits = self.limits
        if number >= limits.max_frames:
            return f"stopped at the limit of {limits.max_frames} frames"
        if number / self.info.fps > limits.max_duration_s:
            return f"stopped at the limit of {limits.max_duration_s:.0f} s of video"
        budget = limits.time_budget_s
        if budget is not None and time.monotonic() - started > budget:
            return f"stopped after the decode time budget of {budget:.1f} s"
        return None

    def _decoded(
        self,
        stream: av.video.stream.VideoStream,
        plan: SparsePlan | None = None,
        context: av.codec.context.CodecContext | None = None,
    ) -> Iterator[av.VideoFrame]:
        """Decoder output in order; a demux or decode error ends the stream and is recorded.
        With a plan, packets it does not need are dropped or decoded only as references."""
        packets = self._container.demux(stream)
        self._packets = 0
        skip: SkipFrame = "DEFAULT"
        planned_pts, keep, target = (
            (plan.pts.tolist(), plan.keep.tolist(), plan.target.tolist()) if plan else ([], [], [])
        )
        while True:
            try:
                packet = next(packets)
                if packet.size > 0:
                    index = self._packets
                    self._packets += 1
                    if plan is not None and context is not None:
                        if index >= len(keep) or packet.pts != planned_pts[index]:
                            raise SparseSamplingError(f"{self.path}: packet {index} not as planned")
                        if not keep[index]:
                            continue
                        wanted: SkipFrame = "DEFAULT" if target[index] else "NONREF"
                        if wanted != skip:
                            context.skip_frame = skip = wanted
                decoded = stream.decode(packet)
            except StopIteration:
                return
            except (av.FFmpegError, ValueError, MemoryError) as exc:
                self.partial_reason = f"decoding stopped at a corrupt or truncated part ({exc})"
                return
            for frame in decoded:
                if frame.is_corrupt:
                    self.partial_reason = "the stream has corrupt frames (concealed by the decoder)"
                yield frame

    def _luma(self, frame: av.VideoFrame, number: int, crop: Box | None) -> LumaFrame:
        name = frame.format.name
        if name in _Y_PLANE_FORMATS or name in _FULL_RANGE_FORMATS:
            source = frame
            scale, offset = (
                (1.0, 0.0) if name in _FULL_RANGE_FORMATS else (_LIMITED_SCALE, _LIMITED_OFFSET)
            )
        else:
            source = frame.reformat(format="gray")
            scale, offset = 1.0, 0.0
        plane = source.planes[0]
        array = np.frombuffer(memoryview(plane), dtype=np.uint8).reshape(-1, plane.line_size)
        array = array[: source.height, : source.width]
        if crop is not None and crop.bottom <= array.shape[0] and crop.right <= array.shape[1]:
            array = array[crop.slices()]
        return LumaFrame(number, frame_timestamp(number, self.info.fps), array, scale, offset)

    def keyframe_planes(self, count: int = 16) -> Iterator[np.ndarray]:
        """Luma planes of up to `count` keyframes spread over the clip (cheap: one key frame is
        decoded per position), for whole-clip statistics such as bar detection. Best effort: a
        file that cannot seek yields what it can."""
        stream = self._stream()
        seen: set[int | None] = set()
        duration = self.info.duration_s
        time_base = stream.time_base
        targets = [duration * i / count for i in range(count)] if duration and time_base else [0.0]
        for seconds in targets:
            try:
                if seconds > 0 and time_base is not None:
                    self._container.seek(int(seconds / time_base), stream=stream)
                frame = self._next_keyframe(stream, seen)
            except (av.FFmpegError, ValueError, MemoryError):
                break
            if frame is not None:
                yield self._luma(frame, 0, None).plane.copy()

    def _next_keyframe(
        self, stream: av.video.stream.VideoStream, seen: set[int | None]
    ) -> av.VideoFrame | None:
        """Decode the next key frame alone, unless its timestamp is in `seen`: send its packet,
        then drain the decoder (a seek resets it), so no reordering delay makes us decode the
        frames after it."""
        for packet in self._container.demux(stream):
            if packet.size == 0:
                return None
            if packet.is_keyframe:
                if packet.pts in seen:
                    return None
                seen.add(packet.pts)
                frames = [*stream.decode(packet), *stream.decode(None)]
                return frames[0] if frames else None
        return None
