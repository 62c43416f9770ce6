"""TMK lists in index generations: level-1 rows in the segment files (base, delta, withdrawals)
agree with the in-memory index, and the matcher scores candidates at level 2 by each bank's rule."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from stopframe.errors import IndexFileError
from stopframe.lists.documents import ADD, WITHDRAW, Change, ListEntry
from stopframe.matching.generations import BaseCache, KindFiles, open_tmk
from stopframe.matching.index_set import IndexSet
from stopframe.matching.index_writer import IndexWriter
from stopframe.matching.match import Matcher
from stopframe.matching.policy import Policy
from stopframe.matching.rows import entry_codes, split_rows
from stopframe.matching.tmk import ROWS_PER_ENTRY, TmkIndex, TmkLevel1
from stopframe.signals import TMK, IndexKind, Signal
from stopframe.signals.tmk import TmkAccumulator, TmkFeatures, level2_score, tmk_text


class Entries:
    def __init__(self, entries: list[ListEntry]) -> None:
        self.by_id = {e.id: e for e in entries}

    def entries_by_id(self, source: str, ids: Sequence[int]) -> dict[int, ListEntry]:
        return {i: self.by_id[i] for i in ids if i in self.by_id}


def _walk(seed: int, frames: int) -> np.ndarray:
    """Slowly changing frame features about an offset of their own."""
    rng = np.random.default_rng(seed)
    offset = rng.normal(0, 20, 256)
    return np.cumsum(rng.normal(size=(frames, 256)), axis=0) + offset


def _features(seed: int, shift: int = 0, altered: float = 0.0) -> TmkFeatures:
    """Features of 300 frames of a made-up video starting `shift` frames late, with a share
    `altered` of every frame's feature from another video (as an overlay would change it)."""
    walk = _walk(seed, 300 + shift)[shift:] + altered * _walk(seed + 1000, 300)
    accumulator = TmkAccumulator()
    for row in walk:
        accumulator.add(row)
    return accumulator.finish()


@pytest.fixture(scope="module")
def values() -> dict[int, str]:
    """Canonical tmk values of eight unrelated made-up videos, by entry id."""
    return {n: tmk_text(_features(n).to_bytes()) for n in range(1, 9)}


def _entries(values: dict[int, str], bank: str = "videos") -> list[ListEntry]:
    return [ListEntry(n, bank, "tmk", value, None) for n, value in values.items()]


def _adds(entries: list[ListEntry]) -> list[Change]:
    return [Change(n, ADD, e) for n, e in enumerate(entries, start=1)]


def _found(index_set: IndexSet, value: str) -> list[int]:
    hits = index_set.tmk_candidates("tmk", TMK.features(value))
    firsts = np.array([first for first, _ in hits], np.uint64)
    return split_rows(firsts)[1].tolist()


def test_tmk_is_its_own_index_kind_and_an_entry_is_32_rows(values: dict[int, str]) -> None:
    assert TMK.index_kind is IndexKind.TMK
    codes = entry_codes("tmk", values[1])
    assert codes.shape == (ROWS_PER_ENTRY, 32)
    vector = codes.reshape(-1).view("<f4")
    assert float(np.linalg.norm(vector)) == pytest.approx(1.0, abs=1e-5)


def test_generations_keep_tmk_entries_through_deltas_withdrawals_and_rebases(
    tmp_path: Path, values: dict[int, str]
) -> None:
    entries = _entries(values)
    writer = IndexWriter(tmp_path, rebase_rows=3 * ROWS_PER_ENTRY)
    writer.source("reg", "r")
    writer.apply("reg", _adds(entries[:2]))
    writer.publish()
    reader = IndexSet(tmp_path)
    assert reader.refresh()
    assert reader.size("tmk") == 2
    assert _found(reader, values[1]) == [1]

    writer.apply("reg", _adds(entries[2:4]))  # stays a delta
    writer.publish()
    assert reader.refresh()
    assert _found(reader, values[3]) == [3] and reader.size("tmk") == 4

    writer.apply("reg", _adds(entries[4:]) + [Change(9, WITHDRAW, entries[0])])  # a new base
    manifest = writer.publish()
    assert manifest.kinds["tmk"].rows == 7 * ROWS_PER_ENTRY
    assert reader.refresh()
    assert _found(reader, values[1]) == []
    assert all(_found(reader, values[n]) == [n] for n in range(2, 9))

    writer.apply("reg", [Change(10, WITHDRAW, entries[4])])  # withdrawn from the base
    writer.publish()
    assert reader.refresh() and reader.size("tmk") == 6
    assert _found(reader, values[5]) == []

    resumed = IndexWriter(tmp_path)  # a restarted writer reads the rows back from the files
    resumed.apply("reg", _adds(entries[:1]))
    resumed.publish()
    assert reader.refresh() and _found(reader, values[1]) == [1]


