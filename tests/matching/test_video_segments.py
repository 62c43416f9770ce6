"""Segment matching of small generated clips (pans across smooth random pictures): excerpts,
compilations, speed and frame-rate changes, mirrors and crops, found with their time ranges."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter

from stopframe.matching.video_geometry import (
    FrameVariants,
    query_video,
    register_video,
    variants_of_frames,
)
from stopframe.matching.video_segments import SegmentMatch, match_segments
from stopframe.signals.vpdq import VpdqFrame

av = pytest.importorskip("av")

SIZE = (320, 240)
PAN_S = 20.0  # seconds a registered pan lasts
TOLERANCE_S = 2.0
REGISTER_RATE = 0.25  # registered frames twice as dense as the query's: see docs/video.md

Frame = Callable[[float], Image.Image]


def strip(seed: int) -> Image.Image:
    """A long smooth random picture (blurred noise) to pan across: benign and never repeating."""
    rng = np.random.default_rng(seed)
    noise = rng.integers(0, 256, (60, 240, 3), dtype=np.uint8)
    wide = Image.fromarray(noise).resize((960, 240), Image.Resampling.BICUBIC)
    return wide.filter(ImageFilter.GaussianBlur(3))


def pan(seed: int) -> Frame:
    """The frame a `PAN_S`-second pan across `strip(seed)` shows at time t."""
    picture = strip(seed)

    def frame(t: float) -> Image.Image:
        left = (picture.width - 320) * min(max(t / PAN_S, 0.0), 1.0)
        return picture.crop((round(left), 0, round(left) + 320, 240)).resize(SIZE)

    return frame


def write(path: Path, frames: list[Image.Image], fps: int) -> Path:
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps, options={"preset": "ultrafast"})
        stream.width, stream.height, stream.pix_fmt = *SIZE, "yuv420p"
        for image in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(np.asarray(image), "rgb24")))
        container.mux(stream.encode(None))
    return path


def registered_pan(tmp_path: Path, seed: int, fps: int = 10) -> FrameVariants:
    source = pan(seed)
    frames = [source(k / fps) for k in range(round(PAN_S * fps))]
    return register_video(write(tmp_path / f"reg{seed}.mp4", frames, fps), rate=REGISTER_RATE)


def mirror(image: Image.Image) -> Image.Image:
    return image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)


def crop(image: Image.Image) -> Image.Image:
    w, h = image.size
    return image.crop((round(0.06 * w), round(0.02 * h), round(0.98 * w), round(0.95 * h))).resize(
        SIZE
    )


def compilation(
    tmp_path: Path,
    excerpt: Frame,
    start: float,
    length: float,
    *,
    speed: float = 1.0,
    fps: int = 10,
    lead_s: float = 6.0,
    edit: Callable[[Image.Image], Image.Image] = lambda image: image,
) -> FrameVariants:
    """`lead_s` seconds of unregistered footage, then `length` registered seconds from `start`
    played at `speed` with `edit` applied, then unregistered footage again."""
    filler = pan(99)
    shown = length / speed
    frames = []
    for k in range(round((lead_s + shown + 5.0) * fps)):
        tau = k / fps
        if lead_s <= tau < lead_s + shown:
            frames.append(edit(excerpt(start + (tau - lead_s) * speed)))
        else:
            frames.append(filler(tau))
    return query_video(write(tmp_path / "query.mp4", frames, fps), rate=0.5)


def only_segment(found: list[SegmentMatch], recording: str) -> SegmentMatch:
    assert [seg.recording for seg in found] == [recording]
    return found[0]


@pytest.mark.parametrize(
    ("speed", "fps", "edit"),
    [
        (1.0, 10, None),
        (1.1, 15, None),
        (0.9, 8, None),
        (1.0, 10, mirror),
        (1.1, 12, crop),
    ],
)
def test_excerpt_found_and_placed(
    tmp_path: Path,
    speed: float,
    fps: int,
    edit: Callable[[Image.Image], Image.Image] | None,
) -> None:
    registered = {"a": registered_pan(tmp_path, 1), "b": registered_pan(tmp_path, 2)}
    start, length, lead = 4.0, 11.0, 6.0
    query = compilation(
        tmp_path,
        pan(1),
        start,
        length,
        speed=speed,
        fps=fps,
        lead_s=lead,
        edit=edit or (lambda i: i),
    )
    seg = only_segment(match_segments(query, registered), "a")
    assert abs(seg.query_start_s - lead) <= TOLERANCE_S
    assert abs(seg.query_end_s - (lead + length / speed)) <= TOLERANCE_S
    assert abs(seg.registered_start_s - start) <= TOLERANCE_S
    assert abs(seg.registered_end_s - (start + length)) <= TOLERANCE_S
    assert 0.5 <= seg.score <= 1.0


def test_unregistered_footage_finds_nothing(tmp_path: Path) -> None:
    registered = {"a": registered_pan(tmp_path, 1)}
    query = compilation(tmp_path, pan(3), 2.0, 10.0)
    assert match_segments(query, registered) == []


def test_without_geometry_variants_a_mirror_is_missed(tmp_path: Path) -> None:
    registered = {"a": registered_pan(tmp_path, 1).only(["full"])}
    query = compilation(tmp_path, pan(1), 4.0, 11.0, edit=mirror)
    assert match_segments(query.only(["full"]), registered) == []
    assert [seg.recording for seg in match_segments(query, registered)] == ["a"]


def test_plain_vpdq_registrations_are_accepted() -> None:
    rng = np.random.default_rng(5)
    digests = [rng.integers(0, 256, 32, dtype=np.uint8).tobytes() for _ in range(12)]
    frames = [VpdqFrame(k, 100, d, float(k)) for k, d in enumerate(digests)]
    excerpt = [VpdqFrame(k, 100, d, float(k) + 0.5) for k, d in enumerate(digests[3:9])]
    found = match_segments(variants_of_frames(excerpt), {"r": variants_of_frames(frames)})
    seg = only_segment(found, "r")
    assert (seg.query_start_s, seg.registered_start_s, seg.frames) == (0.5, 3.0, 6)


def test_empty_inputs() -> None:
    empty = variants_of_frames([])
    frames = variants_of_frames([VpdqFrame(0, 100, bytes(32), 0.0)])
    assert match_segments(empty, {"r": frames}) == []
    assert match_segments(frames, {}) == []
    assert match_segments(frames, {"r": empty}) == []
