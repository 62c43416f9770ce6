"""Flat border removal: pads, letterboxes and frames come off; picture content stays."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stopframe.media.borders import Box, border_box, flat_lines, trim_borders, window_boxes


def _picture(height: int = 90, width: int = 120) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (height, width, 3), dtype=np.uint8)


def _pad(
    rgb: np.ndarray, top: int, bottom: int, left: int, right: int, colour=(0, 0, 0)
) -> np.ndarray:
    height, width = rgb.shape[:2]
    out = np.empty((height + top + bottom, width + left + right, 3), np.uint8)
    out[:] = colour
    out[top : top + height, left : left + width] = rgb
    return out


@pytest.mark.parametrize("colour", [(0, 0, 0), (255, 255, 255), (30, 140, 200)])
def test_pads_of_any_flat_colour_come_off(colour) -> None:
    picture = _picture()
    padded = _pad(picture, 12, 7, 20, 3, colour)
    assert border_box(padded) == Box(12, 20, 102, 140)
    assert np.array_equal(trim_borders(padded), picture)


def test_letterbox_inside_pillarbox_of_another_colour() -> None:
    picture = _picture()
    inner = _pad(picture, 15, 15, 0, 0, (0, 0, 0))
    outer = _pad(inner, 0, 0, 25, 25, (200, 200, 200))
    assert np.array_equal(trim_borders(outer), picture)


def test_noisy_border_within_tolerance_comes_off() -> None:
    picture = _picture()
    padded = _pad(picture, 10, 10, 10, 10, (0, 0, 0)).astype(np.int16)
    rng = np.random.default_rng(1)
    padded[:10] += rng.integers(0, 8, padded[:10].shape, dtype=np.int16)  # JPEG-like ringing
    assert border_box(np.clip(padded, 0, 255).astype(np.uint8)) == Box(10, 10, 100, 130)


def test_picture_without_borders_is_untouched() -> None:
    picture = _picture()
    assert trim_borders(picture) is picture or trim_borders(picture).shape == picture.shape


def test_flat_image_is_kept_whole() -> None:
    flat = np.full((50, 60, 3), 128, np.uint8)
    assert trim_borders(flat).shape == flat.shape


def test_trim_never_exceeds_the_cap() -> None:
    picture = _picture(20, 20)
    padded = _pad(picture, 80, 0, 0, 0)  # a huge bar: 80 of 100 rows
    box = border_box(padded, max_trim=0.45)
    assert box.top == 45


def test_rejects_non_rgb() -> None:
    with pytest.raises(ValueError, match="H x W x 3"):
        border_box(np.zeros((4, 4), np.uint8))


def _window(picture: np.ndarray, text_column: bool) -> np.ndarray:
    """`picture` on a page: a toolbar of buttons, a side bar of text lines and (optionally) a
    text column between the picture and the right edge, all on one exact background colour."""
    h, w = picture.shape[:2]
    page = np.full((h + 120, w + 260, 3), 245, np.uint8)
    page[:30] = 200
    page[8:22, 10 : w + 200 : 40] = 20  # buttons in the toolbar
    page[40::18, 10:70][:, ::3] = 30  # side bar: dotted lines of "text"
    if text_column:
        page[50::14, w + 150 : w + 240][:, ::2] = 30
    page[60 : 60 + h, 90 : 90 + w] = picture
    return page


@pytest.mark.parametrize("text_column", [False, True])
def test_window_boxes_find_the_picture_among_chrome(text_column: bool) -> None:
    rng = np.random.default_rng(3)
    picture = rng.integers(0, 255, (150, 200, 3), dtype=np.uint8)
    boxes = window_boxes(_window(picture, text_column))
    assert Box(60, 90, 210, 290) in boxes
    assert border_box(_window(picture, text_column)) != Box(60, 90, 210, 290)  # strict keeps chrome


def test_window_boxes_leave_plain_pictures_alone() -> None:
    rng = np.random.default_rng(4)
    picture = rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)
    assert window_boxes(picture) == []
    assert window_boxes(np.full((50, 80, 3), 128, np.uint8)) == []


def _border_box_from_all_lines(rgb: np.ndarray, max_trim: float = 0.45) -> Box:
    """The border box judged from every line's flag at once: what `border_box` computes by
    reading lines from the edges inwards and stopping early."""
    height, width = rgb.shape[:2]
    top, left, bottom, right = 0, 0, height, width

    def run(flags: np.ndarray, limit: int) -> int:
        misses = np.flatnonzero(~flags[:limit])
        return int(misses[0]) if misses.size else limit

    for _ in range(2):
        view = rgb[top:bottom, left:right]
        rows, cols = flat_lines(view, 0), flat_lines(view, 1)
        if rows.all() or cols.all():
            break
        row_limit, col_limit = int(height * max_trim), int(width * max_trim)
        cuts = (
            run(rows, max(0, row_limit - top)),
            run(rows[::-1], max(0, row_limit - (height - bottom))),
            run(cols, max(0, col_limit - left)),
            run(cols[::-1], max(0, col_limit - (width - right))),
        )
        top, bottom, left, right = top + cuts[0], bottom - cuts[1], left + cuts[2], right - cuts[3]
        if not any(cuts):
            break
    return Box(top, left, bottom, right)


@settings(deadline=None, max_examples=150)
@given(
    st.integers(0, 2**32 - 1),
    st.tuples(*[st.integers(0, 70)] * 4),
    st.tuples(*[st.integers(0, 40)] * 4),
    st.sampled_from([(0, 0, 0), (255, 255, 255), (30, 120, 200)]),
)
def test_border_box_equals_judging_every_line(
    seed: int, outer: tuple[int, ...], inner: tuple[int, ...], colour: tuple[int, int, int]
) -> None:
    rng = np.random.default_rng(seed)
    height, width = (int(v) for v in rng.integers(1, 80, 2))
    content = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    content[: int(rng.integers(0, height + 1))] = rng.integers(0, 256, 3)  # flat content rows
    picture = _pad(_pad(content, *inner, colour=(90, 90, 90)), *outer, colour=colour)
    assert border_box(picture) == _border_box_from_all_lines(picture)
