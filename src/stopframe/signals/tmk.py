"""TMK+PDQF: Meta's whole-video hash (temporal match kernel over PDQ float features).

A video is resampled to 15 frames per second and 64 x 64 RGB (as `ffmpeg -s 64:64 -r 15` does:
bicubic scaling, then FFmpeg 4's constant-rate frame dropping and duplication). Each frame's
feature is PDQF: the 16 x 16 DCT block of its luma before PDQ thresholds it, 256 floats. TMK
keeps the mean feature (the "pure average") and, for each of four periods and 32 Fourier
coefficients, the cosine- and sine-weighted sums of the unit-length features. Level 1 is the
cosine similarity of two pure averages; level 2 the kernel score at the best time offset (0-1).
`.tmk` files are read and written byte for byte in upstream's little-endian layout.
"""

from __future__ import annotations

import base64
import binascii
import math
import os
import re
import struct
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from stopframe.errors import CorruptMedia, SignalValueError
from stopframe.media.limits import VideoLimits
from stopframe.media.regular import require_regular
from stopframe.media.video import VideoReader
from stopframe.signals.base import ContentType, IndexKind, SignalType
from stopframe.signals.pdq import luma_from_rgb, pdq_from_block64

try:
    import av
except ImportError:  # pragma: no cover - exercised only without the `video` extra
    av = None  # type: ignore[assignment]

FPS = 15
SIDE = 64  # frames are scaled to SIDE x SIDE before the PDQ DCT
FEATURE_DIM = 256
PERIODS = (2731, 4391, 9767, 14653)  # in resampled frames
COEFFICIENT_COUNT = 32
_BETA = 32.0  # sharpness of the von Mises kernel the Fourier coefficients approximate
ALGORITHM = b"PDQF"
MAGIC = b"TMK1FVEC"
_HEADER = struct.Struct("<4s4s4s5i")
_MAX_PERIODS = 64
_MAX_COEFFICIENTS = 256
_MAX_DIMENSION = 4096
_MAX_PERIOD = 1 << 20
_CHUNK = 512  # frame features folded into the sums at a time
LEVEL1_THRESHOLD = 0.7  # upstream's suggested thresholds
LEVEL2_THRESHOLD = 0.7
STANDARD_BYTES = (
    _HEADER.size
    + 4 * len(PERIODS)
    + 4 * COEFFICIENT_COUNT
    + 4 * FEATURE_DIM * (1 + 2 * len(PERIODS) * COEFFICIENT_COUNT)
)
_WRAP = 76  # canonical text: base64 lines of this many characters
_HEX_TEXT = re.compile(r"[0-9a-fA-F]+")


def _bessel_i(order: int, x: float) -> float:
    """Modified Bessel function of the first kind I_order(x), from its power series."""
    half = x / 2.0
    term = half**order / math.factorial(order)
    total, k = 0.0, 0
    while term > total * 1e-17 or k < 4:
        total += term
        k += 1
        term *= half * half / (k * (k + order))
    return total


def poullot_coefficients(count: int = COEFFICIENT_COUNT, beta: float = _BETA) -> np.ndarray:
    """The Fourier coefficients of the periodic von Mises kernel (Poullot et al.), float32."""
    sinh = math.sinh(beta)
    values = [(_bessel_i(0, beta) - math.exp(-beta)) / (2.0 * sinh)]
    values += [_bessel_i(j, beta) / sinh for j in range(1, count)]
    return np.array(values, dtype=np.float32)


COEFFICIENTS = poullot_coefficients()


@dataclass(frozen=True, eq=False)
class TmkFeatures:
    """The contents of one `.tmk` file: provenance, parameters and the feature vectors."""

    algorithm: bytes
    fps: int
    frame_count: int
    periods: np.ndarray  # P int32
    coefficients: np.ndarray  # m float32
    average: np.ndarray  # d float32: the pure-average feature
    cos: np.ndarray  # P x m x d float32
    sin: np.ndarray  # P x m x d float32

    def to_bytes(self) -> bytes:
        """The `.tmk` file: header, periods, coefficients, average, cosine then sine features."""
        sizes = (len(self.periods), len(self.coefficients), len(self.average))
        header = _HEADER.pack(
            MAGIC[:4], MAGIC[4:], self.algorithm, self.fps, *sizes, self.frame_count
        )
        floats = (self.coefficients, self.average, self.cos, self.sin)
        arrays = [self.periods.astype("<i4"), *(a.astype("<f4") for a in floats)]
        return header + b"".join(a.tobytes() for a in arrays)

    def is_standard(self) -> bool:
        """Whether these are TMK+PDQF features with upstream's parameters (comparable to lists)."""
        return (
            self.algorithm == ALGORITHM
            and self.fps == FPS
            and tuple(self.periods.tolist()) == PERIODS
            and len(self.average) == FEATURE_DIM
            and np.allclose(self.coefficients, COEFFICIENTS, rtol=1e-6, atol=0)
        )

    def compatible(self, other: TmkFeatures) -> bool:
        """Whether two feature sets were made with the same algorithm and parameters."""
        return (
            self.algorithm == other.algorithm
            and self.fps == other.fps
            and np.array_equal(self.periods, other.periods)
            and self.coefficients.shape == other.coefficients.shape
            and np.allclose(self.coefficients, other.coefficients, rtol=1e-6, atol=0)
            and self.average.shape == other.average.shape
        )


