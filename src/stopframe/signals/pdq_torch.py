"""Batched PDQ on a torch device (a CUDA GPU when present, else the CPU), for bulk hashing.

The same pipeline as `signals.pdq`, on batches of equal-sized images as tensor operations:
Rec.601 luma and the Jarosz filter with its 64 x 64 decimation as two batched matrix products (the
banded maps of `jarosz.jarosz_matrix`, with the luma weights folded into the row map so that
decoded RGB is read once), then the 16 x 16 DCT, the median threshold and the quality gradient.
The big products run in float32 (torch's default of no TF32 for them must stay: 10-bit mantissas
are too coarse); from the 64 x 64 block on it is float64 as on the CPU. JPEGs decode on the GPU
with nvJPEG when torchvision and CUDA are present (EXIF orientation applied here, as nvJPEG
ignores it); everything else decodes on the CPU through `media.images.decode_image`.

Optional (extra `gpu`): torch is imported on first use, so importing this module is cheap, and
nothing imports it unless asked for the torch path.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from PIL import Image

from stopframe.errors import MediaError
from stopframe.media.images import decode_image
from stopframe.media.limits import MediaLimits
from stopframe.media.sniff import sniff_bytes
from stopframe.signals.jarosz import OUTPUT_SIDE, jarosz_matrix
from stopframe.signals.pdq import _DCT, _LUMA, _MEDIAN, _SIGNS, Dihedral, PdqHash

# torch is optional and may be missing where this module is type-checked: tensors are typed Any
Tensor = Any

_BIT_WEIGHTS = [128, 64, 32, 16, 8, 4, 2, 1]  # packbits order: first bit is the high bit
_ORIENTATION = 0x0112  # EXIF tag
_PENDING = PdqHash(b"", 0)  # placeholder of a row whose hash is still being computed


def _torch() -> Any:
    import torch  # type: ignore[import-not-found, unused-ignore]

    return torch


def available() -> bool:
    """True when torch is importable and sees a CUDA device."""
    try:
        torch = _torch()
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def default_device() -> str:
    """`cuda` when a GPU is usable, else `cpu`."""
    return "cuda" if available() else "cpu"


def nvjpeg_available(device: str) -> bool:
    """True when JPEGs can be decoded on `device` with torchvision (nvJPEG on CUDA)."""
    if not str(device).startswith("cuda"):
        return False
    try:
        import torchvision.io  # type: ignore[import-not-found, import-untyped, unused-ignore]  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass(frozen=True)
class TorchPdqBatch:
    """A batch's 16 x 16 DCT blocks (B, 16, 16) float64 and qualities (B,) int64, on device."""

    dct: Tensor
    quality: Tensor

    def digests(self) -> list[bytes]:
        """The 32-byte PDQ digest of every image, in batch order."""
        return _digests(threshold_batch(self.dct))

    def hashes(self) -> list[PdqHash]:
        """PDQ hashes with their quality scores, in batch order."""
        quality = self.quality.cpu().tolist()
        return [PdqHash(d, int(q)) for d, q in zip(self.digests(), quality, strict=True)]

    def dihedral(self, variant: Dihedral) -> list[bytes]:
        """Digests of every image transformed by `variant`, from the same DCT blocks."""
        return _digests(threshold_batch(dihedral_batch(self.dct, variant)))


@lru_cache(maxsize=64)
def _jarosz_on(size: int, device: str) -> Tensor:
    """`jarosz_matrix(size)` as float32 on `device`, cached per axis length and device."""
    return _torch().as_tensor(jarosz_matrix(size), dtype=_torch().float32, device=device)


