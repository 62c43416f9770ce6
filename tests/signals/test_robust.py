"""Robust matching on real vector images: edited copies of the bridge match its registered set,
unrelated pictures do not, and low-quality hashes are never used."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw, ImageFilter, ImageFont, ImageOps

from stopframe.matching.robust import MATCH_DISTANCE, NO_MATCH, is_match, match_score
from stopframe.signals.pdq_robust import MIN_QUALITY, query_hashes, register_hashes


def _load(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(ImageOps.exif_transpose(image).convert("RGB"))


@pytest.fixture(scope="module")
def bridge(vectors_dir: Path) -> np.ndarray:
    rgb = _load(vectors_dir / "pdq/data/bridge-mods/aaa-orig.jpg")
    return np.asarray(Image.fromarray(rgb).resize((640, 402), Image.Resampling.LANCZOS))


@pytest.fixture(scope="module")
def registered(bridge: np.ndarray):
    return register_hashes(bridge)


def _crop(rgb: np.ndarray, left=0.0, top=0.0, right=0.0, bottom=0.0) -> np.ndarray:
    h, w = rgb.shape[:2]
    return rgb[round(h * top) : h - round(h * bottom), round(w * left) : w - round(w * right)]


def test_registered_set_is_small_and_usable(registered) -> None:
    assert 10 <= len(registered) <= 40
    assert all(item.hash.quality >= MIN_QUALITY for item in registered)
    assert len({item.hash.digest for item in registered}) == len(registered)


@pytest.mark.parametrize(
    "edit",
    [
        lambda x: _crop(x, left=0.08),
        lambda x: _crop(x, bottom=0.08),
        lambda x: _crop(x, 0.04, 0.04, 0.04, 0.04),
        lambda x: _crop(x, right=0.18),
        lambda x: np.rot90(x, 1),
        lambda x: np.rot90(x, 2),
        lambda x: x[:, ::-1],
        lambda x: x[::-1],
        lambda x: np.pad(x, ((60, 60), (0, 0), (0, 0))),  # black letterbox
        lambda x: np.pad(x, ((40, 40), (90, 90), (0, 0)), constant_values=200),  # grey pad
    ],
    ids=[
        "left8",
        "bottom8",
        "centre8",
        "right18",
        "rot90",
        "rot180",
        "mirror",
        "flip",
        "letterbox",
        "pad",
    ],
)
def test_edited_copies_match(bridge, registered, edit) -> None:
    query = query_hashes(np.ascontiguousarray(edit(bridge)))
    assert is_match(query, registered), match_score(query, registered)


def test_small_rotation_matches(bridge, registered) -> None:
    rotated = np.asarray(Image.fromarray(bridge).rotate(5, resample=Image.Resampling.BILINEAR))
    assert is_match(query_hashes(rotated), registered)


def _web_page(rgb: np.ndarray, dark: bool) -> np.ndarray:
    """The picture shown on a page and captured: a navigation bar and a right-hand column of
    text, the picture scaled down with a caption under it."""
    page, ink = ((30, 30, 34), (210, 210, 210)) if dark else ((255, 255, 255), (60, 60, 60))
    shown = Image.fromarray(rgb).resize((420, 264), Image.Resampling.BILINEAR)
    canvas = Image.new("RGB", (720, 480), page)
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=14)
    draw.rectangle((0, 0, 720, 36), fill=(40, 90, 160))
    draw.text((12, 10), "Home   News   Photos   About", fill=(255, 255, 255), font=font)
    for row in range(60, 460, 24):
        draw.text((500, row), "Lorem ipsum dolor sit", fill=ink, font=font)
    canvas.paste(shown, (40, 70))
    draw.text((40, 345), "A bridge over the river, seen from the bank", fill=ink, font=font)
    return np.asarray(canvas)


@pytest.mark.parametrize("dark", [False, True])
def test_screenshot_of_a_page_matches(bridge, registered, dark: bool) -> None:
    query = query_hashes(_web_page(bridge, dark))
    assert len(query) <= 32
    assert is_match(query, registered), match_score(query, registered)


def test_bridge_vector_edits_match(vectors_dir: Path, registered) -> None:
    for name in ("bridge-2-rotate-90.jpg", "bridge-6-flipy.jpg"):
        query = query_hashes(_load(vectors_dir / "pdq/data/reg-test-input/dih" / name))
        assert is_match(query, registered), name
    letterboxed = _load(vectors_dir / "pdq/pytx-test-resources/letterboxed_sample-b.jpg")
    assert is_match(query_hashes(letterboxed), registered)


def test_unrelated_pictures_do_not_match(vectors_dir: Path, registered) -> None:
    folder = vectors_dir / "pdq/data/reg-test-input/labelme-subset"
    for path in sorted(folder.glob("q*.jpg")):
        query = query_hashes(_load(path))
        assert match_score(query, registered) > MATCH_DISTANCE, path.name


def test_low_quality_hashes_are_gated(vectors_dir: Path) -> None:
    featureless = _load(vectors_dir / "pdq/data/misc-images/small.jpg")  # PDQ quality 0
    assert register_hashes(featureless) == []
    assert query_hashes(featureless) == []
    assert match_score(query_hashes(featureless), register_hashes(featureless)) == NO_MATCH
    flat = np.full((100, 100, 3), 90, np.uint8)
    assert match_score(query_hashes(flat), register_hashes(flat)) == NO_MATCH


def test_despeckling_brings_overlaid_text_closer(bridge, registered) -> None:
    captioned = Image.fromarray(bridge)
    draw = ImageDraw.Draw(captioned)
    font = ImageFont.load_default(size=40)
    for i in range(6):
        position = (10 + 30 * (i % 3), 10 + i * 63)
        draw.text(
            position, "SHARE THIS NOW", fill=(255, 255, 0), font=font, stroke_width=2, stroke_fill=0
        )
    query = query_hashes(np.asarray(captioned))
    despeckled = [item for item in query if item.variant == "trim/despeckled"]
    others = [item for item in query if item.variant != "trim/despeckled"]
    assert despeckled and is_match(query, registered)
    assert match_score(despeckled, registered) < match_score(others, registered)


@settings(deadline=None, max_examples=40)
@given(st.integers(0, 2**32 - 1), st.booleans())
def test_despeckle_median_equals_pillows(seed: int, ties: bool) -> None:
    from stopframe.signals.pdq_robust import DESPECKLE_SIZE, _median

    rng = np.random.default_rng(seed)
    pixels = (rng.random((128, 128)) * 255).astype(np.float32)
    if ties:
        pixels = np.round(pixels / 16) * 16
    expected = Image.fromarray(pixels, "F").filter(ImageFilter.MedianFilter(DESPECKLE_SIZE))
    assert np.array_equal(_median(pixels, DESPECKLE_SIZE), np.asarray(expected))
