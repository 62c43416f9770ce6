"""Hostile video files built from code: broken boxes and headers, huge declared counts and
durations, truncations and bare container signatures. Needs PyAV to make the valid clips."""

from __future__ import annotations

import struct
import tempfile
from pathlib import Path

import numpy as np
from tests.hostile.images import Builders, truncations


def clip(suffix: str, codec: str, frames: int = 30, faststart: bool = False) -> bytes:
    """A short benign 48x32 clip of drifting stripes, encoded with PyAV."""
    import av

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"clip{suffix}"
        options = {"movflags": "faststart"} if faststart else {}
        with av.open(str(path), mode="w", options=options) as container:
            stream = container.add_stream(codec, rate=30)
            stream.width, stream.height, stream.pix_fmt = 48, 32, "yuv420p"
            for index in range(frames):
                x = np.arange(48, dtype=np.float32)
                row = (127 + 120 * np.sin(x / 5.0 + index * 0.2)).astype(np.uint8)
                rgb = np.repeat(np.tile(row, (32, 1))[:, :, None], 3, axis=2)
                for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
        return path.read_bytes()


def patch_box(data: bytes, box: bytes, offset: int, value: bytes) -> bytes:
    """`data` with `value` written `offset` bytes after the type of the first `box` box."""
    at = data.index(box) + 4 + offset
    return data[:at] + value + data[at + len(value) :]


def ebml_header_only() -> bytes:
    """A Matroska EBML header (doctype webm) and nothing after it."""
    doctype = b"\x42\x82\x84webm"
    return b"\x1a\x45\xdf\xa3" + bytes([0x80 | len(doctype)]) + doctype


def ebml_huge_segment(webm: bytes) -> bytes:
    """A WebM whose Segment element declares a size of about 2^56 bytes."""
    at = webm.index(b"\x18\x53\x80\x67") + 4
    return webm[:at] + b"\x01\xff\xff\xff\xff\xff\xff\xfe" + webm[at + 8 :]


def video_builders() -> Builders:
    """Every hostile video file by name (the extension is the claimed type)."""
    mp4 = clip(".mp4", "libx264", faststart=True)
    webm = clip(".webm", "libvpx")
    mkv = clip(".mkv", "mpeg4")
    max32 = struct.pack(">I", 0xFFFFFFFF)
    builders: Builders = {
        "valid-clip.mp4": lambda: mp4,
        "valid-clip.webm": lambda: webm,
        "valid-clip.mkv": lambda: mkv,
        "broken-moov-renamed.mp4": lambda: mp4.replace(b"moov", b"mooX", 1),
        "broken-moov-size-huge.mp4": lambda: patch_box(mp4, b"moov", -8, max32),
        "broken-moov-size-zero.mp4": lambda: patch_box(mp4, b"moov", -8, b"\x00\x00\x00\x00"),
        "unknown-codec-fourcc.mp4": lambda: patch_box(mp4, b"stsd", 12, b"avc0"),
        "huge-stsz-count.mp4": lambda: patch_box(mp4, b"stsz", 8, struct.pack(">I", 0x7FFFFFFF)),
        "huge-stts-count.mp4": lambda: patch_box(mp4, b"stts", 8, struct.pack(">I", 0x7FFFFFFF)),
        "huge-mvhd-duration.mp4": lambda: patch_box(mp4, b"mvhd", 12, b"\x00\x00\x00\x01" + max32),
        "huge-tkhd-size.mp4": lambda: patch_box(mp4, b"tkhd", 76, max32 + max32),
        "ftyp-only.mp4": lambda: mp4[: mp4.index(b"moov") - 4],
        "mdat-only.mov": lambda: b"\x00\x00\x00\x10mdat" + b"\x00" * 8,
        "header-only.webm": ebml_header_only,
        "huge-segment-size.webm": lambda: ebml_huge_segment(webm),
        "garbage-after-ebml.mkv": lambda: mkv[:40] + bytes(range(256)) * 8,
        "mpeg-ts-sync-only.ts": lambda: (b"\x47" + b"\xff" * 187) * 8,
        "avi-header-only.avi": lambda: b"RIFF\x04\x00\x00\x00AVI LIST" + b"\x00" * 16,
        "flv-header-only.flv": lambda: b"FLV\x01\x01\x00\x00\x00\x09\x00\x00\x00\x00",
        "ogg-page-only.ogg": lambda: b"OggS\x00\x02" + b"\x00" * 22,
        "zero-length.mp4": lambda: b"",
    }
    for name, data in (("mp4", mp4), ("webm", webm), ("mkv", mkv)):
        builders.update(truncations(name, data))
    return builders
