"""Every Pillow mode becomes the same picture in RGB: each hashes within 10 bits of the RGB
original, through both decode paths, whether built in memory or read from a file."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from stopframe.media.colour import to_rgb_or_luma
from stopframe.signals.pdq import pdq_from_rgb
from stopframe.signals.pdq_image import DecodePath, pdq_of_bytes


@pytest.fixture(scope="module")
def photo(vectors_dir) -> Image.Image:
    path = vectors_dir / "pdq" / "data" / "bridge-mods" / "shrink-a-little.jpg"
    return Image.open(path).convert("RGB")


def _hash_image(image: Image.Image):
    return pdq_from_rgb(np.asarray(to_rgb_or_luma(image))).hash


def _grey16(photo: Image.Image, mode: str) -> Image.Image:
    grey = np.asarray(photo.convert("L"), dtype=np.uint16) * 257
    dtype = {"I;16B": ">u2"}.get(mode, "<u2")
    return Image.frombytes(mode, photo.size, grey.astype(dtype).tobytes())


@pytest.mark.parametrize(
    "make",
    [
        lambda p: p.convert("L"),
        lambda p: p.convert("1"),
        lambda p: p.convert("P"),
        lambda p: p.convert("CMYK"),
        lambda p: p.convert("YCbCr"),
        lambda p: p.convert("HSV"),
        lambda p: p.convert("LA"),
        lambda p: p.convert("RGBA"),
        lambda p: p.convert("RGBa"),
        lambda p: p.convert("PA"),
        lambda p: p.convert("I"),
        lambda p: Image.fromarray(np.asarray(p.convert("L"), dtype=np.float32) / 255.0, "F"),
        lambda p: p.convert("L").convert("F"),
        lambda p: Image.fromarray(np.asarray(p.convert("L"), dtype=np.int32) * 65793, "I"),
        lambda p: _grey16(p, "I;16"),
        lambda p: _grey16(p, "I;16B"),
        lambda p: _grey16(p, "I;16L"),
    ],
    ids=[
        "L",
        "1",
        "P",
        "CMYK",
        "YCbCr",
        "HSV",
        "LA",
        "RGBA",
        "RGBa",
        "PA",
        "I",
        "F01",
        "F255",
        "I-wide",
        "I;16",
        "I;16B",
        "I;16L",
    ],
)
def test_mode_in_memory(photo, make) -> None:
    converted = make(photo)
    out = to_rgb_or_luma(converted)
    assert out.mode == "RGB" and out.size == photo.size
    assert _hash_image(converted).distance(_hash_image(photo)) <= 10


def test_lab_converts_through_a_colour_transform(photo) -> None:
    from PIL import ImageCms

    to_lab = ImageCms.buildTransform(
        ImageCms.createProfile("sRGB"), ImageCms.createProfile("LAB"), "RGB", "LAB"
    )
    lab = ImageCms.applyTransform(photo, to_lab)
    assert lab.mode == "LAB"
    assert _hash_image(lab).distance(_hash_image(photo)) <= 10


def test_alpha_is_dropped_and_the_stored_colour_kept() -> None:
    half = Image.new("RGBA", (4, 4), (200, 100, 50, 128))
    clear = Image.new("LA", (4, 4), (255, 0))
    assert to_rgb_or_luma(half).getpixel((0, 0)) == (200, 100, 50)
    assert to_rgb_or_luma(clear).getpixel((0, 0)) == (255, 255, 255)
    palette = Image.new("P", (4, 4), 3)
    palette.putpalette([0, 0, 0] * 3 + [255, 255, 255] + [0, 0, 0] * 252)
    palette.info["transparency"] = 3
    assert to_rgb_or_luma(palette).getpixel((0, 0)) == (255, 255, 255)


def test_grey_sources_may_stay_luma() -> None:
    assert to_rgb_or_luma(Image.new("I;16", (3, 3), 65535), allow_luma=True).getpixel((0, 0)) == 255
    assert to_rgb_or_luma(Image.new("L", (3, 3), 7), allow_luma=True).mode == "L"


@pytest.mark.parametrize("decode_path", list(DecodePath))
@pytest.mark.parametrize(
    ("mode", "fmt"),
    [
        ("CMYK", "JPEG"),
        ("CMYK", "TIFF"),
        ("L", "JPEG"),
        ("P", "GIF"),
        ("P", "PNG"),
        ("RGBA", "WEBP"),
        ("RGB", "BMP"),
        ("I;16", "PNG"),
        ("I;16B", "TIFF"),
        ("F", "TIFF"),
        ("I", "TIFF"),
        ("LA", "PNG"),
        ("RGB", "AVIF"),
    ],
)
def test_mode_through_a_file(photo, mode, fmt, decode_path) -> None:
    if fmt == "AVIF":
        photo = photo.resize((576, 362))  # AV1 encoding is slow; still exercises the reduction
    image = _grey16(photo, mode) if mode.startswith("I;16") else photo.convert(mode)
    buffer = io.BytesIO()
    image.save(buffer, fmt, **({"quality": 90} if fmt in ("JPEG", "WEBP", "AVIF") else {}))
    decoded, result = pdq_of_bytes(buffer.getvalue(), f"photo.{fmt.lower()}", decode_path)
    assert (decoded.width, decoded.height) == photo.size
    assert result.hash.distance(_hash_image(photo)) <= 10


def test_heic_when_available(photo) -> None:
    pillow_heif = pytest.importorskip("pillow_heif")
    photo = photo.resize((384, 241))  # HEVC encoding is slow; a small picture is enough
    buffer = io.BytesIO()
    try:
        pillow_heif.from_pillow(photo).save(buffer, format="HEIF", quality=90)
    except Exception as exc:  # encoder not built into this wheel
        pytest.skip(f"no HEIC encoder: {exc}")
    decoded, result = pdq_of_bytes(buffer.getvalue(), "photo.heic")
    assert decoded.format == "heic"
    assert result.hash.distance(_hash_image(photo)) <= 10


def test_gif_first_frame_is_hashed(photo) -> None:
    second = Image.eval(photo, lambda v: 255 - v)
    buffer = io.BytesIO()
    photo.save(buffer, "GIF", save_all=True, append_images=[second])
    _, result = pdq_of_bytes(buffer.getvalue(), "anim.gif")
    assert result.hash.distance(_hash_image(photo)) <= 10
