"""Tell what a file is from its first bytes (magic numbers), never from its name.

Images are routed to the image decoder, videos to the video hasher; anything else is refused.
An animated GIF or WebP counts as an image here (its first frame is hashed).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from stopframe.media.regular import open_regular

SNIFF_BYTES = 512  # enough for every signature below, MPEG-TS sync bytes included


class MediaType(StrEnum):
    """What kind of hashing a file gets."""

    IMAGE = "image"
    VIDEO = "video"


@dataclass(frozen=True, slots=True)
class Sniffed:
    """The media type and container/format name detected from the content."""

    media_type: MediaType
    format: str


_HEIC_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs"}
_AVIF_BRANDS = {b"avif", b"avis"}
_HEIF_GENERIC = {b"mif1", b"msf1"}
_QUICKTIME_ATOMS = {b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"}


def _ftyp(head: bytes) -> Sniffed | None:
    """ISO base media files (MP4, MOV, 3GP, HEIF, AVIF) by their major and compatible brands."""
    if len(head) < 12 or head[4:8] != b"ftyp":
        return None
    size = int.from_bytes(head[0:4], "big")
    end = min(len(head), size if size >= 16 else 16)
    brands = {head[8:12]} | {head[i : i + 4] for i in range(16, end - 3, 4)}
    major = head[8:12]
    if major in _AVIF_BRANDS or (major in _HEIF_GENERIC and brands & _AVIF_BRANDS):
        return Sniffed(MediaType.IMAGE, "avif")
    if major in _HEIC_BRANDS or major in _HEIF_GENERIC:
        return Sniffed(MediaType.IMAGE, "heic")
    if major == b"qt  ":
        return Sniffed(MediaType.VIDEO, "mov")
    return Sniffed(MediaType.VIDEO, "mp4")


def sniff_bytes(head: bytes) -> Sniffed | None:
    """Identify media from the first bytes of a file; None when it is not a known format."""
    if head.startswith(b"\xff\xd8\xff"):
        return Sniffed(MediaType.IMAGE, "jpeg")
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return Sniffed(MediaType.IMAGE, "png")
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return Sniffed(MediaType.IMAGE, "gif")
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return Sniffed(MediaType.IMAGE, "webp")
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return Sniffed(MediaType.VIDEO, "avi")
    if head[:2] == b"BM" and len(head) >= 26:
        return Sniffed(MediaType.IMAGE, "bmp")
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return Sniffed(MediaType.IMAGE, "tiff")
    found = _ftyp(head)
    if found is not None:
        return found
    if head[4:8] in _QUICKTIME_ATOMS:
        return Sniffed(MediaType.VIDEO, "mov")
    if head[:4] == b"\x1a\x45\xdf\xa3":
        fmt = "webm" if b"webm" in head[:64] else "matroska"
        return Sniffed(MediaType.VIDEO, fmt)
    if head[:4] == b"OggS":
        return Sniffed(MediaType.VIDEO, "ogg")
    if head[:3] == b"FLV":
        return Sniffed(MediaType.VIDEO, "flv")
    if head[:4] == b"\x00\x00\x01\xba":
        return Sniffed(MediaType.VIDEO, "mpeg-ps")
    if head[:4] == b"\x00\x00\x01\xb3":
        return Sniffed(MediaType.VIDEO, "mpeg-video")
    if head[:8] == b"\x30\x26\xb2\x75\x8e\x66\xcf\x11":
        return Sniffed(MediaType.VIDEO, "asf")
    if len(head) >= 377 and head[0] == head[188] == head[376] == 0x47:
        return Sniffed(MediaType.VIDEO, "mpeg-ts")
    if len(head) >= 389 and head[4] == head[196] == head[388] == 0x47:
        return Sniffed(MediaType.VIDEO, "mpeg-ts")  # M2TS: 192-byte packets, 4-byte prefix
    return None


def sniff_file(path: str | Path) -> Sniffed | None:
    """Identify the media in the file at `path` from its first bytes."""
    with open_regular(path) as handle:
        return sniff_bytes(handle.read(SNIFF_BYTES))
