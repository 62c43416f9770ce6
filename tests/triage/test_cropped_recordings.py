"""With `video_crops`, a copy of a recording cropped 5-10 % and a cropped excerpt of it group with
the recording, and a compilation shows where its cropped part came from; without it they stay
apart. An unrelated recording stays apart either way."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from tests.triage.conftest import pan, write_frames

from stopframe.triage import TriageOptions, TriageResult, run_triage
from stopframe.triage.model import COMPILATION, EXCERPT, NEAR_DUPLICATE, REPRESENTATIVE


def cropped(frames: Sequence[np.ndarray], left: float, top: float, right: float, bottom: float):  # type: ignore[no-untyped-def]
    """The frames with those shares cut from each side (even sides kept for H.264)."""
    height, width = frames[0].shape[:2]
    rows = slice(round(height * top), height - round(height * bottom))
    cols = slice(round(width * left), width - round(width * right))
    out = [frame[rows, cols] for frame in frames]
    return [frame[: frame.shape[0] // 2 * 2, : frame.shape[1] // 2 * 2] for frame in out]


@pytest.fixture(scope="module")
def collection(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("crops")
    original, other = pan(11, 3.0, (16, 40)), pan(12, 3.0, (16, 40))
    write_frames(root / "recording.mp4", original)
    write_frames(root / "cropped.mp4", cropped(original, 0.06, 0.03, 0.02, 0.05))
    write_frames(root / "cropped_excerpt.mp4", cropped(original[40:100], 0.0, 0.08, 0.07, 0.0))
    write_frames(root / "other.mp4", other)
    part = cropped(original[20:70], 0.04, 0.04, 0.04, 0.04)  # scaled back to the frame size
    size = (original[0].shape[1], original[0].shape[0])
    part = [np.asarray(Image.fromarray(f).resize(size, Image.Resampling.BILINEAR)) for f in part]
    write_frames(root / "compilation.mp4", [*part, *other[0:50]])
    return root


def triage(root: Path, cache: Path, video_crops: bool) -> TriageResult:
    return run_triage([root], TriageOptions(cache=cache, video_crops=video_crops))


@pytest.fixture(scope="module")
def result(collection: Path, tmp_path_factory: pytest.TempPathFactory) -> TriageResult:
    return triage(
        collection, tmp_path_factory.mktemp("crops-cache", numbered=False) / "cache.sqlite3", True
    )


def relations(result: TriageResult) -> dict[str, tuple[str | None, str | None]]:
    return {Path(f.path).name: (f.group_id, f.relation) for f in result.files}


def test_cropped_copies_stay_apart_without_video_crops(collection: Path, tmp_path: Path) -> None:
    found = relations(triage(collection, tmp_path / "cache.sqlite3", False))
    assert found["cropped.mp4"][0] != found["recording.mp4"][0]
    assert found["cropped_excerpt.mp4"][0] != found["recording.mp4"][0]


def test_a_cropped_copy_and_excerpt_join_the_recording(result: TriageResult) -> None:
    found = relations(result)
    group = found["recording.mp4"][0]
    assert found["recording.mp4"] == (group, REPRESENTATIVE)
    assert found["cropped.mp4"] == (group, NEAR_DUPLICATE)
    assert found["cropped_excerpt.mp4"] == (group, EXCERPT)
    assert found["other.mp4"][0] != group
    assert len(result.groups) == 3


def test_a_compilation_shows_its_cropped_part(result: TriageResult) -> None:
    found = relations(result)
    compilation = result.group(str(found["compilation.mp4"][0]))
    assert compilation.kind == COMPILATION
    parts = {o.other: o.segments for o in compilation.contains}
    assert set(parts) == {found["recording.mp4"][0], found["other.mp4"][0]}
    [part] = parts[str(found["recording.mp4"][0])]
    assert abs(part.start_s) <= 0.5 and abs(part.end_s - 2.0) <= 0.5
    assert abs(part.other_start_s - 0.8) <= 0.5


def test_a_second_run_reads_the_crops_from_the_cache(
    result: TriageResult, collection: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    cache = tmp_path_factory.getbasetemp() / "crops-cache" / "cache.sqlite3"
    again = triage(collection, cache, True)
    assert again.cached == len(again.files)
    assert relations(again) == relations(result)
    assert [f.vpdq_crops for f in again.files] == [f.vpdq_crops for f in result.files]
    assert all(f.vpdq_crops for f in again.files)