def parse_tmk(data: bytes, source: str = "tmk") -> TmkFeatures:
    """Read `.tmk` bytes, checking the magic, the dimensions against the length and that every
    float is finite; SignalValueError names `source` and says what is wrong."""
    if len(data) < _HEADER.size:
        raise SignalValueError(f"{source}: {len(data)} bytes is too short for a .tmk header")
    project, kind, algorithm, fps, periods, count, dim, frames = _HEADER.unpack_from(data)
    if project + kind != MAGIC:
        raise SignalValueError(f"{source}: not a TMK feature-vector file (no TMK1FVEC magic)")
    if not (
        0 < periods <= _MAX_PERIODS
        and 0 < count <= _MAX_COEFFICIENTS
        and 0 < dim <= _MAX_DIMENSION
        and fps > 0
        and frames >= 0
    ):
        raise SignalValueError(
            f"{source}: bad dimensions (fps {fps}, {periods} periods, {count} coefficients, "
            f"feature dimension {dim}, {frames} frames)"
        )
    expected = _HEADER.size + 4 * (periods + count + dim * (1 + 2 * periods * count))
    if len(data) != expected:
        problem = "truncated" if len(data) < expected else "has trailing bytes"
        raise SignalValueError(
            f"{source}: {problem}: {len(data)} bytes, but its header's dimensions "
            f"({periods} periods, {count} coefficients, feature dimension {dim}) need {expected}"
        )
    offset = _HEADER.size
    period_values = np.frombuffer(data, "<i4", periods, offset).astype(np.int32)
    offset += 4 * periods
    floats = np.frombuffer(data, "<f4", count + dim * (1 + 2 * periods * count), offset)
    if not np.isfinite(floats).all():
        raise SignalValueError(f"{source}: holds a NaN or infinite value")
    if not ((period_values > 0) & (period_values <= _MAX_PERIOD)).all():
        raise SignalValueError(f"{source}: periods must be 1 to {_MAX_PERIOD} frames")
    floats = floats.astype(np.float32)
    block = periods * count * dim
    return TmkFeatures(
        algorithm=algorithm,
        fps=fps,
        frame_count=frames,
        periods=period_values,
        coefficients=floats[:count],
        average=floats[count : count + dim],
        cos=floats[count + dim : count + dim + block].reshape(periods, count, dim),
        sin=floats[count + dim + block :].reshape(periods, count, dim),
    )


def read_tmk(path: str | os.PathLike[str], max_bytes: int = 16 * 1024**2) -> TmkFeatures:
    """Read a `.tmk` file; SignalValueError names the file when it is not a valid one."""
    path = Path(path)
    require_regular(path)
    if path.stat().st_size > max_bytes:
        raise SignalValueError(f"{path}: .tmk file is over {max_bytes} bytes")
    return parse_tmk(path.read_bytes(), source=str(path))


def write_tmk(path: str | os.PathLike[str], features: TmkFeatures) -> None:
    """Write a `.tmk` file in upstream's layout."""
    Path(path).write_bytes(features.to_bytes())


def level1_score(a: TmkFeatures, b: TmkFeatures) -> float:
    """Cosine similarity of the pure averages (-1 to 1): the cheap first-level filter."""
    x, y = a.average.astype(np.float64), b.average.astype(np.float64)
    norms = float(np.linalg.norm(x) * np.linalg.norm(y))
    return float(x @ y) / norms if norms > 0 else 0.0


def _pair_normaliser(coefficients: np.ndarray) -> float:
    """The kernel score of a video with itself at offset 0: a_0 + 2 (a_1 + ... + a_{m-1})."""
    return float(coefficients[0]) + 2.0 * float(coefficients[1:].astype(np.float64).sum())