@lru_cache(maxsize=8)
def _constants_on(device: str) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Luma weights, DCT matrix, dihedral signs and bit weights on `device`."""
    torch = _torch()
    return (
        torch.as_tensor(_LUMA, device=device),
        torch.as_tensor(_DCT, device=device),
        torch.as_tensor(_SIGNS, device=device),
        torch.as_tensor(_BIT_WEIGHTS, dtype=torch.int32, device=device),
    )


def _device_of(tensor: Tensor) -> str:
    return str(tensor.device)


def _row_matrix(pixels: Tensor) -> Tensor:
    """The Jarosz row map for a (B, H, W) luma batch, or for a (B, 3, H, W) RGB batch read as
    (B, 3H, W): the luma weights folded in, so luma and row filter are one matrix product."""
    device = _device_of(pixels)
    rows = _jarosz_on(int(pixels.shape[-2]), device)
    if pixels.ndim == 3:
        return rows
    weights = _constants_on(device)[0]
    return _torch().cat([weights[c] * rows for c in range(3)], dim=1)


def block64_batch(pixels: Tensor) -> Tensor:
    """Luma, Jarosz filter and 64 x 64 decimation of a (B, H, W) luma or (B, 3, H, W) RGB batch
    (uint8 or float): (B, 64, 64) float64."""
    rgb = pixels.ndim == 4 and pixels.shape[1] == 3
    if not (pixels.ndim == 3 or rgb) or pixels.shape[-2] < 1 or pixels.shape[-1] < 1:
        raise ValueError(
            f"expected a non-empty B x H x W or B x 3 x H x W batch, got {tuple(pixels.shape)}"
        )
    torch = _torch()
    rows = _row_matrix(pixels)
    cols = _jarosz_on(int(pixels.shape[-1]), _device_of(pixels))
    flat = pixels.reshape(pixels.shape[0], -1, pixels.shape[-1]).float()
    block = torch.matmul(torch.matmul(rows, flat), cols.T)
    return block.double()


def quality_batch(block64: Tensor) -> Tensor:
    """0-100 gradient score of each (64, 64) block, as `pdq.quality_of` computes it."""
    vertical = _torch().trunc((block64[:, :-1, :] - block64[:, 1:, :]) * 100.0 / 255.0)
    horizontal = _torch().trunc((block64[:, :, :-1] - block64[:, :, 1:]) * 100.0 / 255.0)
    total = vertical.abs().sum(dim=(1, 2)) + horizontal.abs().sum(dim=(1, 2))
    return (total.long() // 90).clamp(max=100)


def pdq_blocks(block64: Tensor) -> TorchPdqBatch:
    """DCT and quality of a (B, 64, 64) float64 block batch."""
    if block64.ndim != 3 or tuple(block64.shape[1:]) != (OUTPUT_SIDE, OUTPUT_SIDE):
        raise ValueError(f"expected B x 64 x 64 blocks, got shape {tuple(block64.shape)}")
    block = block64.double()
    dct = _constants_on(_device_of(block))[1]
    return TorchPdqBatch(dct @ block @ dct.T, quality_batch(block))


def pdq_batch(pixels: Tensor) -> TorchPdqBatch:
    """PDQ of a batch of equal-sized images: (B, H, W) luma or (B, 3, H, W) RGB as decoders give
    it (uint8)."""
    return pdq_blocks(block64_batch(pixels))


def threshold_batch(dct: Tensor) -> Tensor:
    """(B, 32) uint8 digests: each coefficient above its block's median sets a bit, big-endian."""
    flat = dct.reshape(dct.shape[0], -1)
    median = flat.kthvalue(_MEDIAN + 1, dim=1, keepdim=True).values
    bits = (flat > median).flip(1).reshape(-1, 32, 8).int()  # bit 255 first
    weights = _constants_on(_device_of(dct))[3]
    return (bits * weights).sum(dim=2).to(_torch().uint8)


def dihedral_batch(dct: Tensor, variant: Dihedral) -> Tensor:
    """DCT blocks of the images transformed by `variant` (see `pdq._dihedral_block`)."""
    signs = _constants_on(_device_of(dct))[2]
    rows, cols = signs[:, None], signs[None, :]
    flipped = dct.transpose(1, 2)
    match variant:
        case Dihedral.ORIGINAL:
            return dct
        case Dihedral.ROTATE_90:
            return flipped * rows
        case Dihedral.ROTATE_180:
            return dct * rows * cols
        case Dihedral.ROTATE_270:
            return flipped * cols
        case Dihedral.FLIP_X:
            return dct * rows
        case Dihedral.FLIP_Y:
            return dct * cols
        case Dihedral.FLIP_PLUS_1:
            return flipped
        case Dihedral.FLIP_MINUS_1:
            return flipped * rows * cols
    raise ValueError(variant)


def _digests(packed: Tensor) -> list[bytes]:
    array = packed.cpu().numpy()
    return [row.tobytes() for row in array]


def decode_cpu(data: bytes, name: str, limits: MediaLimits | None = None) -> Tensor:
    """One image decoded on the CPU as `decode_image` does (EXIF, modes, limits): (3, H, W)."""
    pixels = np.asarray(decode_image(data, name, limits).image)
    return _torch().from_numpy(np.ascontiguousarray(pixels.transpose(2, 0, 1)))


def decode_batch(
    items: Sequence[tuple[bytes, str]], device: str, limits: MediaLimits | None = None
) -> list[Tensor | MediaError]:
    """Decode (data, name) pairs to (3, H, W) uint8 tensors on `device`, or the error of each.

    RGB and grey JPEGs go through nvJPEG in one batched call when `nvjpeg_available(device)`,
    after their headers pass the size limits, and are turned upright by their EXIF orientation;
    other formats, and any JPEG nvJPEG refuses, decode on the CPU.
    """
    limits = limits or MediaLimits.from_env()
    plan = _nvjpeg_plan(items, device, limits)
    on_gpu = _nvjpeg_decode(items, plan, device) if plan else {}
    out: list[Tensor | MediaError] = []
    for row, (data, name) in enumerate(items):
        pixels = on_gpu.get(row)
        out.append(pixels if pixels is not None else _decode_on(data, name, limits, device))
    return out


