"""Corpus listing, duplicate removal and the npz hash cache (no pickles)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from stopframe.bench import cache
from stopframe.bench.corpus import (
    CorpusMissingError,
    find_corpus,
    near_duplicates,
    same_scene_drops,
)


def test_near_duplicates_keep_the_first_of_each_group() -> None:
    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, (4, 32), dtype=np.uint8)
    close = base[1].copy()
    close[:3] ^= 0xFF  # 24 bits away from row 1
    digests = np.vstack([base, close])
    assert near_duplicates(digests).tolist() == [4]
    assert near_duplicates(digests, distance=20).tolist() == []


def test_dihedral_variants_count_as_the_same_picture() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.integers(0, 256, (2, 32), dtype=np.uint8)
    groups = [np.vstack([a, b]), b[None, :]]  # a's mirror image hashes to b
    assert near_duplicates(np.vstack([a, b]), groups).tolist() == [1]


def test_same_scene_pair_drops_the_listed_file_only_when_both_exist(tmp_path: Path) -> None:
    paths = [
        tmp_path / "images_astro/nasa/helix-nebula.jpg",
        tmp_path / "images_astro/stellarium-dso/n7293.png",
    ]
    assert same_scene_drops(paths, tmp_path) == {1}
    assert same_scene_drops(paths[1:], tmp_path) == set()


def test_missing_corpus_says_how_to_fetch_it(tmp_path: Path) -> None:
    with pytest.raises(CorpusMissingError, match="get-test-corpus.sh"):
        find_corpus(tmp_path)


def test_cache_round_trip_and_torn_file(tmp_path: Path) -> None:
    arrays = {"a": np.arange(5), "b.digests": np.zeros((2, 32), np.uint8)}
    cache.save(tmp_path, "x", arrays)
    loaded = cache.load(tmp_path, "x")
    assert loaded is not None and np.array_equal(loaded["a"], arrays["a"])
    (tmp_path / "y.npz").write_bytes(b"not a zip")
    assert cache.load(tmp_path, "y") is None
    assert cache.load(tmp_path, "absent") is None


def test_cache_refuses_pickled_objects(tmp_path: Path) -> None:
    np.savez(tmp_path / "evil.npz", obj=np.array([{"x": 1}], dtype=object))
    assert cache.load(tmp_path, "evil") is None


def test_keys_change_with_any_part() -> None:
    assert cache.key(1, "a") == cache.key(1, "a") != cache.key(2, "a")
    assert len(cache.code_version()) == 16
