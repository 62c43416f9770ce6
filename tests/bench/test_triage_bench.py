"""The triage benchmark's parts: its metrics against hand-worked values, a tiny collection with
consistent ground truth, grouping of synthetic hashed pictures, and one whole run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from stopframe.bench.triage import (
    FILES_DIR,
    GroundTruth,
    TriageBenchConfig,
    bcubed,
    build_collection,
    count_error,
    merged_originals,
    run_benchmark,
    synthetic_pictures,
    time_grouping,
)
from stopframe.triage.model import IMAGE, VIDEO


def test_bcubed_matches_a_worked_example() -> None:
    truth = {"a": "x", "b": "x", "c": "y"}
    # a and b split apart, c alone: precision 1, recall (1/2 + 1/2 + 1) / 3
    split = bcubed(truth, {"a": "1", "b": "2", "c": "3"})
    assert split.precision == 1.0 and split.recall == pytest.approx(2 / 3)
    # everything merged: precision (2/3 + 2/3 + 1/3) / 3, recall 1
    merged = bcubed(truth, {"a": "1", "b": "1", "c": "1"})
    assert merged.precision == pytest.approx(5 / 9) and merged.recall == 1.0
    assert merged.f1 == pytest.approx(2 * (5 / 9) / (5 / 9 + 1))
    assert bcubed(truth, {"a": "g", "b": "g", "c": "h"}).f1 == 1.0
    # a file the method left out counts as alone
    assert bcubed(truth, {"a": "g", "c": "h"}).recall == pytest.approx(2 / 3)


def test_count_error_and_merged_originals() -> None:
    assert count_error(99, 100) == pytest.approx(0.01) and count_error(0, 0) == 0.0
    originals = {"o1": "x", "o2": "y", "o3": "z"}
    assert merged_originals(originals, {"o1": "g", "o2": "h", "o3": "k"}) == 0
    assert merged_originals(originals, {"o1": "g", "o2": "g", "o3": "g"}) == 2
    assert merged_originals(originals, {"o1": "g"}) == 0


def _corpus(root: Path, count: int) -> Path:
    rng = np.random.default_rng(7)
    (root / "images").mkdir(parents=True)
    for i in range(count):
        coarse = rng.integers(0, 256, (9, 12, 3), dtype=np.uint8)
        picture = Image.fromarray(coarse).resize((480, 360), Image.Resampling.BICUBIC)
        picture.save(root / "images" / f"p{i:02d}.png")
    return root


def test_a_tiny_collection_has_consistent_truth(tmp_path: Path) -> None:
    pytest.importorskip("av")
    corpus = _corpus(tmp_path / "corpus", 14)
    args = {"pictures": 4, "videos": 2, "seed": 3, "video_seconds": (3.0, 4.0)}
    args |= {"excerpt_seconds": (1.0, 2.0), "video_size": (160, 90)}
    truth = build_collection(corpus, tmp_path / "out", **args)  # type: ignore[arg-type]
    assert truth.distinct_pictures == 4 and truth.distinct_recordings == 2
    assert truth.compilations == 1
    on_disk = {
        p.relative_to(tmp_path / "out" / FILES_DIR).as_posix()
        for p in (tmp_path / "out" / FILES_DIR).rglob("*")
        if p.is_file()
    }
    assert on_disk == {f.path for f in truth.files}
    assert GroundTruth.load(tmp_path / "out") == truth
    assert {f.cluster for f in truth.files if f.media == VIDEO} >= {"v-001", "v-002", "comp-1"}
    assert all(f.cluster.startswith("p-") for f in truth.files if f.media == IMAGE and f.cluster)
    again = build_collection(corpus, tmp_path / "again", **args)  # type: ignore[arg-type]
    assert [f.path for f in again.files] == [f.path for f in truth.files]


def test_synthetic_pictures_group_back_into_their_clusters() -> None:
    files, truth = synthetic_pictures(400, seed=2)
    assert len(files) == 400 and len(set(truth.values())) == 240
    timed = time_grouping(400, seed=2)
    assert timed["groups"] == timed["true_distinct"]
    assert float(str(timed["f1"])) == 1.0


def test_a_whole_run_scores_every_method(tmp_path: Path) -> None:
    pytest.importorskip("av")
    corpus = _corpus(tmp_path / "corpus", 10)
    config = TriageBenchConfig(
        corpus, tmp_path / "out", pictures=5, videos=0, seed=1, jobs=1, imagededup=False
    )
    lines: list[str] = []
    results = run_benchmark(config, lines.append)
    saved = json.loads((tmp_path / "out" / "triage.json").read_text())
    assert saved["stopframe"]["pictures"]["true"] == 5
    assert saved["stopframe"]["pictures"]["merged_originals"] == 0
    assert saved["stopframe_cached"]["note"].startswith(str(saved["stopframe"]["files"]))
    assert saved["plain_pdq"]["method"] == "plain PDQ (31 bits + SHA-256)"
    assert results["imagededup"] == "imagededup not asked for"
    assert any(line.startswith("goals:") for line in lines)
    assert "triage.md" in {p.name for p in (tmp_path / "out").iterdir()}
