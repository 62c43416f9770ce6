"""The one place the benchmark decodes an image file into RGB pixels (swap for stopframe.media)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageOps


def load_rgb(path: Path, max_side: int) -> Image.Image:
    """Decode `path`, apply EXIF orientation, convert to RGB and shrink so the long side <= max_side."""
    with Image.open(path) as image:
        image.draft("RGB", (max_side * 2, max_side * 2))  # fast JPEG downscale while decoding
        rgb = ImageOps.exif_transpose(image).convert("RGB")
    rgb.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return rgb


def as_array(image: Image.Image) -> np.ndarray:
    """H x W x 3 uint8 array of an RGB image."""
    return np.asarray(image.convert("RGB"), dtype=np.uint8)
