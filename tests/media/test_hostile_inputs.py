"""Hostile and degenerate files each give a typed error that names the file and the reason,
without decoding pixels the limits forbid."""

from __future__ import annotations

import hashlib
import io
import struct
import warnings
import zlib
from pathlib import Path

import pytest
from PIL import Image

from stopframe.errors import CorruptMedia, LimitExceeded, MediaError, UnsupportedFormat
from stopframe.hashing.files import hash_file
from stopframe.media.images import decode_image
from stopframe.media.limits import MediaLimits
from stopframe.signals.pdq_image import DecodePath, pdq_of_bytes


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_header_only(width: int, height: int, idat: bytes = b"") -> bytes:
    """A PNG whose IHDR (with a correct CRC) claims width x height 8-bit grey pixels."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")
    )


def png_bomb(side: int) -> bytes:
    """A real, valid all-black PNG of side x side pixels that compresses to well under 1 MB."""
    packer = zlib.compressobj(9)
    row = b"\x00" * (side + 1)  # filter byte + pixels
    parts = [packer.compress(row) for _ in range(side)]
    parts.append(packer.flush())
    return png_header_only(side, side, b"".join(parts))


def _jpeg(size=(640, 480)) -> bytes:
    buffer = io.BytesIO()
    gradient = Image.linear_gradient("L").resize(size).convert("RGB")
    gradient.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def _png(size=(640, 480)) -> bytes:
    buffer = io.BytesIO()
    Image.linear_gradient("L").resize(size).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.mark.parametrize("decode_path", list(DecodePath))
def test_zero_bytes(decode_path) -> None:
    with pytest.raises(CorruptMedia, match=r"^empty\.jpg: .*empty"):
        pdq_of_bytes(b"", "empty.jpg", decode_path)


@pytest.mark.parametrize("decode_path", list(DecodePath))
@pytest.mark.parametrize("make", [_jpeg, _png], ids=["jpeg", "png"])
def test_truncated(make, decode_path) -> None:
    data = make()
    with pytest.raises(CorruptMedia, match=r"^cut\.img: cannot decode (jpeg|png)") as info:
        pdq_of_bytes(data[: len(data) // 2], "cut.img", decode_path)
    assert info.value.path == "cut.img"


def test_text_file_named_jpg(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedFormat, match="not a recognised image"):
        decode_image(b"Dear diary, today I wrote a text file.\n", "diary.jpg")
    fake = tmp_path / "diary.jpg"
    fake.write_text("Dear diary\n")
    record = hash_file(fake)
    assert record.status == "error" and "not a recognised" in record.error
    assert record.value("md5") == hashlib.md5(b"Dear diary\n").hexdigest()


def test_one_pixel_image_hashes_with_quality_zero() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (1, 1), (200, 10, 10)).save(buffer, "PNG")
    decoded, result = pdq_of_bytes(buffer.getvalue(), "dot.png")
    assert (decoded.width, decoded.height) == (1, 1)
    assert result.quality == 0  # no structure: never used for matching


def test_forged_30000_square_png_header_is_refused_before_decoding() -> None:
    data = png_header_only(30_000, 30_000)
    assert len(data) < 100
    with pytest.raises(LimitExceeded, match=r"^huge\.png: .*900000000 pixels"):
        decode_image(data, "huge.png")
    smaller = png_header_only(12_000, 12_000)  # under Pillow's own ceiling: our check speaks
    with pytest.raises(
        LimitExceeded, match=r"^big\.png: 12000x12000 = 144000000 .* limit of 1000000"
    ):
        decode_image(smaller, "big.png", MediaLimits(max_pixels=1_000_000))


def test_decompression_bomb_is_refused_with_default_limits() -> None:
    data = png_bomb(16_000)  # 256 megapixels of black
    assert len(data) < 1_000_000
    with pytest.raises(LimitExceeded, match="decompression bomb"):
        decode_image(data, "bomb.png", MediaLimits())


def test_limits_are_configurable(monkeypatch) -> None:
    data = png_bomb(3_000)
    with pytest.raises(LimitExceeded, match="over the limit of 1000000"):
        decode_image(data, "bomb.png", MediaLimits(max_pixels=1_000_000))
    with pytest.raises(LimitExceeded, match="side over the limit of 2048"):
        decode_image(data, "bomb.png", MediaLimits(max_side=2048))
    with pytest.raises(LimitExceeded, match="bytes, over the limit of 100"):
        decode_image(data, "bomb.png", MediaLimits(max_file_bytes=100))
    monkeypatch.setenv("STOPFRAME_MAX_PIXELS", "1_000_000")
    with pytest.raises(LimitExceeded):
        decode_image(data, "bomb.png")
    monkeypatch.setenv("STOPFRAME_MAX_PIXELS", "lots")
    with pytest.raises(ValueError, match="STOPFRAME_MAX_PIXELS"):
        MediaLimits.from_env()


def test_pillow_bomb_guard_is_typed_and_its_warning_silenced() -> None:
    """Above Pillow's own ceiling (about 179 MP) its DecompressionBombError becomes
    LimitExceeded; between its warning and error levels no warning escapes."""
    generous = MediaLimits(max_pixels=10**9, max_side=40_000)
    with pytest.raises(LimitExceeded, match="decompression bomb"):
        decode_image(png_header_only(20_000, 10_000), "big.png", generous)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        decoded = decode_image(png_bomb(9_500), "ninety-mp.png", generous, draft_min_side=256)
    assert (decoded.width, decoded.height) == (9_500, 9_500)


@pytest.mark.parametrize(
    "data",
    [
        b"\xff\xd8\xff\xe0" + b"\x00" * 100,  # JPEG signature, nothing after
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 50,  # PNG signature, no valid chunks
        png_header_only(0, 10),
        b"GIF89a" + b"\xff" * 30,
        b"RIFF\x20\x00\x00\x00WEBPVP8 " + b"\x01" * 40,
        b"BM" + b"\xff" * 60,
        b"II*\x00" + b"\xff" * 60,
    ],
    ids=["jpeg", "png", "png-zero-width", "gif", "webp", "bmp", "tiff"],
)
def test_garbage_after_a_signature_is_a_typed_error(data: bytes) -> None:
    with pytest.raises(MediaError) as info:
        decode_image(data, "junk.bin")
    assert str(info.value).startswith("junk.bin: ")
    assert isinstance(info.value, (CorruptMedia, LimitExceeded))


def test_video_bytes_are_not_an_image(vectors_dir) -> None:
    video = next((vectors_dir / "vpdq" / "sample-videos").glob("*.mp4"))
    with pytest.raises(UnsupportedFormat, match="video, not an image"):
        decode_image(video.read_bytes(), video.name)
