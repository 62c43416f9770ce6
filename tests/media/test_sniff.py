"""Content sniffing: formats come from magic bytes, never from the file name."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from stopframe.media.sniff import MediaType, sniff_bytes, sniff_file


def _ftyp(major: bytes, *compatible: bytes) -> bytes:
    body = major + b"\x00\x00\x00\x00" + b"".join(compatible)
    return (8 + len(body)).to_bytes(4, "big") + b"ftyp" + body + b"\x00" * 64


@pytest.mark.parametrize(
    ("head", "media_type", "fmt"),
    [
        (_ftyp(b"isom", b"isom", b"avc1", b"mp41"), MediaType.VIDEO, "mp4"),
        (_ftyp(b"qt  ", b"qt  "), MediaType.VIDEO, "mov"),
        (_ftyp(b"3gp5", b"3gp5"), MediaType.VIDEO, "mp4"),
        (_ftyp(b"heic", b"mif1", b"heic"), MediaType.IMAGE, "heic"),
        (_ftyp(b"mif1", b"mif1", b"avif"), MediaType.IMAGE, "avif"),
        (_ftyp(b"avis", b"avis", b"msf1"), MediaType.IMAGE, "avif"),
        (b"\x00\x00\x00\x08wide\x00\x00\x00\x00mdat" + b"\x00" * 32, MediaType.VIDEO, "mov"),
        (
            b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm" + b"\x00" * 32,
            MediaType.VIDEO,
            "webm",
        ),
        (b"\x1a\x45\xdf\xa3\xa3\x42\x82\x88matroska" + b"\x00" * 32, MediaType.VIDEO, "matroska"),
        (b"RIFF\x10\x00\x00\x00AVI LIST" + b"\x00" * 32, MediaType.VIDEO, "avi"),
        (b"OggS\x00\x02" + b"\x00" * 40, MediaType.VIDEO, "ogg"),
        (b"FLV\x01\x05\x00\x00\x00\x09" + b"\x00" * 32, MediaType.VIDEO, "flv"),
        (b"\x00\x00\x01\xba\x44\x00" + b"\x00" * 32, MediaType.VIDEO, "mpeg-ps"),
        ((b"\x47" + b"\x00" * 187) * 3, MediaType.VIDEO, "mpeg-ts"),
        (b"GIF89a\x01\x00\x01\x00" + b"\x00" * 20, MediaType.IMAGE, "gif"),
        (b"II*\x00\x08\x00\x00\x00" + b"\x00" * 20, MediaType.IMAGE, "tiff"),
        (b"MM\x00*\x00\x00\x00\x08" + b"\x00" * 20, MediaType.IMAGE, "tiff"),
        (b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x00" * 20, MediaType.IMAGE, "webp"),
    ],
)
def test_signatures(head: bytes, media_type: MediaType, fmt: str) -> None:
    found = sniff_bytes(head)
    assert found is not None
    assert (found.media_type, found.format) == (media_type, fmt)


@pytest.mark.parametrize(
    ("pillow_format", "fmt", "extra"),
    [
        ("JPEG", "jpeg", {}),
        ("PNG", "png", {}),
        ("GIF", "gif", {}),
        ("WEBP", "webp", {}),
        ("BMP", "bmp", {}),
        ("TIFF", "tiff", {}),
        ("AVIF", "avif", {}),
    ],
)
def test_real_encoder_output_is_recognised(pillow_format: str, fmt: str, extra: dict) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), (10, 200, 30)).save(buffer, pillow_format, **extra)
    found = sniff_bytes(buffer.getvalue()[:512])
    assert found is not None and found.format == fmt and found.media_type is MediaType.IMAGE


@pytest.mark.parametrize("head", [b"", b"hello, world\n", b"%PDF-1.7\n", b"\x00" * 600, b"BM"])
def test_unknown_content_is_none(head: bytes) -> None:
    assert sniff_bytes(head) is None


def test_name_is_ignored(tmp_path) -> None:
    fake = tmp_path / "holiday.jpg"
    fake.write_text("not an image at all\n")
    assert sniff_file(fake) is None
    png_named_jpg = tmp_path / "actually-png.jpg"
    Image.new("L", (4, 4)).save(png_named_jpg, "PNG")
    assert sniff_file(png_named_jpg).format == "png"


def test_sample_video_is_video(vectors_dir) -> None:
    video = next((vectors_dir / "vpdq" / "sample-videos").glob("*.mp4"))
    found = sniff_file(video)
    assert found is not None and found.media_type is MediaType.VIDEO
