"""A mirrored copy of a recording, and a mirrored excerpt of it, group with the recording; an
unrelated recording stays apart, and a compilation shows where a mirrored part came from."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from tests.triage.conftest import scene, write_frames, write_recording

from stopframe.triage import TriageOptions, TriageResult, run_triage
from stopframe.triage.model import COMPILATION, EXCERPT, NEAR_DUPLICATE, REPRESENTATIVE

A = list(range(300, 312))
B = list(range(400, 412))
FPS = 5


def write_mirrored(path: Path, seconds: Sequence[int], plain: Sequence[int] = ()) -> Path:
    """`write_recording` of the scenes `seconds` mirrored left-right, then of `plain` as is."""
    pictures = [scene(s)[:, ::-1] for s in seconds] + [scene(s) for s in plain]
    return write_frames(path, [p for p in pictures for _ in range(FPS)], fps=FPS, crf=None)


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> TriageResult:
    root = tmp_path_factory.mktemp("mirrors")
    write_recording(root / "rec_a.mp4", A)
    write_mirrored(root / "rec_a_mirrored.mp4", A)
    write_mirrored(root / "rec_a_mirrored_excerpt.mp4", A[3:8])
    write_recording(root / "rec_b.mp4", B)
    write_mirrored(root / "compilation.mp4", A[1:7], B[4:10])
    cache = tmp_path_factory.mktemp("mirrors-cache", numbered=False) / "cache.sqlite3"
    return run_triage([root], TriageOptions(cache=cache))


def relations(result: TriageResult) -> dict[str, tuple[str | None, str | None]]:
    return {Path(f.path).name: (f.group_id, f.relation) for f in result.files}


def test_a_mirrored_copy_and_excerpt_join_the_recording(result: TriageResult) -> None:
    found = relations(result)
    group = found["rec_a.mp4"][0]
    assert found["rec_a.mp4"] == (group, REPRESENTATIVE)
    assert found["rec_a_mirrored.mp4"] == (group, NEAR_DUPLICATE)
    assert found["rec_a_mirrored_excerpt.mp4"] == (group, EXCERPT)
    assert found["rec_b.mp4"][0] != group
    assert len(result.groups) == 3


def test_a_compilation_shows_its_mirrored_part(result: TriageResult) -> None:
    found = relations(result)
    compilation = result.group(str(found["compilation.mp4"][0]))
    assert compilation.kind == COMPILATION
    parts = {o.other: o.segments for o in compilation.contains}
    assert set(parts) == {found["rec_a.mp4"][0], found["rec_b.mp4"][0]}
    [mirrored] = parts[str(found["rec_a.mp4"][0])]
    assert abs(mirrored.start_s) <= 1.0 and abs(mirrored.end_s - 6.0) <= 1.0
    assert abs(mirrored.other_start_s - 1.0) <= 1.0


def test_a_second_run_reads_the_mirrors_from_the_cache(
    result: TriageResult, tmp_path_factory: pytest.TempPathFactory
) -> None:
    root = Path(result.files[0].path).parent
    cache = tmp_path_factory.getbasetemp() / "mirrors-cache" / "cache.sqlite3"
    again = run_triage([root], TriageOptions(cache=cache))
    assert again.cached == len(again.files)
    assert relations(again) == relations(result)
    assert [f.vpdq_mirror for f in again.files] == [f.vpdq_mirror for f in result.files]
