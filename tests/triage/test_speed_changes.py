"""Copies played faster or slower (frames dropped or repeated, as re-timing tools do) group with
their recording, as re-encodes and trims do; an unrelated recording stays apart."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from tests.triage.conftest import pan, write_frames

from stopframe.triage import TriageOptions, TriageResult, run_triage
from stopframe.triage.model import NEAR_DUPLICATE


def retimed(frames: Sequence[np.ndarray], speed: float) -> list[np.ndarray]:
    """The frames played at `speed` at the same frame rate: some dropped (faster) or repeated
    (slower)."""
    return [frames[min(len(frames) - 1, int(i * speed))] for i in range(int(len(frames) / speed))]


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> TriageResult:
    root = tmp_path_factory.mktemp("speeds")
    original = pan(7, 3.0)
    write_frames(root / "recording.mp4", original)
    for speed in (0.8, 0.9, 1.1, 1.25):
        write_frames(root / f"speed-{speed}.mp4", retimed(original, speed))
    write_frames(root / "other.mp4", pan(8, 3.0))
    cache = tmp_path_factory.mktemp("cache") / "cache.sqlite3"
    return run_triage([root], TriageOptions(cache=cache))


def test_faster_and_slower_copies_join_the_recording(result: TriageResult) -> None:
    found = {Path(f.path).name: (f.group_id, f.relation) for f in result.files}
    group = found["recording.mp4"][0]
    for speed in (0.8, 0.9, 1.1, 1.25):
        assert found[f"speed-{speed}.mp4"][0] == group, speed
    members = [f.relation for f in result.files if f.group_id == group]
    assert members.count(NEAR_DUPLICATE) == 4
    assert found["other.mp4"][0] != group
    assert len(result.groups) == 2
