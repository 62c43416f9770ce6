"""The two downscaling helpers: each side capped on its own, or the long side fitted."""

from __future__ import annotations

import numpy as np
from PIL import Image

from stopframe.media.resize import clamp_sides, fit_long_side


def test_clamp_sides_caps_each_side_on_its_own() -> None:
    image = Image.new("L", (1000, 300))
    assert clamp_sides(image, 512).size == (512, 300)
    small = Image.new("L", (200, 100))
    assert clamp_sides(small, 512) is small


def test_fit_long_side_keeps_the_aspect_ratio() -> None:
    rgb = np.zeros((300, 1000, 3), dtype=np.uint8)
    assert fit_long_side(rgb, 250).shape == (75, 250, 3)
    small = np.zeros((100, 200, 3), dtype=np.uint8)
    assert fit_long_side(small, 256) is small
    assert fit_long_side(np.zeros((1, 5000, 3), dtype=np.uint8), 256).shape == (1, 256, 3)
