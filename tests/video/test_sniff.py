"""Container sniffing by content, never by file name."""

from __future__ import annotations

import os

import pytest

from stopframe.media.video import sniff_animation, sniff_video


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00", "mp4"),
        (b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00", "mov"),
        (b"\x00\x00\x00\x1cftyp3gp4\x00\x00\x00\x00", "mp4"),
        (b"\x00\x00\x00\x08moov", "mov"),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01", "matroska"),
        (b"RIFF\x10\x00\x00\x00AVI LIST", "avi"),
        (b"OggS\x00\x02", "ogg"),
        (b"\x00\x00\x01\xba\x44\x00", "mpeg-ps"),
        (b"FLV\x01\x05\x00\x00\x00\x09", "flv"),
        (b"\x47" + bytes(187) + b"\x47" + bytes(187) + b"\x47" + bytes(10), "mpeg-ts"),
        (bytes(4) + (b"\x47" + bytes(191)) * 2 + b"\x47" + bytes(10), "mpeg-ts"),
        (b"\x30\x26\xb2\x75\x8e\x66\xcf\x11\xa6\xd9", "asf"),
    ],
)
def test_known_containers(head: bytes, kind: str) -> None:
    assert sniff_video(head) == kind


@pytest.mark.parametrize(
    "head",
    [
        b"",
        b"\xff\xd8\xff\xe0\x00\x10JFIF",
        b"\x89PNG\r\n\x1a\n",
        b"GIF89a",
        b"hello world",
        b"RIFF\x00\x00\x00\x00WAVE",
    ],
)
def test_not_video(head: bytes) -> None:
    assert sniff_video(head) is None


def test_random_bytes_are_not_video() -> None:
    hits = sum(sniff_video(os.urandom(512)) is not None for _ in range(200))
    assert hits <= 2


def test_animations() -> None:
    assert sniff_animation(b"GIF89a\x10\x00") == "gif"
    animated = b"RIFF\x00\x00\x00\x00WEBPVP8X\x0a\x00\x00\x00\x02\x00\x00\x00"
    still = b"RIFF\x00\x00\x00\x00WEBPVP8X\x0a\x00\x00\x00\x00\x00\x00\x00"
    assert sniff_animation(animated) == "webp"
    assert sniff_animation(still) is None
    assert sniff_animation(b"\x00\x00\x00\x20ftypisom") is None
