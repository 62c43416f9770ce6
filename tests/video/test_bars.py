"""Letterbox/pillarbox removal: bar and no-bar versions of a scene match, other scenes do not."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from stopframe.matching.video import match_vpdq
from stopframe.media.borders import Box, detect_content_box, frame_bars
from stopframe.signals.vpdq import VpdqFrame, detect_bars, hash_video, read_vpdq_file


def _scene(seed: int, height: int, width: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (height, width), dtype=np.uint8)


def test_letterbox_and_pillarbox_in_any_flat_colour() -> None:
    planes = []
    for i in range(10):
        frame = np.full((120, 200), 40, dtype=np.uint8)  # dark grey bars
        frame[15:105, 30:170] = _scene(i, 90, 140)
        planes.append(frame)
    assert detect_content_box(planes) == Box(top=15, left=30, bottom=105, right=170)


def test_box_holds_in_most_frames_not_all() -> None:
    planes = []
    for i in range(10):
        frame = np.zeros((100, 100), dtype=np.uint8)
        frame[10:90] = _scene(i, 80, 100)
        if i < 3:  # content that is flat near the top edge in a few frames (dark sky)
            frame[10:30] = 0
        planes.append(frame)
    assert detect_content_box(planes) == Box(top=10, left=0, bottom=90, right=100)


def test_no_bars_and_flat_frames() -> None:
    assert detect_content_box([_scene(i, 60, 80) for i in range(5)]) is None
    assert frame_bars(np.zeros((50, 50), dtype=np.uint8)) is None
    assert detect_content_box([np.zeros((50, 50), dtype=np.uint8)] * 4) is None
    assert detect_content_box([]) is None


@pytest.mark.video
def test_sample_videos_boxes(vpdq_dir: Path) -> None:
    pytest.importorskip("av")
    videos = vpdq_dir / "sample-videos"
    pillarbox = Box(top=0, left=32, bottom=720, right=448)
    assert detect_bars(videos / "pattern-sd-grey-bar.mp4") == pillarbox
    assert detect_bars(videos / "chair-19-sd-bar.mp4") == pillarbox
    padded = Box(top=0, left=236, bottom=1080, right=844)
    assert detect_bars(videos / "test-padded-dimensions.mp4") == padded
    assert detect_bars(videos / "pattern-hd-no-bar.mp4") is None
    assert detect_bars(videos / "doorknob-hd-no-bar.mp4") is None


# Scenes of the sample videos. Chair originals without bars exist here only as upstream hash files
# (which have no bars to remove), so the chair bar/no-bar pairs compare against those.
SCENE = {
    "chair-19-sd-bar": "chair",
    "chair-20-sd-bar": "chair",
    "pattern-hd-no-bar": "pattern",
    "pattern-sd-grey-bar": "pattern",
    "pattern-sd-with-small-logo-bar": "pattern",
    "pattern-sd-with-large-logo-bar": "pattern",
    "doorknob-hd-no-bar": "doorknob",
    "test-padded-dimensions": "padded",
    "upstream:chair-orig-22-hd-no-bar": "chair",
    "upstream:chair-orig-22-fhd-no-bar": "chair",
}
BAR_NO_BAR = [
    ("pattern-sd-grey-bar", "pattern-hd-no-bar"),
    ("pattern-sd-with-small-logo-bar", "pattern-hd-no-bar"),
    ("chair-19-sd-bar", "upstream:chair-orig-22-hd-no-bar"),
    ("chair-19-sd-bar", "upstream:chair-orig-22-fhd-no-bar"),
    ("chair-20-sd-bar", "upstream:chair-orig-22-hd-no-bar"),
    ("chair-20-sd-bar", "upstream:chair-orig-22-fhd-no-bar"),
]


@pytest.fixture(scope="module")
def bars_removed(vpdq_dir: Path) -> dict[str, list[VpdqFrame]]:
    pytest.importorskip("av")
    out = {}
    for name in SCENE:
        if name.startswith("upstream:"):
            out[name] = read_vpdq_file(vpdq_dir / "sample-hashes" / f"{name[9:]}.txt")
        else:
            out[name] = hash_video(vpdq_dir / "sample-videos" / f"{name}.mp4", rate=0).frames
    return out


@pytest.mark.slow
@pytest.mark.video
@pytest.mark.parametrize(("bar", "no_bar"), BAR_NO_BAR)
def test_bar_and_no_bar_match_both_ways(bars_removed, bar: str, no_bar: str) -> None:
    forward = match_vpdq(bars_removed[bar], bars_removed[no_bar])
    backward = match_vpdq(bars_removed[no_bar], bars_removed[bar])
    assert forward.query_match_pct >= 80 and forward.is_match
    assert backward.query_match_pct >= 80 and backward.is_match


@pytest.mark.slow
@pytest.mark.video
def test_different_scenes_never_reach_threshold(bars_removed) -> None:
    for a, b in itertools.permutations(SCENE, 2):
        if SCENE[a] != SCENE[b]:
            result = match_vpdq(bars_removed[a], bars_removed[b])
            assert result.query_match_pct < 20 and not result.is_match, (a, b)


@pytest.mark.slow
@pytest.mark.video
def test_large_logo_is_an_overlay_not_a_bar(bars_removed) -> None:
    """A large logo over the picture breaks frame matches with or without bars (upstream ~10 %)."""
    result = match_vpdq(
        bars_removed["pattern-sd-with-large-logo-bar"], bars_removed["pattern-hd-no-bar"]
    )
    assert result.query_match_pct < 80


def _write(path: Path, frames: list[np.ndarray], fps: int = 5) -> Path:
    """An H.264 clip showing each RGB frame for one second."""
    av = pytest.importorskip("av")
    height, width = frames[0].shape[:2]
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for rgb in frames:
            for _ in range(fps):
                container.mux(stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
        container.mux(stream.encode(None))
    return path


def _smooth(seed: int) -> np.ndarray:
    from PIL import Image

    coarse = np.random.default_rng(seed).integers(0, 256, (12, 16, 3), dtype=np.uint8)
    return np.asarray(Image.fromarray(coarse).resize((256, 192), Image.Resampling.BICUBIC))


def test_bars_per_frame_find_parts_boxed_differently(tmp_path: Path) -> None:
    """A compilation joins parts of several shapes: here half its seconds are pillarboxed and
    half stretched, so no bar holds over the clip. Cutting each frame's own bars finds the boxed
    seconds again; clip-wide bar removal alone does not."""
    from PIL import Image

    scenes = [_smooth(seed) for seed in range(8)]
    original = _write(tmp_path / "original.mp4", scenes)
    parts = [
        np.pad(s, ((0, 0), (64, 64), (0, 0)))
        if k % 2 == 0
        else np.asarray(Image.fromarray(s).resize((384, 192)))
        for k, s in enumerate(scenes)
    ]
    compilation = _write(tmp_path / "compilation.mp4", parts)

    def found(bars_per_frame: bool) -> int:
        ours = hash_video(original, bars_per_frame=bars_per_frame).frames
        theirs = hash_video(compilation, bars_per_frame=bars_per_frame).frames
        return sum(
            min(
                bin(int.from_bytes(a.digest, "big") ^ int.from_bytes(b.digest, "big")).count("1")
                for a in ours
            )
            <= 31
            for b in theirs
        )

    assert found(True) == 8
    assert found(False) == 4
