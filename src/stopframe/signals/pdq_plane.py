"""PDQ of a large luma plane (a decoded video frame) at a fraction of the cost of `pdq_from_luma`.

PDQ's Jarosz step (two box-filter passes per axis, then sampling 64 rows and 64 columns) is linear
and separable, so its 64 x 64 result is `R @ plane @ C.T` for two small banded matrices that depend
only on the frame size. Each output row of `R` reads a band of about `rows / 64` input rows, so the
whole frame is read once instead of filtered four times. The result equals `pdq.jarosz_64` up to
float rounding; the frame needs no conversion to RGB or to a full-size float image.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from stopframe.signals.pdq import PdqResult, jarosz_window, pdq_from_block64

_SIDE = 64


@lru_cache(maxsize=64)
def jarosz_operator(size: int) -> tuple[np.ndarray, np.ndarray]:
    """For an axis of `size` samples: the first input index of each output's band (64,) and the
    band weights (64 x band), so that output k = sum(weights[k] * input[start[k]:start[k]+band])."""
    if size < 1:
        raise ValueError("axis size must be at least 1")
    window = jarosz_window(size)
    forward = (window + 2) // 2 - 1
    back = window - forward - 1
    index = np.arange(size)
    lo = np.maximum(index - back, 0)
    hi = np.minimum(index + forward, size - 1) + 1
    sample = ((np.arange(_SIDE) + 0.5) * size / _SIDE).astype(np.intp)
    # One box pass as a dense row for each sampled output, then the second pass by a
    # difference-array scatter: row @ B where B[i, lo_i:hi_i] = 1 / (hi_i - lo_i).
    first = np.zeros((_SIDE, size), dtype=np.float64)
    for k, i in enumerate(sample):
        first[k, lo[i] : hi[i]] = 1.0 / (hi[i] - lo[i])
    scaled = first / (hi - lo)[None, :]
    diff = np.zeros((_SIDE, size + 1), dtype=np.float64)
    np.add.at(diff, (slice(None), lo), scaled)
    np.add.at(diff, (slice(None), hi), -scaled)
    full = np.cumsum(diff[:, :size], axis=1)
    full[np.abs(full) < 1e-12] = 0.0  # cumsum leaves rounding dust outside the band
    nonzero = full != 0.0
    starts = nonzero.argmax(axis=1)
    ends = size - nonzero[:, ::-1].argmax(axis=1)
    band = int((ends - starts).max())
    starts = np.minimum(starts, size - band)
    weights = np.stack([full[k, s : s + band] for k, s in enumerate(starts)])
    return starts.astype(np.intp), weights.astype(np.float32)


def block64_from_plane(plane: np.ndarray) -> np.ndarray:
    """The 64 x 64 Jarosz result of a 2-D plane (uint8 or float), as float64."""
    if plane.ndim != 2 or plane.shape[0] < 1 or plane.shape[1] < 1:
        raise ValueError(f"expected a non-empty 2-D plane, got shape {plane.shape}")
    rows, cols = plane.shape
    row_start, row_weights = jarosz_operator(rows)
    col_start, col_weights = jarosz_operator(cols)
    band = row_weights.shape[1]
    gather = row_start[:, None] + np.arange(band)[None, :]  # 64 x band row numbers
    bands = plane[gather].astype(np.float32)  # 64 x band x cols
    reduced = np.matmul(row_weights[:, None, :], bands)[:, 0, :]  # 64 x cols
    col_band = col_weights.shape[1]
    col_gather = col_start[:, None] + np.arange(col_band)[None, :]  # 64 x band column numbers
    picked = reduced[:, col_gather].transpose(1, 0, 2)  # 64 (out col) x 64 (row) x band
    block = np.matmul(picked, col_weights[:, :, None])[:, :, 0].T
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
