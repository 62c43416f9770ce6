"""PDQ, Meta's 256-bit perceptual image hash, implemented from the published algorithm in numpy.

Pipeline: RGB -> luma -> Jarosz (two passes of a box filter sized to the image) -> decimate to
64x64 -> 16x16 DCT (coefficients 1..16, DC dropped) -> threshold at the median -> 256 bits.
Quality (0-100) is the summed 64x64 gradient; hashes below 50 are not used for matching.
The 8 dihedral hashes (rotations and mirrors) come from sign flips and transposes of one DCT block.
Bit k of the 256-bit big-endian integer is coefficient (k // 16, k % 16) > median.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import Enum

import numpy as np

from stopframe.signals.base import ContentType, IndexKind, SignalType, canonical_hex
from stopframe.signals.jarosz import OUTPUT_SIDE, jarosz_matrix, reduced_jarosz_matrix

PDQ_BITS = 256
PDQ_BYTES = PDQ_BITS // 8
PDQ_HEX_CHARS = PDQ_BITS // 4
_MEDIAN = PDQ_BITS // 2 - 1  # rank of the median DCT coefficient bits are thresholded at
_SCAN_CELLS = 1 << 18  # distances per block of a pair scan: 1 MiB of int32 stays in cache
_SIDE = OUTPUT_SIDE  # PDQ works on a 64 x 64 luma block (the Jarosz filter's output side)
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)
_DCT = (
    np.sqrt(2.0 / _SIDE)
    * np.cos(np.pi / 2 / _SIDE * np.outer(np.arange(1, 17), 2 * np.arange(_SIDE) + 1))
).astype(np.float64)  # 16 x 64
_SIGNS = np.where(np.arange(16) % 2 == 0, -1.0, 1.0)  # (-1)^(u+1) for frequency u+1


class Dihedral(Enum):
    """The 8 symmetries of a square, in the order Meta's tools list them."""

    ORIGINAL = 0
    ROTATE_90 = 1  # counter-clockwise
    ROTATE_180 = 2
    ROTATE_270 = 3
    FLIP_X = 4  # mirror about the horizontal (x) axis: top-bottom
    FLIP_Y = 5  # mirror about the vertical (y) axis: left-right
    FLIP_PLUS_1 = 6  # transpose across the main diagonal
    FLIP_MINUS_1 = 7  # transpose across the anti-diagonal


@dataclass(frozen=True, slots=True)
class PdqHash:
    """A PDQ hash as 32 big-endian bytes plus its quality score."""

    digest: bytes
    quality: int

    @property
    def hex(self) -> str:
        """The 64-character lowercase hex form used by every PDQ tool."""
        return self.digest.hex()

    def distance(self, other: PdqHash) -> int:
        """Hamming distance in bits."""
        return hamming_distance(self.digest, other.digest)


@dataclass(frozen=True, slots=True)
class PdqResult:
    """The DCT block behind a hash, kept so that dihedral variants cost no second pass."""

    dct: np.ndarray  # 16 x 16 float64
    quality: int

    @property
    def hash(self) -> PdqHash:
        return PdqHash(_threshold(self.dct), self.quality)

    def dihedral(self, variant: Dihedral) -> PdqHash:
        """The hash of the image transformed by `variant`, computed from this DCT block."""
        return PdqHash(_threshold(_dihedral_block(self.dct, variant)), self.quality)

    def all_dihedral(self) -> dict[Dihedral, PdqHash]:
        return {variant: self.dihedral(variant) for variant in Dihedral}


class PdqSignal(SignalType):
    """Meta's PDQ photo hash: 256 bits as 64 lowercase hex characters, with a quality score."""

    name = "pdq"
    contents = (ContentType.PHOTO,)
    description = "PDQ perceptual photo hash (256 bits, Hamming distance)"
    index_kind = IndexKind.HAMMING
    has_quality = True
    quality_floor = 50
    default_threshold = 31
    max_threshold = 128
    aliases = ("hash_pdq", "pdq_hash")

    def canonical(self, value: str) -> str:
        return canonical_hex(self.name, value, PDQ_HEX_CHARS)

    def distance(self, a: str, b: str) -> int:
        return hamming_distance(hex_to_digest(a), hex_to_digest(b))


PDQ = PdqSignal()


def hex_to_digest(text: str) -> bytes:
    """Parse 64 hex characters (any case, validated) into 32 bytes."""
    return bytes.fromhex(PDQ.canonical(text))


def hamming_distance(a: bytes, b: bytes) -> int:
    """Number of differing bits between two equal-length digests."""
    if len(a) != len(b):
        raise ValueError("digests differ in length")
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).bit_count()


def digest_matrix(digests: Sequence[bytes]) -> np.ndarray:
    """32-byte digests as an N x 32 uint8 array, the row layout `hamming_matrix` reads."""
    if not digests:
        return np.zeros((0, PDQ_BYTES), dtype=np.uint8)
    return np.frombuffer(b"".join(digests), dtype=np.uint8).reshape(len(digests), PDQ_BYTES)