def _decode_on(data: bytes, name: str, limits: MediaLimits, device: str) -> Tensor | MediaError:
    """CPU decode moved to `device`, or the error that makes the file unusable."""
    try:
        return decode_cpu(data, name, limits).to(device)
    except MediaError as exc:
        return exc


def _nvjpeg_plan(
    items: Sequence[tuple[bytes, str]], device: str, limits: MediaLimits
) -> dict[int, int]:
    """EXIF orientation of each row nvJPEG may decode: JPEGs in RGB or grey within the limits,
    when nvJPEG is usable on `device`. CMYK and anything unusual go to the CPU."""
    if not nvjpeg_available(device):
        return {}
    plan = {}
    for row, (data, _name) in enumerate(items):
        sniffed = sniff_bytes(data[:512])
        if sniffed is not None and sniffed.format == "jpeg":
            orientation = jpeg_orientation(data, limits)
            if orientation is not None:
                plan[row] = orientation
    return plan


def jpeg_orientation(data: bytes, limits: MediaLimits) -> int | None:
    """The EXIF orientation (1-8) of a JPEG whose header passes the limits and whose pixels are
    RGB or grey; None when the file should be decoded on the CPU instead."""
    if len(data) > limits.max_file_bytes:
        return None
    try:
        with Image.open(io.BytesIO(data), formats=["JPEG"]) as image:
            width, height = image.size
            orientation = int(image.getexif().get(_ORIENTATION, 1))
            mode = image.mode
    except Exception:
        return None
    if mode not in ("RGB", "L") or not 0 < max(width, height) <= limits.max_side:
        return None
    if width * height > limits.max_pixels:
        return None
    return orientation if 1 <= orientation <= 8 else 1


def orient(image: Tensor, orientation: int) -> Tensor:
    """A (C, H, W) image turned upright by its EXIF orientation, as `ImageOps.exif_transpose`
    does (nvJPEG ignores the tag)."""
    torch = _torch()
    match orientation:
        case 2:
            return image.flip(-1)
        case 3:
            return image.flip(-1).flip(-2)
        case 4:
            return image.flip(-2)
        case 5:
            return image.transpose(-1, -2)
        case 6:
            return torch.rot90(image, -1, dims=(-2, -1))
        case 7:
            return image.transpose(-1, -2).flip(-1).flip(-2)
        case 8:
            return torch.rot90(image, 1, dims=(-2, -1))
    return image


def _nvjpeg_decode(
    items: Sequence[tuple[bytes, str]], plan: dict[int, int], device: str
) -> dict[int, Tensor]:
    """nvJPEG decodes of the planned rows as upright RGB, in one batch; a row nvJPEG refuses is
    left out (it goes to the CPU)."""
    import torchvision.io as tvio  # type: ignore[import-not-found, import-untyped, unused-ignore]

    torch = _torch()
    rows = list(plan)
    encoded = [torch.frombuffer(bytearray(items[row][0]), dtype=torch.uint8) for row in rows]
    try:
        batch = tvio.decode_jpeg(encoded, tvio.ImageReadMode.RGB, device)
        decoded = dict(zip(rows, batch, strict=True))
    except RuntimeError:
        decoded = {}
        for row, tensor in zip(rows, encoded, strict=True):
            try:
                decoded[row] = tvio.decode_jpeg(tensor, tvio.ImageReadMode.RGB, device)
            except RuntimeError:
                continue
    return {row: orient(pixels, plan[row]) for row, pixels in decoded.items()}


def pdq_images(images: Sequence[Tensor]) -> list[PdqHash]:
    """PDQ of (3, H, W) uint8 images on one device, batched by size, in input order."""
    torch = _torch()
    hashes: list[PdqHash | None] = [None] * len(images)
    by_shape: dict[tuple[int, ...], list[int]] = {}
    for row, image in enumerate(images):
        by_shape.setdefault(tuple(image.shape), []).append(row)
    for rows in by_shape.values():
        batch = pdq_batch(torch.stack([images[row] for row in rows]))
        for row, pdq in zip(rows, batch.hashes(), strict=True):
            hashes[row] = pdq
    return [pdq for pdq in hashes if pdq is not None]


def pdq_of_bytes_batch(
    items: Sequence[tuple[bytes, str]],
    device: str | None = None,
    limits: MediaLimits | None = None,
) -> list[PdqHash | MediaError]:
    """Decode and hash (data, name) pairs on `device` (default: CUDA if present), in order;
    an unusable file gives its `MediaError` in its place instead of failing the batch."""
    device = device or default_device()
    decoded = decode_batch(items, device, limits)
    good = [row for row, item in enumerate(decoded) if not isinstance(item, MediaError)]
    out: list[PdqHash | MediaError] = [
        item if isinstance(item, MediaError) else _PENDING for item in decoded
    ]
    for row, pdq in zip(good, pdq_images([decoded[row] for row in good]), strict=True):
        out[row] = pdq
    return out
