"""Every transform of the suite is deterministic given its seed and yields a sane RGB picture."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from stopframe.bench.runner import transform_rng
from stopframe.bench.transforms import build_suite, select

SUITE = build_suite()


def _picture() -> Image.Image:
    y, x = np.mgrid[0:120, 0:160]
    rgb = np.stack([(x * 1.5) % 256, (y * 2) % 256, ((x + y) * 3) % 256], axis=2)
    rgb[30:70, 40:90] = (250, 20, 20)
    return Image.fromarray(rgb.astype(np.uint8))


@pytest.mark.parametrize("transform", SUITE, ids=[t.name for t in SUITE])
def test_transform_is_deterministic(transform) -> None:
    picture = _picture()
    first = transform(picture, transform_rng(7, transform.name, 3))
    second = transform(picture, transform_rng(7, transform.name, 3))
    assert first.mode == "RGB" and min(first.size) >= 8
    assert np.array_equal(np.asarray(first), np.asarray(second))


def test_suite_names_are_unique_and_cover_the_families() -> None:
    names = [t.name for t in SUITE]
    assert len(names) == len(set(names))
    families = {t.family for t in SUITE}
    assert {
        "jpeg",
        "resize",
        "blur",
        "noise",
        "colour",
        "overlay",
        "border",
        "crop",
        "pad",
        "rotate_small",
        "dihedral",
        "aspect",
        "screenshot",
        "combination",
    } <= families


def test_seed_changes_random_transforms() -> None:
    noise = select(SUITE, ["noise_s10"])[0]
    a = noise(_picture(), transform_rng(1, noise.name, 0))
    b = noise(_picture(), transform_rng(2, noise.name, 0))
    assert not np.array_equal(np.asarray(a), np.asarray(b))


def test_select_rejects_unknown_names() -> None:
    with pytest.raises(ValueError, match="no_such"):
        select(SUITE, ["no_such"])


def test_crop_and_pad_geometry() -> None:
    picture = _picture()
    crop = select(SUITE, ["crop_centre_10"])[0](picture, transform_rng(0, "x", 0))
    assert crop.size == (144, 108)
    letterbox = select(SUITE, ["letterbox_black_20"])[0](picture, transform_rng(0, "x", 0))
    assert letterbox.size == (160, 144)
    assert np.asarray(letterbox)[:12].max() == 0
