"""Fixtures for the video tests: reference vPDQ vectors and small clips generated with PyAV."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(scope="session")
def vpdq_dir(vectors_dir: Path) -> Path:
    return vectors_dir / "vpdq"


def moving_pattern(index: int, width: int, height: int) -> np.ndarray:
    """A smooth, structured RGB frame that drifts with `index` (benign synthetic content)."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    phase = index * 0.15
    red = 127 + 120 * np.sin(x / 7.0 + phase)
    green = 127 + 120 * np.cos(y / 5.0 - phase)
    blue = 127 + 120 * np.sin((x + y) / 11.0 + 2 * phase)
    return np.clip(np.stack([red, green, blue], axis=2), 0, 255).astype(np.uint8)


def write_clip(
    path: Path,
    frames: int = 60,
    width: int = 96,
    height: int = 64,
    fps: int = 30,
    codec: str = "libx264",
    faststart: bool = False,
) -> Path:
    """Encode a short synthetic clip with PyAV."""
    av = pytest.importorskip("av")
    options = {"movflags": "faststart"} if faststart else {}
    with av.open(str(path), mode="w", options=options) as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        if codec == "libx264":
            stream.options = {"preset": "ultrafast", "g": "15"}
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(moving_pattern(i, width, height), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


@pytest.fixture()
def clip(tmp_path: Path) -> Path:
    """A 2-second 96x64 H.264 MP4 at 30 fps (moov at the front, so truncation keeps the index)."""
    return write_clip(tmp_path / "clip.mp4", faststart=True)


@pytest.fixture()
def clip_index_at_end(tmp_path: Path) -> Path:
    """The same kind of clip with the MP4 index (moov) after the media data, the muxer default."""
    return write_clip(tmp_path / "index-at-end.mp4")
