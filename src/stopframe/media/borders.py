"""Flat border and letterbox removal: the declared normalisation step that undoes pads,
letterboxes, pillarboxes and UI chrome bars before hashing, so the same picture gives the same hash.

A row (column) is border when nearly all of its pixels lie within a tolerance of that line's
median colour. Leading and trailing runs of such lines are cut from every side, in two passes so
that a letterbox inside a pillarbox (or a chrome bar around a canvas) is removed as well.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULT_TOLERANCE = 14  # max per-channel deviation (0-255) from the line's median colour
DEFAULT_FLAT_SHARE = 0.96  # share of a line's pixels that must be within tolerance
DEFAULT_MAX_TRIM = 0.45  # never cut more than this share of the height or width per side
_PASSES = 2
_SAMPLES = 160


@dataclass(frozen=True, slots=True)
class Box:
    """A region of an image: rows [top, bottom) and columns [left, right)."""

    top: int
    left: int
    bottom: int
    right: int


def flat_lines(rgb: np.ndarray, axis: int, tolerance: int = DEFAULT_TOLERANCE,
               flat_share: float = DEFAULT_FLAT_SHARE) -> np.ndarray:
    """Boolean per row (axis=0) or per column (axis=1): is that line a flat colour?

    Each line is judged on at most ~`_SAMPLES` evenly spaced pixels (a share test needs no more).
    """
    along = 1 if axis == 0 else 0
    stride = max(1, rgb.shape[along] // _SAMPLES)
    sampled = rgb[:, ::stride] if along == 1 else rgb[::stride, :]
    pixels = sampled.astype(np.int16)
    median = np.median(pixels, axis=along, keepdims=True)
    gap = np.abs(pixels - median)
    deviation = np.maximum(np.maximum(gap[..., 0], gap[..., 1]), gap[..., 2])
    return (deviation <= tolerance).mean(axis=along) >= flat_share


def _run_length(flags: np.ndarray, limit: int) -> int:
    """Length of the leading run of True in `flags`, capped at `limit`."""
    misses = np.flatnonzero(~flags[:limit])
    return int(misses[0]) if misses.size else limit


def border_box(rgb: np.ndarray, tolerance: int = DEFAULT_TOLERANCE,
               flat_share: float = DEFAULT_FLAT_SHARE, max_trim: float = DEFAULT_MAX_TRIM) -> Box:
    """The box left once flat borders are cut from each side of an H x W x 3 array."""
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected an H x W x 3 array, got shape {rgb.shape}")
    height, width = rgb.shape[:2]
    top, left, bottom, right = 0, 0, height, width
    for _ in range(_PASSES):
        view = rgb[top:bottom, left:right]
        rows = flat_lines(view, 0, tolerance, flat_share)
        cols = flat_lines(view, 1, tolerance, flat_share)
        if rows.all() or cols.all():
            break  # the whole picture is one flat colour: nothing to tell border from content
        row_limit, col_limit = int(height * max_trim), int(width * max_trim)
        cut_top = _run_length(rows, max(0, row_limit - top))
        cut_bottom = _run_length(rows[::-1], max(0, row_limit - (height - bottom)))
        cut_left = _run_length(cols, max(0, col_limit - left))
        cut_right = _run_length(cols[::-1], max(0, col_limit - (width - right)))
        top, bottom = top + cut_top, bottom - cut_bottom
        left, right = left + cut_left, right - cut_right
        if not (cut_top or cut_bottom or cut_left or cut_right):
            break
    return Box(top, left, bottom, right)


def trim_borders(rgb: np.ndarray, tolerance: int = DEFAULT_TOLERANCE,
                 flat_share: float = DEFAULT_FLAT_SHARE,
                 max_trim: float = DEFAULT_MAX_TRIM) -> np.ndarray:
    """`rgb` without its flat borders (a view; the input itself when there are none)."""
    box = border_box(rgb, tolerance, flat_share, max_trim)
    return rgb[box.top:box.bottom, box.left:box.right]