def hamming_matrix(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """All pairwise Hamming distances between N x B and M x B digest arrays (uint8 with B a
    multiple of 8, or uint64 words), one 64-bit word at a time so memory stays at N x M."""
    a = np.ascontiguousarray(left).view(np.uint64)
    b = np.ascontiguousarray(right).view(np.uint64)
    out = np.zeros((a.shape[0], b.shape[0]), dtype=np.int32)
    for word in range(a.shape[1]):
        out += np.bitwise_count(a[:, word, None] ^ b[None, :, word])
    return out


def hamming_pairs_within(
    left: np.ndarray, right: np.ndarray, distance: int, cells: int = _SCAN_CELLS
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Every (left row, right row) pair within `distance` bits, as index arrays per block of
    left rows: `hamming_matrix` in pieces of about `cells` distances, so memory stays bounded."""
    if len(left) == 0 or len(right) == 0:
        return
    rows = max(1, cells // len(right))
    for start in range(0, len(left), rows):
        near, other = np.nonzero(hamming_matrix(left[start : start + rows], right) <= distance)
        yield near + start, other


def luma_from_rgb(rgb: np.ndarray) -> np.ndarray:
    """Rec.601 luma of an H x W x 3 array (any numeric dtype), as float32."""
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected an H x W x 3 array, got shape {rgb.shape}")
    return rgb.astype(np.float32, copy=False) @ _LUMA


def jarosz_64(luma: np.ndarray) -> np.ndarray:
    """Blur `luma` with two Jarosz passes per axis and sample it down to 64 x 64.

    Computed as `jarosz_matrix(rows) @ luma @ jarosz_matrix(cols).T`, which equals two
    `box_filter` passes per axis followed by sampling (to ~1e-11), at BLAS speed.
    """
    rows, cols = luma.shape
    block: np.ndarray = (
        jarosz_matrix(rows) @ luma.astype(np.float64, copy=False) @ jarosz_matrix(cols).T
    )
    return block


def block64_from_reduced_luma(luma: np.ndarray, full_shape: tuple[int, int]) -> np.ndarray:
    """Approximate `jarosz_64` of a full-size image of `full_shape` (rows, cols) from `luma`,
    the same image box-averaged down to a smaller grid (e.g. by JPEG DCT scaling)."""
    rows = reduced_jarosz_matrix(full_shape[0], luma.shape[0])
    cols = reduced_jarosz_matrix(full_shape[1], luma.shape[1])
    block: np.ndarray = rows @ luma.astype(np.float64, copy=False) @ cols.T
    return block


def quality_of(block64: np.ndarray) -> int:
    """0-100 score of how much gradient (structure) the 64 x 64 luma block has."""
    vertical = np.trunc((block64[:-1, :] - block64[1:, :]) * 100.0 / 255.0)
    horizontal = np.trunc((block64[:, :-1] - block64[:, 1:]) * 100.0 / 255.0)
    total = int(np.abs(vertical).sum() + np.abs(horizontal).sum())
    return min(100, total // 90)


def pdq_from_block64(block64: np.ndarray) -> PdqResult:
    """DCT and quality of an already downsampled 64 x 64 luma block."""
    block = np.asarray(block64, dtype=np.float64)
    if block.shape != (_SIDE, _SIDE):
        raise ValueError(f"expected a 64 x 64 block, got {block.shape}")
    return PdqResult(_DCT @ block @ _DCT.T, quality_of(block))


def pdq_from_luma(luma: np.ndarray) -> PdqResult:
    """PDQ of a 2-D luma array of any size (at least 1 x 1)."""
    if luma.ndim != 2 or luma.shape[0] < 1 or luma.shape[1] < 1:
        raise ValueError(f"expected a non-empty 2-D luma array, got shape {luma.shape}")
    return pdq_from_block64(jarosz_64(luma))


def pdq_from_rgb(rgb: np.ndarray) -> PdqResult:
    """PDQ of an H x W x 3 RGB array."""
    return pdq_from_luma(luma_from_rgb(rgb))


def _threshold(dct: np.ndarray) -> bytes:
    flat = dct.reshape(-1)
    median = np.partition(flat, _MEDIAN)[_MEDIAN]
    bits = (flat > median)[::-1]  # bit 255 first: big-endian
    return np.packbits(bits).tobytes()


def _dihedral_block(dct: np.ndarray, variant: Dihedral) -> np.ndarray:
    rows = _SIGNS[:, None]
    cols = _SIGNS[None, :]
    match variant:
        case Dihedral.ORIGINAL:
            return dct
        case Dihedral.ROTATE_90:
            return dct.T * rows
        case Dihedral.ROTATE_180:
            return dct * rows * cols
        case Dihedral.ROTATE_270:
            return dct.T * cols
        case Dihedral.FLIP_X:
            return dct * rows
        case Dihedral.FLIP_Y:
            return dct * cols
        case Dihedral.FLIP_PLUS_1:
            return dct.T
        case Dihedral.FLIP_MINUS_1:
            return dct.T * rows * cols
    raise ValueError(variant)