@lru_cache(maxsize=16)
def _offset_tables(period: int, count: int) -> tuple[np.ndarray, np.ndarray]:
    """cos(j delta) and sin(j delta) for every offset of `period` (rows) and harmonic j >= 1."""
    angle = np.outer(2.0 * np.pi * np.arange(period) / period, np.arange(1, count))
    tables = np.cos(angle), np.sin(angle)
    for table in tables:
        table.setflags(write=False)  # shared by every later call
    return tables


def best_offsets(a: TmkFeatures, b: TmkFeatures) -> list[tuple[int, float]]:
    """For each period, the time offset (in frames, modulo the period) where the kernel score
    of `a` against `b` peaks, and that peak's raw value."""
    if not a.compatible(b):
        raise SignalValueError("the two TMK hashes were made with different parameters")
    ac, asn = a.cos.astype(np.float64), a.sin.astype(np.float64)
    bc, bsn = b.cos.astype(np.float64), b.sin.astype(np.float64)
    same = np.einsum("pmd,pmd->pm", ac, bc) + np.einsum("pmd,pmd->pm", asn, bsn)
    cross = np.einsum("pmd,pmd->pm", asn, bc) - np.einsum("pmd,pmd->pm", ac, bsn)
    out = []
    for i, period in enumerate(a.periods.tolist()):
        cosines, sines = _offset_tables(period, len(a.coefficients))
        kernel = same[i, 0] + cosines @ same[i, 1:] + sines @ cross[i, 1:]
        best = int(np.argmax(kernel))
        out.append((best, float(kernel[best])))
    return out


def level2_score(a: TmkFeatures, b: TmkFeatures) -> float:
    """The normalised kernel score (0-1) at the best offset of the best period."""
    peak = max(value for _, value in best_offsets(a, b))
    return peak / _pair_normaliser(a.coefficients)


@dataclass(frozen=True, slots=True)
class TmkScores:
    """Both levels of one comparison; level 2 is None when level 1 already rules a match out."""

    level1: float
    level2: float | None

    def is_match(
        self, level1_min: float = LEVEL1_THRESHOLD, level2_min: float = LEVEL2_THRESHOLD
    ) -> bool:
        return self.level1 >= level1_min and self.level2 is not None and self.level2 >= level2_min


def compare(a: TmkFeatures, b: TmkFeatures, level1_min: float = LEVEL1_THRESHOLD) -> TmkScores:
    """Level 1, then level 2 only when level 1 reaches `level1_min` (upstream's two-level rule)."""
    first = level1_score(a, b)
    return TmkScores(first, level2_score(a, b) if first >= level1_min else None)


class TmkAccumulator:
    """Builds TMK features from frame features one at a time, folding them in by chunks."""

    def __init__(
        self,
        periods: tuple[int, ...] = PERIODS,
        coefficients: np.ndarray = COEFFICIENTS,
        dim: int = FEATURE_DIM,
    ) -> None:
        self.periods = np.array(periods, dtype=np.int32)
        self.coefficients = np.asarray(coefficients, dtype=np.float32)
        shape = (len(periods), len(self.coefficients), dim)
        self._sum = np.zeros(dim, dtype=np.float64)
        self._cos = np.zeros(shape, dtype=np.float64)
        self._sin = np.zeros(shape, dtype=np.float64)
        self._pending: list[np.ndarray] = []
        self.count = 0

    def add(self, feature: np.ndarray) -> None:
        """Take the feature of the next resampled frame."""
        self._pending.append(np.asarray(feature, dtype=np.float32).reshape(-1))
        if len(self._pending) >= _CHUNK:
            self._fold()

    def _fold(self) -> None:
        if not self._pending:
            return
        batch = np.stack(self._pending).astype(np.float64)
        self._pending = []
        times = np.arange(self.count, self.count + len(batch), dtype=np.float64)
        self.count += len(batch)
        self._sum += batch.sum(axis=0)
        unit = _unit_rows(batch)
        harmonics = np.arange(len(self.coefficients), dtype=np.float64)
        phase = 2.0 * np.pi * harmonics[None, :, None] * times[None, None, :]
        angle = phase / self.periods.astype(np.float64)[:, None, None]  # P x m x N
        self._cos += np.cos(angle) @ unit
        self._sin += np.sin(angle) @ unit
        self._sin[:, 0, :] = 0.0

    def finish(self, fps: int = FPS, algorithm: bytes = ALGORITHM) -> TmkFeatures:
        """The features of everything added: the mean, and unit sums scaled by sqrt(a_j)."""
        self._fold()
        average = self._sum / max(self.count, 1)
        scale = np.sqrt(self.coefficients.astype(np.float64))[None, :, None]
        return TmkFeatures(
            algorithm=algorithm,
            fps=fps,
            frame_count=self.count,
            periods=self.periods.copy(),
            coefficients=self.coefficients.copy(),
            average=average.astype(np.float32),
            cos=(_unit_rows(self._cos) * scale).astype(np.float32),
            sin=(_unit_rows(self._sin) * scale).astype(np.float32),
        )


