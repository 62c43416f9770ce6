"""PDQ of an image file, by one of two decode paths.

- `reference`: decode every pixel, convert to RGB, run the full-resolution Jarosz filter; this is
  what Meta's pdqhash computes on the same pixels (bit-exact).
- `fast` (default): let the JPEG decoder downscale in the DCT domain and decode luma only, shrink
  with Pillow's C box filter to at most `FAST_WORK_SIDE` per side (`media.resize.clamp_sides`),
  then apply the full-size Jarosz filter carried onto that reduced grid
  (`block64_from_reduced_luma`), so the filter support and sample positions stay those of the
  reference. Stays within 10 bits of `reference` for benign photos (measured in
  benchmarks/hash_images.py, figures in docs/benchmarks.md).
"""

from __future__ import annotations

from enum import StrEnum

import numpy as np
from PIL import Image

from stopframe.media.images import DecodedImage, decode_image
from stopframe.media.limits import MediaLimits
from stopframe.media.resize import clamp_sides
from stopframe.signals.pdq import (
    PdqResult,
    block64_from_reduced_luma,
    luma_from_rgb,
    pdq_from_block64,
    pdq_from_luma,
)

FAST_DRAFT_MIN_SIDE = 256  # JPEG DCT scaling never leaves a side below this
FAST_WORK_SIDE = 512  # box-filtered working size per side before the carried-over Jarosz filter


class DecodePath(StrEnum):
    """How much of the image is decoded before PDQ."""

    FAST = "fast"
    REFERENCE = "reference"


def decode_for_pdq(
    data: bytes, name: str, path: DecodePath = DecodePath.FAST, limits: MediaLimits | None = None
) -> DecodedImage:
    """Decode image bytes the way the chosen PDQ path needs them."""
    if DecodePath(path) is DecodePath.REFERENCE:
        return decode_image(data, name, limits)
    return decode_image(data, name, limits, draft_min_side=FAST_DRAFT_MIN_SIDE, luma_only=True)


def luma_of(image: Image.Image) -> np.ndarray:
    """Float32 luma of an RGB or L image."""
    pixels = np.asarray(image)
    if image.mode == "L":
        return pixels.astype(np.float32)
    return luma_from_rgb(pixels)


def pdq_of_decoded(decoded: DecodedImage, path: DecodePath = DecodePath.FAST) -> PdqResult:
    """PDQ of pixels from `decode_for_pdq` with the same `path`."""
    if DecodePath(path) is DecodePath.REFERENCE:
        return pdq_from_luma(luma_of(decoded.image))
    luma = luma_of(clamp_sides(decoded.image, FAST_WORK_SIDE))
    return pdq_from_block64(block64_from_reduced_luma(luma, (decoded.height, decoded.width)))


def pdq_of_bytes(
    data: bytes, name: str, path: DecodePath = DecodePath.FAST, limits: MediaLimits | None = None
) -> tuple[DecodedImage, PdqResult]:
    """Decode and hash image bytes; raises a `MediaError` subclass for unusable input."""
    decoded = decode_for_pdq(data, name, path, limits)
    return decoded, pdq_of_decoded(decoded, path)
