"""The banded Jarosz operator gives the same 64 x 64 block and hash as the reference PDQ path."""

from __future__ import annotations

import numpy as np
import pytest

from stopframe.signals.pdq import jarosz_64, pdq_from_luma
from stopframe.signals.pdq_plane import block64_from_plane, pdq_from_plane


@pytest.mark.parametrize(
    "shape", [(1, 1), (3, 7), (64, 64), (65, 100), (480, 720), (1080, 1920), (17, 999)]
)
def test_block_equals_reference_jarosz(shape: tuple[int, int]) -> None:
    plane = np.random.default_rng(sum(shape)).integers(0, 256, shape, dtype=np.uint8)
    expected = jarosz_64(plane.astype(np.float64))
    np.testing.assert_allclose(block64_from_plane(plane), expected, atol=1e-3)


def test_hash_equals_reference_on_structured_frame() -> None:
    y, x = np.mgrid[0:360, 0:640]
    plane = (127 + 100 * np.sin(x / 23.0) * np.cos(y / 17.0)).astype(np.uint8)
    reference = pdq_from_luma(plane.astype(np.float32)).hash
    ours = pdq_from_plane(plane).hash
    assert ours.distance(reference) <= 2
    assert ours.quality == reference.quality


def test_affine_map_changes_quality_not_bits() -> None:
    plane = np.random.default_rng(3).integers(16, 236, (120, 160), dtype=np.uint8)
    plain = pdq_from_plane(plane).hash
    mapped = pdq_from_plane(plane, scale=255 / 219, offset=-16 * 255 / 219).hash
    assert mapped.digest == plain.digest
    assert mapped.quality >= plain.quality


def test_rejects_non_2d() -> None:
    with pytest.raises(ValueError):
        block64_from_plane(np.zeros((4, 4, 3), dtype=np.uint8))
