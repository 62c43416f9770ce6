"""Box-filter downscaling before hashing: hashes only see 64 x 64, so large pixels are shrunk first.

Two needs, two names. `clamp_sides` caps each side on its own, so the aspect ratio may change:
right before a step that ends on a square grid anyway (PDQ's carried-over Jarosz filter).
`fit_long_side` scales both sides by one factor until the long side fits, keeping the aspect
ratio: for crops and rotations, whose geometry must stay that of the picture.
"""

from __future__ import annotations

import numpy as np
from PIL import Image


def clamp_sides(image: Image.Image, side: int) -> Image.Image:
    """`image` box-filtered so that each side is at most `side` pixels (each side on its own)."""
    width, height = image.size
    target = (min(width, side), min(height, side))
    if target == image.size:
        return image
    return image.resize(target, Image.Resampling.BOX)


def fit_long_side(rgb: np.ndarray, side: int) -> np.ndarray:
    """An H x W x 3 uint8 array box-filtered so its long side is at most `side`, aspect kept."""
    height, width = rgb.shape[:2]
    if max(height, width) <= side:
        return rgb
    scale = side / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    image = Image.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8))
    return np.asarray(image.resize(size, Image.Resampling.BOX))
