"""Letterbox / pillarbox detection: flat bars (black or any flat colour) fixed over a whole clip.

Per frame, a bar is a run of edge rows (or columns) that are flat (tiny spread) and all of one
colour, the colour of the outermost line. Over the clip, each side keeps the bar that holds in
most frames (a low percentile of the per-frame bar widths), so content that happens to be flat
in one frame (a dark sky, a fade) does not widen the crop, and a bar present throughout is found.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

FLAT_STD = 3.0  # luma spread (0-255 scale) under which a line counts as flat
COLOUR_TOLERANCE = 6.0  # a bar line's mean may differ this much from the outermost line
MIN_BAR = 2  # bars thinner than this many pixels are ignored
MAX_BAR_SHARE = 0.35  # one bar never takes more than this share of its axis
MIN_CONTENT_SHARE = 0.25  # a crop must leave at least this share of each axis
HOLDS_IN_SHARE = 0.8  # a side's bar must be at least this wide in this share of frames


@dataclass(frozen=True, slots=True)
class ContentBox:
    """The picture area inside the bars, as half-open pixel ranges [top, bottom) x [left, right)."""

    top: int
    bottom: int
    left: int
    right: int

    def as_crop(self) -> tuple[int, int, int, int]:
        return (self.top, self.bottom, self.left, self.right)

    def is_full(self, height: int, width: int) -> bool:
        return (self.top, self.bottom, self.left, self.right) == (0, height, 0, width)


def _bar_width(means: np.ndarray, stds: np.ndarray, limit: int) -> int:
    """How many leading lines are flat and of the outermost line's colour (at most `limit`)."""
    flat = (stds[:limit] <= FLAT_STD) & (np.abs(means[:limit] - means[0]) <= COLOUR_TOLERANCE)
    if not flat.size or not flat[0]:
        return 0
    return int(flat.argmin()) if not flat.all() else int(flat.size)


def frame_bars(plane: np.ndarray) -> tuple[int, int, int, int] | None:
    """Bar widths (top, bottom, left, right) of one luma frame, or None when the whole frame is
    flat (black frame, fade) and says nothing about bars."""
    values = plane.astype(np.float32)
    height, width = values.shape
    row_mean, row_std = values.mean(axis=1), values.std(axis=1)
    col_mean, col_std = values.mean(axis=0), values.std(axis=0)
    if float(values.std()) <= FLAT_STD:
        return None
    row_limit = int(height * MAX_BAR_SHARE)
    col_limit = int(width * MAX_BAR_SHARE)
    return (
        _bar_width(row_mean, row_std, row_limit),
        _bar_width(row_mean[::-1], row_std[::-1], row_limit),
        _bar_width(col_mean, col_std, col_limit),
        _bar_width(col_mean[::-1], col_std[::-1], col_limit),
    )


def detect_content_box(planes: Iterable[np.ndarray]) -> ContentBox | None:
    """The content box of a clip from luma planes sampled over it, or None when no bars hold
    (or no frame told anything). Planes must all have the same shape."""
    widths: list[tuple[int, int, int, int]] = []
    shape: tuple[int, int] | None = None
    for plane in planes:
        if shape is None:
            shape = plane.shape
        elif plane.shape != shape:
            continue
        bars = frame_bars(plane)
        if bars is not None:
            widths.append(bars)
    if not widths or shape is None:
        return None
    height, width = shape
    table = np.array(widths)
    side = np.floor(np.quantile(table, 1.0 - HOLDS_IN_SHARE, axis=0, method="lower")).astype(int)
    side[side < MIN_BAR] = 0
    top, bottom, left, right = (int(v) for v in side)
    box = ContentBox(top, height - bottom, left, width - right)
    if (box.bottom - box.top) < height * MIN_CONTENT_SHARE or (
        box.right - box.left
    ) < width * MIN_CONTENT_SHARE:
        return None
    if box.is_full(height, width):
        return None
    return box
