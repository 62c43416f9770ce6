"""Robust image matching: a few PDQ hashes per registered image and per query, compared as sets,
so that crops, pads, letterboxes, rotations and mirror flips of a registered picture still match.

Registration (victim side) hashes the border-trimmed picture plus a fixed set of canonical crops
(centred, and from each side) and slight rotations; only these 32-byte hashes leave the device.
A query (platform side) hashes its border-trimmed form, its untrimmed form and the region a
screenshot shows inside window chrome, each in the 8 dihedral variants taken from one DCT
(rotations by 90/180/270 degrees and mirrors cost nothing extra), and once more despeckled, with
the thin strokes of overlaid text wiped by a median.
Hashes with quality below `MIN_QUALITY` are never kept, and a picture whose whole-picture hash is
below it gets none at all (its crops and rotations would only show black corners and crop edges).
Comparing sets lives in `stopframe.matching.robust`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

from stopframe.errors import SignalValueError
from stopframe.media.borders import trim_borders, window_boxes
from stopframe.media.resize import fit_long_side
from stopframe.signals.base import ContentType, IndexKind, Signal, SignalType
from stopframe.signals.pdq import (
    PDQ,
    PDQ_BITS,
    PdqHash,
    digest_matrix,
    hamming_matrix,
    hex_to_digest,
    luma_from_rgb,
    pdq_from_block64,
)

MIN_QUALITY = PDQ.quality_floor
MAX_SET_SIZE = 32  # hashes one registered picture may carry
NO_MATCH = PDQ_BITS + 1  # distance when either set has no usable hash
_VARIANT = re.compile(r"(?=.*[^\W_])[\w+./-]+")  # letters or digits, with _ + . / - ("rotate+3")


@dataclass(frozen=True, slots=True)
class Crop:
    """A canonical crop: the shares of width/height cut from each side."""

    name: str
    left: float = 0.0
    top: float = 0.0
    right: float = 0.0
    bottom: float = 0.0

    def apply(self, rgb: np.ndarray) -> np.ndarray:
        height, width = rgb.shape[:2]
        top, bottom = round(height * self.top), height - round(height * self.bottom)
        left, right = round(width * self.left), width - round(width * self.right)
        return rgb[top:bottom, left:right]


def _register_crops() -> tuple[Crop, ...]:
    centre = [Crop(f"centre{100 - round(200 * c)}", c, c, c, c) for c in (0.025, 0.05, 0.075, 0.1)]
    sides = [
        Crop(f"{side}{round(100 * c)}", **{side: c})
        for c in (0.04, 0.08, 0.12, 0.16, 0.2)
        for side in ("left", "right", "top", "bottom")
    ]
    return tuple(centre + sides)


REGISTER_CROPS: tuple[Crop, ...] = _register_crops()
REGISTER_ROTATIONS: tuple[float, ...] = (-9.0, -6.0, -3.0, 3.0, 6.0, 9.0)  # degrees, black fill
WORK_SIDE = 256  # crops and rotations work on a copy this size: hashes only see 64 x 64
DESPECKLE_SIZE = 5  # median window at 128 x 128 for the query's text-free candidate


@dataclass(frozen=True, slots=True)
class RobustHash:
    """One PDQ hash of a registered image or query, with the variant it was taken from."""

    hash: PdqHash
    variant: str

    @property
    def usable(self) -> bool:
        return self.hash.quality >= MIN_QUALITY


@dataclass(frozen=True, slots=True)
class WorkViews:
    """A picture shrunk to `WORK_SIDE`, and the same with its flat borders trimmed (a view):
    what both sets start from, made once when a picture gets both."""

    small: np.ndarray
    trimmed: np.ndarray

    @classmethod
    def of(cls, rgb: np.ndarray) -> WorkViews:
        small = fit_long_side(rgb, WORK_SIDE)
        return cls(small, trim_borders(small))


def prepare(rgb: np.ndarray | WorkViews) -> tuple[np.ndarray, np.ndarray]:
    """Luma of the shrunk picture with its flat borders trimmed, and without trimming."""
    views = rgb if isinstance(rgb, WorkViews) else WorkViews.of(rgb)
    return luma_from_rgb(views.trimmed), luma_from_rgb(views.small)


def query_bases(rgb: np.ndarray | WorkViews) -> list[tuple[str, np.ndarray]]:
    """The lumas a query is hashed from, each once: trimmed, untrimmed (when trimming cut
    something) and the window content (when a screenshot's chrome hides it from trimming)."""
    views = rgb if isinstance(rgb, WorkViews) else WorkViews.of(rgb)
    small, trimmed = views.small, views.trimmed
    windows = [("window", small[box.slices()]) for box in window_boxes(small)]
    out: list[tuple[str, np.ndarray]] = [("trim", trimmed)]
    for name, view in [("full", small), *windows]:
        if not any(view.shape == kept.shape and np.array_equal(view, kept) for _, kept in out):
            out.append((name, view))
    return [(name, luma_from_rgb(view)) for name, view in out]


def canonical_block(luma: np.ndarray, despeckle: bool = False) -> np.ndarray:
    """The 64 x 64 block robust hashes are taken from: box-average to 128 x 128, a [1 2 1] blur,
    then 2 x 2 means. Unlike PDQ's Jarosz sampling it is symmetric, so the dihedral variants
    of one DCT equal the hashes of the rotated or mirrored picture. `despeckle` adds a 5 x 5
    median at 128 x 128 first, which wipes thin strokes (overlaid text) but keeps edges."""
    block: np.ndarray = canonical_blocks([luma], despeckle)[0]
    return block


def _blur_and_halve() -> np.ndarray:
    """The 64 x 128 matrix A with A @ square @ A.T = a [1 2 1] / 4 blur of each axis (edge
    lines repeated outwards), then means of 2 x 2 cells."""
    blur = np.zeros((128, 128))
    for i in range(128):
        for j, weight in ((i - 1, 0.25), (i, 0.5), (i + 1, 0.25)):
            blur[i, min(max(j, 0), 127)] += weight
    halve = np.zeros((64, 128))
    halve[np.arange(64), 2 * np.arange(64)] = halve[np.arange(64), 2 * np.arange(64) + 1] = 0.5
    matrix: np.ndarray = halve @ blur
    return matrix


_BLUR_AND_HALVE = _blur_and_halve()


def canonical_blocks(lumas: Sequence[np.ndarray], despeckle: bool = False) -> np.ndarray:
    """`canonical_block` of each luma, as one N x 64 x 64 array. The blur and the 2 x 2 means
    are one linear map per axis, applied as two small matrix products."""
    squares = []
    for luma in lumas:
        image = Image.fromarray(np.ascontiguousarray(luma, dtype=np.float32), "F").resize(
            (128, 128), Image.Resampling.BOX
        )
        pixels = np.asarray(image)
        squares.append(_median(pixels, DESPECKLE_SIZE) if despeckle else pixels)
    stack = np.stack(squares).astype(np.float64)
    blocks: np.ndarray = _BLUR_AND_HALVE @ stack @ _BLUR_AND_HALVE.T
    return blocks


def _median(pixels: np.ndarray, size: int) -> np.ndarray:
    """`size` x `size` median with edges repeated outwards: the values of Pillow's
    `MedianFilter` on a float image, at a third of its time."""
    half = size // 2
    padded = np.pad(pixels, half, mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, (size, size))
    flat = windows.reshape(*pixels.shape, size * size)
    median: np.ndarray = np.partition(flat, size * size // 2, axis=-1)[..., size * size // 2]
    return median


def _rotate(luma: np.ndarray, degrees: float) -> np.ndarray:
    return np.asarray(Image.fromarray(luma, "F").rotate(degrees, Image.Resampling.BILINEAR))


def _hash(luma: np.ndarray, variant: str) -> RobustHash:
    return RobustHash(pdq_from_block64(canonical_block(luma)).hash, variant)


def register_hashes(rgb: np.ndarray | WorkViews) -> list[RobustHash]:
    """The hashes a victim's device registers for one picture (H x W x 3, or its `WorkViews`),
    usable ones only."""
    base, untrimmed = prepare(rgb)
    out = [_hash(base, "full")]
    if not out[0].usable:
        return []  # a featureless picture: every variant would be noise or black corners
    variants = [("untrimmed", untrimmed)] if untrimmed.shape != base.shape else []
    variants += [(crop.name, crop.apply(base)) for crop in REGISTER_CROPS]
    variants += [(f"rotate{angle:+g}", _rotate(base, angle)) for angle in REGISTER_ROTATIONS]
    blocks = canonical_blocks([luma for _, luma in variants])
    out += [
        RobustHash(pdq_from_block64(block).hash, name)
        for (name, _), block in zip(variants, blocks, strict=True)
    ]
    return [item for item in _unique(out) if item.usable]


def query_hashes(rgb: np.ndarray | WorkViews) -> list[RobustHash]:
    """The hashes a platform computes for one uploaded picture (or its `WorkViews`), usable ones
    only: each of its `query_bases` in its 8 dihedral variants, and after the trimmed picture's
    the same picture despeckled (thin strokes of overlaid text wiped). A query is a set like a
    registered one, so at most `MAX_SET_SIZE`: the last window variant gives way when all four
    regions differ."""
    out = []
    for number, (name, luma) in enumerate(query_bases(rgb)):
        result = pdq_from_block64(canonical_block(luma))
        out += [
            RobustHash(value, f"{name}/{variant.name.lower()}")
            for variant, value in result.all_dihedral().items()
        ]
        if number == 0:
            despeckled = pdq_from_block64(canonical_block(luma, despeckle=True)).hash
            out.append(RobustHash(despeckled, f"{name}/despeckled"))
    return [item for item in _unique(out) if item.usable][:MAX_SET_SIZE]


def _unique(items: list[RobustHash]) -> list[RobustHash]:
    seen: set[bytes] = set()
    out = []
    for item in items:
        if item.hash.digest not in seen:
            seen.add(item.hash.digest)
            out.append(item)
    return out


class PdqRobustSignal(SignalType):
    """A robust registration set: up to 32 PDQ-format hashes of one picture (whole, trimmed,
    crops, small rotations), one `variant,quality,pdq_hex` line each. The distance of two sets
    is the smallest Hamming distance between their usable hashes. Never mixed into PDQ lists;
    its own threshold, since it compares up to 32 x 32 hashes per pair instead of one."""

    name = "pdq_robust"
    contents = (ContentType.PHOTO,)
    description = "robust PDQ set of a picture (up to 32 hashes; smallest Hamming distance)"
    index_kind = IndexKind.HAMMING_SET
    has_quality = True
    quality_floor = MIN_QUALITY
    # the operating point measured by `stopframe bench robustness` and the corpus-wide false-match
    # test (docs/robustness.md): recall >= 95 % there, 10 bits under the closest unrelated pair
    default_threshold = 40
    max_threshold = PDQ.max_threshold
    single_line = False

    def canonical(self, value: str) -> str:
        return format_robust_set(parse_robust_set(value))

    def distance(self, a: str, b: str) -> int:
        return set_distance(parse_robust_set(a), parse_robust_set(b))


PDQ_ROBUST = PdqRobustSignal()


def format_robust_set(hashes: list[RobustHash]) -> str:
    """The canonical text of a set: `variant,quality,pdq_hex` per line, in the given order."""
    return "\n".join(f"{item.variant},{item.hash.quality},{item.hash.hex}" for item in hashes)


def parse_robust_set(text: str) -> list[RobustHash]:
    """Read a set written by `format_robust_set`; SignalValueError names the bad line."""
    out: list[RobustHash] = []
    for number, raw in enumerate(text.strip().splitlines(), start=1):
        parts = raw.strip().split(",")
        if len(parts) != 3 or not _VARIANT.fullmatch(parts[0]):
            raise SignalValueError(f"pdq_robust line {number}: expected variant,quality,pdq_hex")
        try:
            quality = int(parts[1])
        except ValueError:
            raise SignalValueError(f"pdq_robust line {number}: quality is not an integer") from None
        if not 0 <= quality <= 100:
            raise SignalValueError(f"pdq_robust line {number}: quality out of range 0-100")
        try:
            digest = hex_to_digest(parts[2])
        except SignalValueError as exc:
            raise SignalValueError(f"pdq_robust line {number}: {exc}") from None
        out.append(RobustHash(PdqHash(digest, quality), parts[0]))
    if not out:
        raise SignalValueError("pdq_robust must hold at least one hash")
    if len(out) > MAX_SET_SIZE:
        raise SignalValueError(f"pdq_robust holds {len(out)} hashes; at most {MAX_SET_SIZE}")
    return out


def robust_signal(hashes: list[RobustHash]) -> Signal:
    """The `pdq_robust` signal of a registration set (quality: its whole-picture hash's)."""
    return Signal(PDQ_ROBUST.name, format_robust_set(hashes), hashes[0].hash.quality)


def set_distance(query: list[RobustHash], registered: list[RobustHash]) -> int:
    """Smallest Hamming distance between usable hashes of two sets (`NO_MATCH` if none)."""
    left = [item.hash.digest for item in query if item.usable]
    right = [item.hash.digest for item in registered if item.usable]
    if not left or not right:
        return NO_MATCH
    return int(hamming_matrix(digest_matrix(left), digest_matrix(right)).min())