def test_level_one_of_the_files_equals_the_in_memory_index(
    tmp_path: Path, values: dict[int, str]
) -> None:
    writer = IndexWriter(tmp_path)
    writer.source("reg", "r")
    writer.rebuild_source("reg", _entries(values))
    writer.publish()
    reader = IndexSet(tmp_path)
    reader.refresh()
    memory = TmkIndex.of_values(values.items())
    for n in values:
        query = _features(n, shift=15)  # the same video starting a second later
        expected = memory.level1(query)
        got = dict(reader.tmk_candidates("tmk", query, level1_min=-1.0))
        firsts = np.array(sorted(got), np.uint64)
        ids = split_rows(firsts)[1].tolist()
        scores = [got[int(f)] for f in firsts]
        assert scores == pytest.approx([expected[i - 1] for i in ids], abs=1e-5)


def test_rows_that_are_not_whole_entries_are_refused(tmp_path: Path) -> None:
    ids = np.arange(ROWS_PER_ENTRY - 1, dtype=np.uint64)
    with pytest.raises(ValueError, match="whole entries"):
        TmkLevel1([(ids, np.zeros((ids.shape[0], 32), np.uint8))], np.empty(0, np.uint64))
    writer = IndexWriter(tmp_path)
    writer.source("reg", "r")
    writer.apply("reg", _adds([ListEntry(1, "b", "pdq", "ab" * 32, 90)]))
    files = writer.publish().kinds["pdq"]
    with pytest.raises(IndexFileError, match="whole entries"):
        open_tmk(tmp_path, KindFiles(files.base, files.delta, None, 0, 1), BaseCache())


def _matcher(tmp_path: Path, entries: list[ListEntry], threshold: int) -> Matcher:
    writer = IndexWriter(tmp_path)
    writer.source("reg", "r")
    writer.apply("reg", _adds(entries))
    banks = {b: {"name": b, "kinds": ["tmk"], "distance_threshold": threshold, "verified": True,
                 "action": "block"} for b in {e.bank for e in entries}}  # fmt: skip
    writer.set_position("reg", len(entries), "k", banks)
    writer.publish()
    index_set = IndexSet(tmp_path)
    index_set.refresh()
    return Matcher(index_set, Entries(entries), Policy())


def test_the_matcher_reports_the_level_two_distance_within_the_banks_threshold(
    tmp_path: Path, values: dict[int, str]
) -> None:
    entries = _entries(values)
    matcher = _matcher(tmp_path, entries, threshold=30)
    query = _features(3, shift=15, altered=0.5)
    expected = round(100 * (1 - level2_score(query, TMK.features(values[3]))))
    (matches, unrelated) = matcher.match(
        [
            Signal("tmk", tmk_text(query.to_bytes())),
            Signal("tmk", tmk_text(_features(99).to_bytes())),
        ]
    )
    assert [(m.entry_id, m.kind, m.distance) for m in matches] == [(3, "tmk", expected)]
    assert 0 < expected <= 30
    assert unrelated == []

    strict = _matcher(tmp_path / "strict", entries, threshold=max(expected - 1, 0))
    assert strict.match([Signal("tmk", tmk_text(query.to_bytes()))]) == [[]]
    withdrawn = Matcher(matcher.index_set, Entries(entries[:2] + entries[3:]), Policy())
    assert withdrawn.match([Signal("tmk", tmk_text(query.to_bytes()))]) == [[]]