def _unit_rows(values: np.ndarray) -> np.ndarray:
    """`values` with each last-axis vector scaled to length 1 (zero vectors stay zero)."""
    norms = np.linalg.norm(values, axis=-1, keepdims=True)
    unit: np.ndarray = np.divide(values, norms, out=np.zeros_like(values), where=norms > 0)
    return unit


def pdqf(rgb: np.ndarray) -> np.ndarray:
    """PDQF of a 64 x 64 RGB frame: PDQ's 16 x 16 DCT of its luma before thresholding."""
    luma = luma_from_rgb(rgb)
    if luma.shape != (SIDE, SIDE):
        raise ValueError(f"PDQF frames are {SIDE} x {SIDE}, got {luma.shape}")
    return pdq_from_block64(luma).dct.reshape(-1).astype(np.float32)


class RateConverter:
    """Which output frames each input frame fills, as FFmpeg 4's constant-frame-rate output
    decides (`-r` with the rawvideo muxer): a frame is dropped when it falls more than 1.1
    output frames behind, and repeated when it leaves a gap of more than 1.1."""

    def __init__(self, fps: int = FPS, single_stream: bool = False) -> None:
        self.fps = fps
        self.single_stream = single_stream  # FFmpeg's "vscfr": the first frame sets the clock
        self.next = 0  # number of the next output frame

    def push(self, seconds: float, duration_s: float, stream_fps: float) -> tuple[int, int]:
        """(repeats of the previous frame, copies of this frame) for an input frame shown at
        `seconds` for `duration_s` in a stream of `stream_fps`."""
        position = seconds * self.fps
        duration = min(self.fps / stream_fps, 1.0) if stream_fps > 0 else 1.0
        rounded = round(duration_s * self.fps)  # C's lrintf: halves go to the even integer
        if rounded > 0:
            duration = float(rounded)
        drift = position - self.next
        delta = drift + duration
        if drift < 0 < delta:
            duration += drift
            drift = 0.0
        if self.single_stream and self.next == 0 and drift >= 0.5:
            delta, drift = duration, 0.0
            self.next = round(position)
        copies, repeats = 1, 0
        if delta < -1.1:
            copies = 0
        elif delta > 1.1:
            copies = round(delta)
            if drift > 1.1:
                repeats = min(round(drift - 0.6), copies)
        self.next += copies
        return repeats, copies


def _scaled(frame: av.VideoFrame) -> np.ndarray:
    """The frame as 64 x 64 RGB through FFmpeg's bicubic scaler, as `ffmpeg -s 64:64` makes it."""
    rgb: np.ndarray = frame.reformat(SIDE, SIDE, "rgb24", interpolation="BICUBIC").to_ndarray()
    return rgb


