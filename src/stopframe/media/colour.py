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

import numpy as np
from PIL import Image, ImageCms

_DIRECT = {"RGB", "L"}
_SIXTEEN_BIT = {"I;16", "I;16B", "I;16L", "I;16N"}
_lab_to_srgb: ImageCms.ImageCmsTransform | None = None


def _scale_to_8bit(values: np.ndarray) -> np.ndarray:
    """Map I/F data to 0-255: [0,1] floats and 0-255 data keep their scale, 16-bit-range data is
    divided by 257, anything wider is stretched from its minimum to its maximum."""
    values = np.nan_to_num(values.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
    if low >= 0.0 and high <= 1.0 and values.dtype.kind == "f" and not np.all(values == 0):
        scaled = values * 255.0
    elif low >= 0.0 and high <= 255.0:
        scaled = values
    elif low >= 0.0 and high <= 65535.0:
        scaled = values / 257.0
    elif high > low:
        scaled = (values - low) * (255.0 / (high - low))
    else:
        scaled = np.zeros_like(values)
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)


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
        grey = np.asarray(image).astype(np.float64) / 257.0
        out = Image.fromarray(np.clip(np.rint(grey), 0, 255).astype(np.uint8), "L")
    elif mode in ("I", "F"):
        out = Image.fromarray(_scale_to_8bit(np.asarray(image)), "L")
    else:  # CMYK, YCbCr, HSV, RGBX, P without transparency and anything Pillow can convert
        out = image.convert("RGB")
    if out.mode == "L" and not allow_luma:
        out = out.convert("RGB")
    return out
