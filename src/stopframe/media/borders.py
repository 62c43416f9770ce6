"""Flat borders and bars, found and cut before hashing so the same picture gives the same hash.

Pictures (`border_box`, `trim_borders`): a row (column) is border when nearly all of its pixels
lie within a tolerance of that line's median colour. Leading and trailing runs of such lines are
cut from every side, in two passes so that a letterbox inside a pillarbox (or a chrome bar around
a canvas) is removed as well.

Windows (`window_boxes`): a picture shown in an app window or web page and captured as a
screenshot sits among chrome, side bars and text columns whose lines are mostly one exact colour
but carry text and icons, so they fail the strict test, and a text column may lie between the
picture and the edge. With a tight tolerance and half the line as the test, trimming from the
edges or the widest run of lines that are not flat finds the picture; natural content (skies,
walls) is rarely that exactly flat over half a line.

Clips (`detect_content_box`): per frame, a bar is a run of edge rows (or columns) that are flat
(tiny spread) and all of one colour, the colour of the outermost line. Over the clip, each side
keeps the bar that holds in most frames (a low percentile of the per-frame bar widths), so content
that happens to be flat in one frame (a dark sky, a fade) does not widen the crop, and a bar
present throughout is found. Both give the same `Box`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

DEFAULT_TOLERANCE = 14  # max per-channel deviation (0-255) from the line's median colour
DEFAULT_FLAT_SHARE = 0.96  # share of a line's pixels that must be within tolerance
DEFAULT_MAX_TRIM = 0.45  # never cut more than this share of the height or width per side
WINDOW_TOLERANCE = 4  # window chrome: a synthetic colour, so only compression noise around it
WINDOW_FLAT_SHARE = 0.5  # ...over at least half the line (the rest: text, icons, a side bar)
_PASSES = 2
_SAMPLES = 160

FLAT_STD = 3.0  # clip bars: luma spread (0-255 scale) under which a line counts as flat
COLOUR_TOLERANCE = 6.0  # a bar line's mean may differ this much from the outermost line
MIN_BAR = 2  # bars thinner than this many pixels are ignored
MAX_BAR_SHARE = 0.35  # one bar never takes more than this share of its axis
MIN_CONTENT_SHARE = 0.25  # a crop must leave at least this share of each axis
HOLDS_IN_SHARE = 0.8  # a side's bar must be at least this wide in this share of frames


@dataclass(frozen=True, slots=True)
class Box:
    """A region of a picture or frame: rows [top, bottom) and columns [left, right)."""

    top: int
    left: int
    bottom: int
    right: int

    def slices(self) -> tuple[slice, slice]:
        """Row and column slices, so that `pixels[box.slices()]` is the region (a view)."""
        return slice(self.top, self.bottom), slice(self.left, self.right)

    def is_full(self, height: int, width: int) -> bool:
        """Whether the box is the whole `height` x `width` area (nothing cut)."""
        return (self.top, self.left, self.bottom, self.right) == (0, 0, height, width)


def flat_lines(
    rgb: np.ndarray,
    axis: int,
    tolerance: int = DEFAULT_TOLERANCE,
    flat_share: float = DEFAULT_FLAT_SHARE,
) -> np.ndarray:
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
    flat: np.ndarray = (deviation <= tolerance).mean(axis=along) >= flat_share
    return flat


def _edge_run(rgb: np.ndarray, axis: int, from_end: bool, tolerance: int, flat_share: float) -> int:
    """How many lines along `axis` are flat from the first (or last) one inwards: the same as
    the leading run of `flat_lines`, but judging lines in growing chunks from the edge and
    stopping at the first that is not flat, so a picture without borders costs a few lines."""
    count = int(rgb.shape[axis])
    done, step = 0, 8
    while done < count:
        take = min(step, count - done)
        lines = slice(count - done - take, count - done) if from_end else slice(done, done + take)
        flags = flat_lines(rgb[lines] if axis == 0 else rgb[:, lines], axis, tolerance, flat_share)
        misses = np.flatnonzero(~(flags[::-1] if from_end else flags))
        if misses.size:
            return done + int(misses[0])
        done, step = done + take, step * 2
    return count


def border_box(
    rgb: np.ndarray,
    tolerance: int = DEFAULT_TOLERANCE,
    flat_share: float = DEFAULT_FLAT_SHARE,
    max_trim: float = DEFAULT_MAX_TRIM,
) -> Box:
    """The box left once flat borders are cut from each side of an H x W x 3 array."""
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected an H x W x 3 array, got shape {rgb.shape}")
    height, width = rgb.shape[:2]
    top, left, bottom, right = 0, 0, height, width
    for _ in range(_PASSES):
        view = rgb[top:bottom, left:right]
        runs = [
            _edge_run(view, axis, from_end, tolerance, flat_share)
            for axis in (0, 1)
            for from_end in (False, True)
        ]
        if runs[0] == view.shape[0] or runs[2] == view.shape[1]:
            break  # the whole picture is one flat colour: nothing to tell border from content
        row_limit, col_limit = int(height * max_trim), int(width * max_trim)
        cut_top = min(runs[0], max(0, row_limit - top))
        cut_bottom = min(runs[1], max(0, row_limit - (height - bottom)))
        cut_left = min(runs[2], max(0, col_limit - left))
        cut_right = min(runs[3], max(0, col_limit - (width - right)))
        top, bottom = top + cut_top, bottom - cut_bottom
        left, right = left + cut_left, right - cut_right
        if not (cut_top or cut_bottom or cut_left or cut_right):
            break
    return Box(top, left, bottom, right)


def trim_borders(
    rgb: np.ndarray,
    tolerance: int = DEFAULT_TOLERANCE,
    flat_share: float = DEFAULT_FLAT_SHARE,
    max_trim: float = DEFAULT_MAX_TRIM,
) -> np.ndarray:
    """`rgb` without its flat borders (a view; the input itself when there are none)."""
    box = border_box(rgb, tolerance, flat_share, max_trim)
    return rgb[box.slices()]


def _longest_run(flags: np.ndarray) -> tuple[int, int]:
    """[start, end) of the longest run of True in `flags` ((0, 0) when there is none)."""
    padded = np.concatenate([[False], flags, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    starts, ends = edges[::2], edges[1::2]
    if not starts.size:
        return 0, 0
    best = int(np.argmax(ends - starts))
    return int(starts[best]), int(ends[best])


def window_boxes(rgb: np.ndarray) -> list[Box]:
    """Where a screenshot may show its picture inside window chrome, side bars, text columns and
    page background, judging lines by the tight window test: trimmed from each edge inwards (the
    picture beside a side bar), and the widest run of lines that are not flat, columns then rows,
    twice (a text column between the picture and the edge). Each is left out when it is under a
    quarter of either axis or the whole picture."""
    found = [border_box(rgb, WINDOW_TOLERANCE, WINDOW_FLAT_SHARE)]  # checks the shape
    height, width = rgb.shape[:2]
    top, left, bottom, right = 0, 0, height, width
    for _ in range(_PASSES):
        cols = flat_lines(rgb[top:bottom], 1, WINDOW_TOLERANCE, WINDOW_FLAT_SHARE)
        left, right = _longest_run(~cols)
        if right - left < width / 4:
            break
        rows = flat_lines(rgb[:, left:right], 0, WINDOW_TOLERANCE, WINDOW_FLAT_SHARE)
        top, bottom = _longest_run(~rows)
        if bottom - top < height / 4:
            break
    else:
        found.append(Box(top, left, bottom, right))
    return [
        box
        for box in dict.fromkeys(found)
        if not box.is_full(height, width)
        and box.bottom - box.top >= height / 4
        and box.right - box.left >= width / 4
    ]


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


def without_frame_bars(plane: np.ndarray) -> np.ndarray:
    """One frame's luma without its own flat bars (unchanged when too little would be left)."""
    bars = frame_bars(plane)
    if bars is None:
        return plane
    top, bottom, left, right = bars
    height, width = plane.shape
    if min(height - top - bottom, width - left - right) < MIN_CONTENT_SHARE * min(height, width):
        return plane
    return plane[top : height - bottom, left : width - right]


def detect_content_box(planes: Iterable[np.ndarray]) -> Box | None:
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
    box = Box(top, left, height - bottom, width - right)
    if (box.bottom - box.top) < height * MIN_CONTENT_SHARE or (
        box.right - box.left
    ) < width * MIN_CONTENT_SHARE:
        return None
    if box.is_full(height, width):
        return None
    return box
