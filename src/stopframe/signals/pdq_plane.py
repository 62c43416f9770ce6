"""PDQ of a large luma plane (a decoded video frame) at a fraction of the cost of `pdq_from_luma`.

PDQ's Jarosz step (two box-filter passes per axis, then sampling 64 rows and 64 columns) is linear
and separable, so its 64 x 64 result is `R @ plane @ C.T` for two small banded matrices that depend
only on the frame size (`jarosz.plane_bands`, the band weights every PDQ path uses). Each output
row of `R` reads a band of about `rows / 64` input rows, so the whole frame is read once instead of
filtered four times. The result equals `pdq.jarosz_64` up to
float rounding; the frame needs no conversion to RGB or to a full-size float image.
"""

from __future__ import annotations

import numpy as np

from stopframe.signals.jarosz import plane_bands
from stopframe.signals.pdq import PdqResult, pdq_from_block64


def block64_from_plane(plane: np.ndarray) -> np.ndarray:
    """The 64 x 64 Jarosz result of a 2-D plane (uint8 or float), as float64."""
    if plane.ndim != 2 or plane.shape[0] < 1 or plane.shape[1] < 1:
        raise ValueError(f"expected a non-empty 2-D plane, got shape {plane.shape}")
    rows, cols = plane.shape
    row_start, row_weights = plane_bands(rows)
    col_start, col_weights = plane_bands(cols)
    band = row_weights.shape[1]
    gather = row_start[:, None] + np.arange(band)[None, :]  # 64 x band row numbers
    bands = plane[gather].astype(np.float32)  # 64 x band x cols
    reduced = np.matmul(row_weights[:, None, :], bands)[:, 0, :]  # 64 x cols
    col_band = col_weights.shape[1]
    col_gather = col_start[:, None] + np.arange(col_band)[None, :]  # 64 x band column numbers
    picked = reduced[:, col_gather].transpose(1, 0, 2)  # 64 (out col) x 64 (row) x band
    block: np.ndarray = np.matmul(picked, col_weights[:, :, None])[:, :, 0].T
    return block.astype(np.float64)


def pdq_from_plane(plane: np.ndarray, scale: float = 1.0, offset: float = 0.0) -> PdqResult:
    """PDQ of a luma plane whose values map to 0-255 luma as `value * scale + offset`.

    The affine map (e.g. limited-range video Y to full range) does not change the hash bits, only
    the quality score, so it is applied to the 64 x 64 block rather than to the frame.
    """
    block = block64_from_plane(plane)
    if scale != 1.0 or offset != 0.0:
        block = block * scale + offset
    return pdq_from_block64(block)
