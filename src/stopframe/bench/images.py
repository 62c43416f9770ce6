"""The one place the benchmark and the robust-hash commands turn a file into RGB pixels: through
`stopframe.media`, so they decode exactly as every other hasher does (content sniffing, size and
decompression-bomb limits, EXIF orientation, colour modes), then shrink for speed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from stopframe.media.images import decode_image


def load_rgb(path: Path, max_side: int) -> Image.Image:
    """Decode `path` with stopframe.media and shrink it so the long side is at most `max_side`.

    Raises `stopframe.errors.MediaError` (naming the file) for anything it cannot decode.
    """
    decoded = decode_image(Path(path).read_bytes(), str(path), draft_min_side=max_side * 2)
    rgb = decoded.image.convert("RGB")
    rgb.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return rgb


def as_array(image: Image.Image) -> np.ndarray:
    """H x W x 3 uint8 array of an RGB image."""
    return np.asarray(image.convert("RGB"), dtype=np.uint8)
