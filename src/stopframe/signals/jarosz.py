"""PDQ's Jarosz filter: two box-filter passes per axis, then 64 samples per axis.

The filter is linear and separable, so along an axis of `size` samples it is a 64 x `size` map in
which each output reads one contiguous band of inputs. `jarosz_bands` builds those band weights,
once per axis length, and every fast path takes them from there: `jarosz_matrix` (dense, for BLAS
on decoded images), `reduced_jarosz_matrix` (carried onto a box-averaged grid) and `plane_bands`
(gathered bands for large video frames). `box_filter` is the literal pass they are tested against.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

OUTPUT_SIDE = 64  # samples per axis after the filter: PDQ's 64 x 64 luma block


def jarosz_window(old_size: int, new_size: int = OUTPUT_SIDE) -> int:
    """Box-filter width that makes two passes approximate a tent filter for this downscale."""
    return max(1, (old_size + 2 * new_size - 1) // (2 * new_size))


def _box_bounds(size: int, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Half-open input range [lo, hi) each of `size` box outputs averages, edges shrinking.

    The window reaches `window - (window + 2) // 2` samples back and `(window + 2) // 2 - 1`
    forward, as in the reference implementation.
    """
    forward = (window + 2) // 2 - 1
    back = window - forward - 1
    index = np.arange(size)
    return np.maximum(index - back, 0), np.minimum(index + forward, size - 1) + 1


def box_filter(values: np.ndarray, window: int, axis: int) -> np.ndarray:
    """One box pass: the mean over a window of `window` samples along `axis` (see `_box_bounds`)."""
    moved = np.moveaxis(values, axis, 0).astype(np.float64, copy=False)
    n = moved.shape[0]
    sums = np.zeros((n + 1,) + moved.shape[1:], dtype=np.float64)
    np.cumsum(moved, axis=0, out=sums[1:])
    lo, hi = _box_bounds(n, window)
    shape = (n,) + (1,) * (moved.ndim - 1)
    out = (sums[hi] - sums[lo]) / (hi - lo).reshape(shape)
    return np.moveaxis(out, 0, axis)


@lru_cache(maxsize=256)
def jarosz_bands(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Weights of the 64 output samples along an axis of `size`, as bands: `starts[i]` is where
    output i's weights begin and `bands[i]` holds them (zero-padded to a common width).

    The last box pass averages first-pass outputs m in [lo, hi) of the sample; each of those
    averaged inputs [lo[m], hi[m]). The boxes are added up as a difference array, then summed.
    """
    if size < 1:
        raise ValueError("axis size must be at least 1")
    lo, hi = _box_bounds(size, jarosz_window(size))
    count = (hi - lo).astype(np.float64)
    samples = ((np.arange(OUTPUT_SIDE) + 0.5) * size / OUTPUT_SIDE).astype(np.intp)
    offsets = np.arange(int(count.max()))
    middle = lo[samples, None] + offsets  # first-pass outputs feeding each sample
    valid = middle < hi[samples, None]
    middle = np.minimum(middle, size - 1)
    starts = lo[lo[samples]]
    width = int((hi[hi[samples] - 1] - starts).max())
    weight = np.where(valid, 1.0 / (count[samples, None] * count[middle]), 0.0)
    diff = np.zeros((OUTPUT_SIDE, width + 1))
    rows = np.broadcast_to(np.arange(OUTPUT_SIDE)[:, None], middle.shape)
    np.add.at(diff, (rows, lo[middle] - starts[:, None]), weight)
    np.add.at(diff, (rows, hi[middle] - starts[:, None]), -weight)
    return starts, np.cumsum(diff[:, :-1], axis=1)


@lru_cache(maxsize=256)
def jarosz_matrix(size: int) -> np.ndarray:
    """The dense 64 x `size` map the filter applies along one axis of that length."""
    starts, bands = jarosz_bands(size)
    matrix = np.zeros((OUTPUT_SIDE, size + bands.shape[1]))
    columns = starts[:, None] + np.arange(bands.shape[1])
    matrix[np.arange(OUTPUT_SIDE)[:, None], columns] = bands
    return matrix[:, :size]


@lru_cache(maxsize=256)
def reduced_jarosz_matrix(full: int, reduced: int) -> np.ndarray:
    """`jarosz_matrix(full)` carried onto an axis box-averaged from `full` to `reduced` samples:
    reduced sample j stands for full positions [j, j + 1) * full / reduced, so it takes the
    summed weight of that span. Exact for content that is constant within each span."""
    starts, bands = jarosz_bands(full)
    scale = full / reduced
    width = bands.shape[1]
    cumulative = np.concatenate([np.zeros((OUTPUT_SIDE, 1)), np.cumsum(bands, axis=1)], axis=1)
    first = np.floor(starts / scale).astype(np.intp)
    cells = int(np.ceil(width / scale)) + 2
    index = first[:, None] + np.arange(cells)  # reduced cells that may overlap each band
    edges = np.clip(index[:, :] * scale, 0, None) - starts[:, None]
    edges = np.clip(np.concatenate([edges, edges[:, -1:] + scale], axis=1), 0, width)
    whole = np.minimum(np.floor(edges).astype(np.intp), width - 1)
    part = edges - whole
    low = np.take_along_axis(cumulative, whole, axis=1)
    high = np.take_along_axis(cumulative, whole + 1, axis=1)
    weights = np.diff(low + part * (high - low), axis=1)
    matrix = np.zeros((OUTPUT_SIDE, reduced + cells))
    matrix[np.arange(OUTPUT_SIDE)[:, None], index] = weights
    return matrix[:, :reduced]


@lru_cache(maxsize=64)
def plane_bands(size: int) -> tuple[np.ndarray, np.ndarray]:
    """`jarosz_bands(size)` as float32 bands that all lie inside the axis, for gathering:
    output k = sum(weights[k] * input[starts[k] : starts[k] + band])."""
    starts, bands = jarosz_bands(size)
    width = bands.shape[1]
    inside = np.minimum(starts, size - width)  # bands past the end hold zeros there: shift back
    index = np.arange(width)[None, :] - (starts - inside)[:, None]
    picked = np.take_along_axis(bands, np.clip(index, 0, width - 1), axis=1)
    weights = np.where(index >= 0, picked, 0.0)
    return inside.astype(np.intp), weights.astype(np.float32)
