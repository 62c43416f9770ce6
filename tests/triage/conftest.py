"""Collections made on the fly for the triage tests: benign generated pictures and recordings."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from PIL import Image


def scene(seed: int, width: int = 192, height: int = 144) -> np.ndarray:
    """A smooth random colour field (benign synthetic content), different for every seed."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (12, 16, 3), dtype=np.uint8)
    return np.asarray(
        Image.fromarray(small).resize((width, height), Image.Resampling.BICUBIC), np.uint8
    )


def write_recording(
    path: Path, seconds: Sequence[int], *, fps: int = 5, size: tuple[int, int] = (192, 144)
) -> Path:
    """An H.264 clip showing scene `seconds[k]` during its k-th second: a recording is the
    scenes of one seed range, an excerpt or compilation picks seconds out of others."""
    av = pytest.importorskip("av")
    width, height = size
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "ultrafast"}
        for second in seconds:
            picture = scene(second, width, height)
            for _ in range(fps):
                frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
                for packet in stream.encode(frame):
                    container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def write_picture(
    path: Path, seed: int, size: tuple[int, int] = (640, 480), **save: object
) -> Path:
    """A benign generated picture (a smooth random field with a few shapes)."""
    rgb = scene(seed, *size)
    Image.fromarray(rgb).save(path, **save)  # type: ignore[arg-type]
    return path
