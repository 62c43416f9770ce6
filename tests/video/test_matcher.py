"""The vPDQ matcher reproduces upstream's brute-force rule and the reference match matrix."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from stopframe.matching import video as vpdq_matcher
from stopframe.matching.video import frame_codes, frame_pairs_within, match_one_to_many, match_vpdq
from stopframe.signals.vpdq import VpdqFrame, read_vpdq_file


@pytest.fixture(scope="module")
def matrix(vpdq_dir: Path) -> list[dict[str, str]]:
    with (vpdq_dir / "computed-vpdq-match-matrix.csv").open() as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def upstream(vpdq_dir: Path, matrix: list[dict[str, str]]) -> dict[str, list[VpdqFrame]]:
    names = {row["query"] for row in matrix}
    return {name: read_vpdq_file(vpdq_dir / "sample-hashes" / f"{name}.txt") for name in names}


def test_reproduces_reference_matrix_exactly(matrix, upstream) -> None:
    assert len(matrix) == 256
    for row in matrix:
        result = match_vpdq(upstream[row["query"]], upstream[row["compared"]])
        got = (
            result.query_frames,
            result.compared_frames,
            round(result.query_match_pct, 2),
            round(result.compared_match_pct, 2),
        )
        want = (
            int(row["query_unique_frames_q50"]),
            int(row["compared_unique_frames_q50"]),
            float(row["query_match_pct"]),
            float(row["compared_match_pct"]),
        )
        assert got == want, (row["query"], row["compared"])
        assert result.is_match == (want[2] >= 80.0)


def test_one_to_many_equals_pairwise(matrix, upstream) -> None:
    query = "chair-20-sd-bar"
    results = match_one_to_many(upstream[query], upstream)
    for name, frames in upstream.items():
        assert results[name] == match_vpdq(upstream[query], frames)


def _brute_force(query: np.ndarray, corpus: np.ndarray, distance: int) -> set[tuple[int, int]]:
    out = set()
    for i, a in enumerate(query):
        for j, b in enumerate(corpus):
            if sum(int(x ^ y).bit_count() for x, y in zip(a, b, strict=False)) <= distance:
                out.add((i, j))
    return out


@pytest.mark.parametrize("through_index", [False, True])
def test_frame_search_matches_brute_force(monkeypatch, through_index: bool) -> None:
    """Both search paths (vectorised scan, and the Hamming index used for large corpora) are
    exact; the index path covers radius 0-64 and hands larger radii to the scan."""
    if through_index:
        monkeypatch.setattr(vpdq_matcher, "_INDEX_MIN_FRAMES", 1)
    rng = np.random.default_rng(7)
    base = rng.integers(0, 2**63, (40, 4), dtype=np.uint64)
    flips = np.uint64(1) << rng.integers(0, 64, (60, 4)).astype(np.uint64)
    corpus = np.concatenate(
        [base, base[:20] ^ flips[:20], rng.integers(0, 2**63, (30, 4), dtype=np.uint64)]
    )
    query = np.concatenate(
        [base[::3] ^ flips[20:34], rng.integers(0, 2**63, (5, 4), dtype=np.uint64)]
    )
    for distance in (0, 4, 31, 128):
        pairs = {
            (int(q), int(c))
            for qs, cs in frame_pairs_within(query, corpus, distance)
            for q, c in zip(qs, cs, strict=False)
        }
        assert pairs == _brute_force(query, corpus, distance)


def test_dedupe_quality_and_thresholds() -> None:
    a = bytes(32)
    b = bytes([0xFF] * 32)
    frames = [VpdqFrame(0, 100, a, 0.0), VpdqFrame(1, 100, a, 0.033), VpdqFrame(2, 10, b, 0.067)]
    assert frame_codes(frames).shape == (1, 4)
    other = [VpdqFrame(0, 90, a, 0.0), VpdqFrame(1, 90, b, 0.033)]
    result = match_vpdq(frames, other)
    assert (result.query_match_pct, result.compared_match_pct, result.is_match) == (
        100.0,
        50.0,
        True,
    )
    assert not match_vpdq(frames, other, compared_threshold=60).is_match
    assert match_vpdq(frames, other, quality_min=0).query_frames == 2
    assert match_vpdq(frames, [other[0]], quality_min=0).query_match_pct == 50.0
    empty = match_vpdq([], other)
    assert (empty.query_frames, empty.query_match_pct, empty.is_match) == (0, 0.0, False)


def test_index_radius_bound_is_the_index_s() -> None:
    from stopframe.index import MAX_RADIUS

    assert vpdq_matcher._INDEX_MAX_RADIUS == MAX_RADIUS
