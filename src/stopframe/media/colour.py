"""Convert a decoded image of any Pillow mode to 8-bit RGB (or luma), the same way everywhere.

Victim side and platform side must normalise identically or the hashes drift apart, so every
mode has one defined path here:
- alpha (RGBA, LA, PA, palette with a transparent colour, premultiplied modes) is dropped and the
  stored colour kept, as Meta's C++ and Python hashers and pdqhash do: a list hashed by a partner's
  tool must match ours, and compositing onto any background moves such hashes by dozens of bits;
- CMYK (including Adobe-inverted JPEG CMYK, which Pillow's JPEG reader un-inverts) via Pillow;
- 16-bit greys (I;16, I;16B, I;16L, I;16N) scaled from 0-65535 to 0-255;
- 32-bit integer (I) and float (F) scaled by their value range (see `_scale_to_8bit`);
- HSV, YCbCr through Pillow, LAB through a CIE Lab -> sRGB transform.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
from PIL import Image, ImageCms

_DIRECT = {"RGB", "L"}
_SIXTEEN_BIT = {"I;16", "I;16B", "I;16L", "I;16N"}
_lab_to_srgb: ImageCms.ImageCmsTransform | None = None


BAND_ROWS = 64  # rows converted at a time: a wide-sample image never gets a full array copy


def _bands(image: Image.Image) -> Iterator[tuple[int, np.ndarray]]:
    """(first row, the samples of `BAND_ROWS` rows) down the image, each band its own array."""
    width, height = image.size
    for top in range(0, height, BAND_ROWS):
        yield top, np.asarray(image.crop((0, top, width, min(top + BAND_ROWS, height))))


def _clean(band: np.ndarray) -> np.ndarray:
    return np.nan_to_num(band.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)


def _by_bands(image: Image.Image, convert: Callable[[np.ndarray], np.ndarray]) -> Image.Image:
    """A grey image of `convert` applied to bands of rows, so the work on a huge 16- or 32-bit
    image needs a band's memory, not the image's several times over."""
    out = np.empty((image.height, image.width), dtype=np.uint8)
    for top, band in _bands(image):
        out[top : top + BAND_ROWS] = convert(band)
    return Image.fromarray(out, "L")


def _scale_to_8bit(image: Image.Image) -> Image.Image:
    """Map I/F data to 0-255: [0,1] floats and 0-255 data keep their scale, 16-bit-range data is
    divided by 257, anything wider is stretched from its minimum to its maximum."""
    low, high, nonzero, floats = 0.0, 0.0, False, image.mode == "F"
    for top, samples in _bands(image):
        band = _clean(samples)
        if band.size:
            low = min(low, float(band.min())) if top else float(band.min())
            high = max(high, float(band.max())) if top else float(band.max())
            nonzero = nonzero or bool(band.any())
    offset, factor, divisor = 0.0, 1.0, 1.0  # (values - offset) * factor / divisor
    if low >= 0.0 and high <= 1.0 and floats and nonzero:
        factor = 255.0
    elif low >= 0.0 and high <= 255.0:
        pass
    elif low >= 0.0 and high <= 65535.0:
        divisor = 257.0
    elif high > low:
        offset, factor = low, 255.0 / (high - low)
    else:
        return Image.new("L", image.size, 0)
    return _by_bands(image, lambda band: _to_uint8((_clean(band) - offset) * factor / divisor))


def _to_uint8(scaled: np.ndarray) -> np.ndarray:
    clipped: np.ndarray = np.clip(np.rint(scaled), 0, 255)
    return clipped.astype(np.uint8)


def _lab_to_rgb(image: Image.Image) -> Image.Image:
    global _lab_to_srgb
    if _lab_to_srgb is None:
        _lab_to_srgb = ImageCms.buildTransform(
            ImageCms.createProfile("LAB"), ImageCms.createProfile("sRGB"), "LAB", "RGB"
        )
    converted = ImageCms.applyTransform(image, _lab_to_srgb)
    assert converted is not None  # None comes back only for inPlace=True
    return converted


def to_rgb_or_luma(image: Image.Image, allow_luma: bool = False) -> Image.Image:
    """Return an 8-bit image in mode RGB, or in mode L (a grey image, whose luma it is) when
    `allow_luma` is set and the source has no colour; every other mode is converted."""
    mode = image.mode
    if mode in ("LA", "La"):
        out = image.convert("LA").getchannel("L")
    elif mode in ("RGBA", "RGBa", "PA"):
        out = image.convert("RGBA").convert("RGB")
    elif mode in _DIRECT:
        out = image
    elif mode == "1":
        out = image.convert("L")
    elif mode == "LAB":
        out = _lab_to_rgb(image)
    elif mode in _SIXTEEN_BIT:
        out = _by_bands(image, lambda band: _to_uint8(band / 257.0))
    elif mode in ("I", "F"):
        out = _scale_to_8bit(image)
    else:  # CMYK, YCbCr, HSV, RGBX, P without transparency and anything Pillow can convert
        out = image.convert("RGB")
    if out.mode == "L" and not allow_luma:
        out = out.convert("RGB")
    return out
