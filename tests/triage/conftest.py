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
    frames = [scene(second, *size) for second in seconds for _ in range(fps)]
    return write_frames(path, frames, fps=fps, crf=None)


def write_picture(
    path: Path, seed: int, size: tuple[int, int] = (640, 480), **save: object
) -> Path:
    """A benign generated picture (a smooth random field with a few shapes)."""
    rgb = scene(seed, *size)
    Image.fromarray(rgb).save(path, **save)  # type: ignore[arg-type]
    return path


PAN_FPS = 25
PAN_FRAMES = 150  # 6 s
PAN_SIZE = (192, 144)


def pan(seed: int, step: float, cells: tuple[int, int] = (24, 64)) -> list[np.ndarray]:
    """PAN_FRAMES frames of a window moving `step` pixels a frame across a large generated scene
    of `cells` random colours (rows, columns; the frame sees a quarter of the columns and half
    the rows): every frame differs, as in camera footage."""
    width, height = PAN_SIZE
    rng = np.random.default_rng(seed)
    colours = rng.integers(0, 256, (*cells, 3), dtype=np.uint8)
    big = (width * 4, height * 2)
    field = np.asarray(Image.fromarray(colours).resize(big, Image.Resampling.BICUBIC))
    span = field.shape[1] - width
    return [
        field[40 : 40 + height, int(i * step) % span : int(i * step) % span + width]
        for i in range(PAN_FRAMES)
    ]


def write_frames(
    path: Path, frames: Sequence[np.ndarray], *, fps: int = PAN_FPS, crf: int | None = 26
) -> Path:
    """An H.264 clip of `frames` (RGB, all one size, even sides) at `fps` (x264's own rate
    control when `crf` is None)."""
    av = pytest.importorskip("av")
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.height, stream.width = frames[0].shape[:2]
        options = {"preset": "ultrafast"} | ({} if crf is None else {"crf": str(crf)})
        stream.pix_fmt, stream.options = "yuv420p", options
        for picture in frames:
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(picture), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path
