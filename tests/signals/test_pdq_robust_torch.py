"""Robust registration sets on a torch device (`signals.pdq_robust_torch`, the CPU device here)
against `pdq_robust.register_hashes`: the same variants and qualities, and the same hashes but
for DCT coefficients tied at the median, for the sample images and generated benign pictures
(gradients, shapes, noise, letterboxes)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from stopframe.samples import sample_images
from stopframe.signals.pdq_robust import (
    REGISTER_CROPS,
    REGISTER_ROTATIONS,
    WorkViews,
    _rotate,
    prepare,
    register_hashes,
)

pytest.importorskip("torch", reason="the torch path needs torch (extra 'gpu')")
robust_torch = pytest.importorskip("stopframe.signals.pdq_robust_torch")

MAX_TIE_BITS = 2  # two coefficients tied at the median to the last bits may trade places
SIZES = [(240, 320), (300, 200), (97, 131), (64, 64), (120, 500), (1000, 700), (33, 260)]


def _picture(seed: int, height: int, width: int) -> np.ndarray:
    """Gradients, a few rectangles and discs, and some noise: benign and full of structure."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    rgb = np.stack([x * 255 / width, y * 255 / height, (x + y) * 127 / (width + height)], -1)
    for _ in range(3):
        top, left = rng.integers(0, height), rng.integers(0, width)
        rgb[top : top + height // 4, left : left + width // 5] = rng.uniform(0, 255, 3)
        cx, cy, r = rng.uniform(0, width), rng.uniform(0, height), rng.uniform(0.05, 0.2) * width
        rgb[(x - cx) ** 2 + (y - cy) ** 2 < r * r] = rng.uniform(0, 255, 3)
    rgb += rng.normal(0, 4 + 8 * (seed % 2), rgb.shape)
    return np.clip(rgb, 0, 255).astype(np.uint8)


def _letterboxed(rgb: np.ndarray, bars: int, sideways: bool) -> np.ndarray:
    """`rgb` with black bars of `bars` pixels above and below (or left and right)."""
    pad = ((0, 0), (bars, bars), (0, 0)) if sideways else ((bars, bars), (0, 0), (0, 0))
    return np.pad(rgb, pad)


def _pictures() -> list[np.ndarray]:
    samples = [np.asarray(Image.open(path).convert("RGB")) for path in sample_images()]
    plain = [_picture(seed, *size) for seed, size in enumerate(SIZES)]
    boxed = [_letterboxed(rgb, 10 + 7 * n, n % 2 == 1) for n, rgb in enumerate(plain)]
    flat = np.full((90, 120, 3), 128, np.uint8)  # featureless: no set at all
    noise = np.random.default_rng(99).integers(0, 256, (150, 150, 3), dtype=np.uint8)
    ramp = np.repeat(np.linspace(0, 255, 200, dtype=np.uint8)[None, :, None], 80, 0)
    return [*samples, *plain, *boxed, flat, noise, np.repeat(ramp, 3, 2)]


@pytest.fixture(scope="module")
def pictures() -> list[WorkViews]:
    return [WorkViews.of(rgb) for rgb in _pictures()]


def test_sets_equal_the_cpu_path(pictures: list[WorkViews]) -> None:
    """Every variant family (full, untrimmed, crops, rotations): the same usable variants in the
    same order, equal qualities, hashes within `MAX_TIE_BITS` and nearly all equal."""
    assert len(pictures) >= 20
    batch = robust_torch.register_hashes_batch(pictures, "cpu")
    distances = []
    for number, (views, have) in enumerate(zip(pictures, batch, strict=True)):
        want = register_hashes(views)
        assert [h.variant for h in have] == [h.variant for h in want], number
        assert [h.hash.quality for h in have] == [h.hash.quality for h in want], number
        distances += [a.hash.distance(b.hash) for a, b in zip(have, want, strict=True)]
    assert max(distances) <= MAX_TIE_BITS
    assert sum(1 for d in distances if d) <= len(distances) // 100
    assert any(not hashes for hashes in batch)  # the flat picture
    assert any(h.variant == "untrimmed" for hashes in batch for h in hashes)
    assert any(h.variant == "rotate+9" for hashes in batch for h in hashes)


def test_squares_equal_pillow(pictures: list[WorkViews]) -> None:
    """The 128 x 128 squares before the blur, crops and rotations included, are the CPU path's
    bit for bit: Pillow's box resample (its order of passes) and bilinear rotation."""
    for views in pictures[:6]:
        base, _ = prepare(views)
        names, squares = robust_torch._variant_squares(views, "cpu")
        lumas = {crop.name: crop.apply(base) for crop in REGISTER_CROPS}
        lumas |= {f"rotate{angle:+g}": _rotate(base, angle) for angle in REGISTER_ROTATIONS}
        for name, luma in lumas.items():
            image = Image.fromarray(np.ascontiguousarray(luma), "F")
            want = np.asarray(image.resize((128, 128), Image.Resampling.BOX))
            have = squares[names.index(name)].float().numpy()
            assert np.array_equal(have, want), name


def test_raw_pixels_and_batches_of_one() -> None:
    """H x W x 3 arrays are taken as `register_hashes` takes them; batching changes nothing."""
    rgb = _pictures()[0]
    (from_rgb,) = robust_torch.register_hashes_batch([rgb], "cpu")
    assert [(h.variant, h.hash.quality) for h in from_rgb] == [
        (h.variant, h.hash.quality) for h in register_hashes(rgb)
    ]
    assert robust_torch.register_hashes_batch([], "cpu") == []