class _TmkReader(VideoReader):
    """A `VideoReader` that hands out frames resampled to 15 fps and scaled to 64 x 64 RGB."""

    def rgb_frames(self) -> Iterator[np.ndarray]:
        """The resampled frames in order; stops early with `partial_reason` on a limit."""
        started = time.monotonic()
        stream = self._stream()
        start = self._container.start_time or 0
        converter = RateConverter(single_stream=len(self._container.streams) == 1)
        most = min(self.limits.max_frames, math.ceil(self.limits.max_duration_s * FPS) + 1)
        previous: np.ndarray | None = None
        number = -1
        for number, frame in enumerate(self._decoded(stream)):
            reason = self._over_limit(number, started)
            if reason:
                self.partial_reason = reason
                return
            self.frame_count = number + 1
            over = self._frame_over_limit(frame.width, frame.height)
            if over:
                self.partial_reason = f"frame {number} is {frame.width}x{frame.height}, {over}"
                return
            if frame.pts is None or frame.time_base is None:
                seconds = number / self.info.fps
            else:
                seconds = float(frame.pts * frame.time_base) - start / 1_000_000
            shown = 0.0
            if frame.duration and frame.time_base is not None:
                shown = float(frame.duration * frame.time_base)
            repeats, copies = converter.push(seconds, shown, self.info.fps)
            if converter.next > most:  # a timestamp far ahead would repeat a frame for ever
                self.partial_reason = f"stopped at the limit of {most} resampled frames"
                return
            if not copies:
                continue
            try:
                scaled = _scaled(frame)
            except (av.FFmpegError, ValueError) as exc:
                self.partial_reason = f"frame {number} could not be scaled ({exc})"
                return
            for _ in range(repeats):
                yield scaled if previous is None else previous
            for _ in range(copies - repeats):
                yield scaled
            previous = scaled
        if number < 0:
            detail = f": {self.partial_reason}" if self.partial_reason else ""
            raise self._fail(CorruptMedia, f"no video frame could be decoded{detail}")
        declared = self.info.declared_frames
        if self.partial_reason is None and self.kind == "mp4" and declared:
            if self._packets < declared:  # an MP4 index lists every sample: data was lost
                self.partial_reason = (
                    f"the stream ended after {self._packets} of the {declared} samples its "
                    "index lists (truncated file?)"
                )


@dataclass(frozen=True, slots=True)
class TmkVideoHash:
    """The TMK features of one video and how its decode went."""

    features: TmkFeatures
    partial: bool
    partial_reason: str | None


def hash_video_tmk(
    path: str | os.PathLike[str], *, limits: VideoLimits | None = None, threads: int = 0
) -> TmkVideoHash:
    """TMK+PDQF of a video file. Raises `MediaError` for files that cannot be hashed; a file
    that breaks off midway gives `partial=True` with the reason."""
    limits = limits or VideoLimits.from_env()
    require_regular(path)
    accumulator = TmkAccumulator()
    with _TmkReader(path, limits, threads=threads) as reader:
        for rgb in reader.rgb_frames():
            accumulator.add(pdqf(rgb))
        reason = reader.partial_reason
    return TmkVideoHash(accumulator.finish(), reason is not None, reason)


def tmk_text(data: bytes) -> str:
    """The canonical text of `.tmk` bytes: base64 in lines of 76 characters."""
    text = base64.b64encode(data).decode("ascii")
    return "\n".join(text[i : i + _WRAP] for i in range(0, len(text), _WRAP))


def tmk_bytes(value: str) -> bytes:
    """The `.tmk` bytes of a value written as base64 or hex (whitespace ignored)."""
    text = "".join(value.split())
    if _HEX_TEXT.fullmatch(text) and len(text) % 2 == 0:
        return bytes.fromhex(text)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise SignalValueError("tmk value must be the .tmk file's bytes in base64 or hex") from None


class TmkSignal(SignalType):
    """Meta's TMK+PDQF video hash: a `.tmk` file's bytes (base64 or hex in; base64 lines out).
    The distance is 100 when the pure averages' cosine similarity is under 0.7 (level 1), else
    100 x (1 - level-2 score), so the default threshold of 30 is upstream's level-2 0.7."""

    name = "tmk"
    contents = (ContentType.VIDEO,)
    description = "TMK+PDQF whole-video hash (temporal match kernel, level-1/level-2 scores)"
    index_kind = IndexKind.TMK
    default_threshold = 30
    max_threshold = 100
    single_line = False
    aliases = ("tmk_pdqf", "videotmk", "video_tmk", "tmk+pdqf")
    max_value_chars = 2 * STANDARD_BYTES + 65_536

    def canonical(self, value: str) -> str:
        return tmk_text(self.features(value).to_bytes())

    def features(self, value: str) -> TmkFeatures:
        """The features of a value, which must use upstream's TMK+PDQF parameters."""
        features = parse_tmk(tmk_bytes(value), source=self.name)
        if not features.is_standard():
            raise SignalValueError(
                "tmk value must be TMK+PDQF at 15 fps with the standard periods, 32 Fourier "
                "coefficients and 256-float features"
            )
        return features

    def distance(self, a: str, b: str) -> int:
        return self.scored_distance(compare(self.features(a), self.features(b)))

    def scored_distance(self, scores: TmkScores) -> int:
        """The distance two values' scores make (indexes score them without `distance`)."""
        if scores.level2 is None or scores.level1 < LEVEL1_THRESHOLD:
            return self.max_threshold
        return max(0, min(self.max_threshold, round(100 * (1 - scores.level2))))


TMK = TmkSignal()
