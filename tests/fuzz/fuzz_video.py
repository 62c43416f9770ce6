"""Fuzz the video path: the bytes are written to a file and hashed with vPDQ (PyAV)."""

from __future__ import annotations

import os
import tempfile

from stopframe.errors import MediaError
from stopframe.media.limits import VideoLimits
from stopframe.signals.vpdq import hash_video

LIMITS = VideoLimits(
    max_file_bytes=1 << 20, max_pixels=1 << 20, max_side=2048, max_frames=120, time_budget_s=2.0
)
_FOLDER = tempfile.mkdtemp(prefix="stopframe-fuzz-")
_PATH = os.path.join(_FOLDER, "input.video")


def TestOneInput(data: bytes) -> None:
    """Hash `data` as a video file; only a `MediaError` may come out."""
    with open(_PATH, "wb") as handle:
        handle.write(data)
    try:
        result = hash_video(_PATH, rate=0, limits=LIMITS)
    except MediaError:
        return
    assert result.frames or result.partial
