"""Fuzz the image path on bytes: sniff, safe decode and PDQ, both decode paths."""

from __future__ import annotations

from stopframe.errors import MediaError
from stopframe.media.limits import MediaLimits
from stopframe.signals.pdq_image import DecodePath, pdq_of_bytes

LIMITS = MediaLimits(max_file_bytes=1 << 20, max_pixels=1 << 20, max_side=4096)


def TestOneInput(data: bytes) -> None:
    """Decode and hash `data`; only a `MediaError` may come out."""
    path = DecodePath.REFERENCE if data[-1:] == b"\x00" else DecodePath.FAST
    try:
        decoded, result = pdq_of_bytes(data, "fuzz.img", path, LIMITS)
    except MediaError:
        return
    assert decoded.width >= 1 and decoded.height >= 1
    assert len(result.hash.hex) == 64 and 0 <= result.quality <= 100
