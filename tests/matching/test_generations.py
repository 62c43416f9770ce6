"""The index set: one writer publishing generations, readers switching, against brute force."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from stopframe.errors import IndexFileError
from stopframe.lists.documents import ADD, WITHDRAW, Change, ListEntry
from stopframe.matching import generations
from stopframe.matching.index_set import IndexSet
from stopframe.matching.index_writer import IndexWriter
from stopframe.matching.rows import split_rows

RNG = np.random.default_rng(7)


def _hex(code: np.ndarray) -> str:
    return bytes(code).hex()


def _entries(n: int, start: int = 1) -> list[ListEntry]:
    codes = RNG.integers(0, 256, (n, 32), dtype=np.uint8)
    return [ListEntry(start + i, "bank", "pdq", _hex(c), 90) for i, c in enumerate(codes)]


def _adds(entries: list[ListEntry]) -> list[Change]:
    return [Change(i, ADD, e) for i, e in enumerate(entries, start=1)]


def _found(index_set: IndexSet, value: str) -> set[int]:
    code = np.frombuffer(bytes.fromhex(value), np.uint8).reshape(1, 32)
    hits = index_set.search("pdq", code, 0)
    return set(split_rows(hits.ids)[1].tolist())


def test_published_changes_reach_a_reader_without_a_rebuild(tmp_path: Path) -> None:
    writer = IndexWriter(tmp_path, rebase_rows=1000)
    writer.source("reg", "http://registry")
    first = _entries(50)
    writer.apply("reg", _adds(first))
    writer.publish()
    reader = IndexSet(tmp_path)
    assert reader.refresh()
    assert _found(reader, first[3].value) == {first[3].id}
    base_files = sorted((tmp_path / "bases").iterdir())

    more = _entries(5, start=100)
    writer.apply("reg", _adds(more) + [Change(99, WITHDRAW, first[3])])
    writer.publish()
    assert sorted((tmp_path / "bases").iterdir()) == base_files  # a delta, not a new base
    assert _found(reader, more[0].value) == set()  # old generation until refreshed
    assert reader.refresh() and not reader.refresh()
    assert _found(reader, more[0].value) == {100}
    assert _found(reader, first[3].value) == set()
    assert reader.size("pdq") == 54


def test_large_delta_gets_a_new_base_and_search_equals_brute_force(tmp_path: Path) -> None:
    writer = IndexWriter(tmp_path, rebase_rows=40)
    writer.source("reg", "r")
    entries = _entries(120)
    for lo in range(0, 120, 30):
        writer.apply("reg", _adds(entries[lo : lo + 30]))
        writer.publish()
    gone = entries[::7]
    writer.apply("reg", [Change(0, WITHDRAW, e) for e in gone])
    writer.publish()
    reader = IndexSet(tmp_path)
    reader.refresh()
    live = [e for e in entries if e not in gone]
    codes = np.stack([np.frombuffer(bytes.fromhex(e.value), np.uint8) for e in entries])
    queries = codes[:20] ^ RNG.integers(0, 2, (20, 32), dtype=np.uint8)  # a few bits flipped
    hits = reader.search("pdq", queries, 40)
    live_codes = np.stack([np.frombuffer(bytes.fromhex(e.value), np.uint8) for e in live])
    for q in range(20):
        dist = np.unpackbits(live_codes ^ queries[q], axis=1).sum(axis=1)
        expected = {live[i].id for i in np.flatnonzero(dist <= 40)}
        got = set(split_rows(hits[q].ids)[1].tolist())
        assert got == expected


def test_a_restarted_writer_resumes_from_the_published_generation(tmp_path: Path) -> None:
    writer = IndexWriter(tmp_path)
    writer.source("reg", "r")
    entries = _entries(10)
    writer.apply("reg", _adds(entries))
    writer.set_position("reg", 10, "k1", {"bank": {"name": "bank", "kinds": ["pdq"]}})
    writer.publish()
    again = IndexWriter(tmp_path)
    assert again.sources["reg"].sequence == 10
    again.apply("reg", [Change(11, WITHDRAW, entries[0])])
    again.apply("reg", [Change(11, WITHDRAW, entries[0])])  # idempotent
    again.publish()
    reader = IndexSet(tmp_path)
    reader.refresh()
    assert reader.size("pdq") == 9


def test_a_full_disk_keeps_the_old_generation_serving(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = IndexWriter(tmp_path)
    writer.source("reg", "r")
    entries = _entries(10)
    writer.apply("reg", _adds(entries[:5]))
    writer.publish()
    reader = IndexSet(tmp_path)
    reader.refresh()
    writer.apply("reg", _adds(entries[5:]))

    def full(*_args: object, **_kw: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(generations, "_write_durable", full)
    with pytest.raises(IndexFileError, match="not published"):
        writer.publish()
    assert not reader.refresh()
    assert reader.size("pdq") == 5
    assert not list(tmp_path.glob("*.tmp"))
    monkeypatch.undo()
    writer.publish()  # the changes were kept and go out with the next publish
    assert reader.refresh() and reader.size("pdq") == 10


def test_a_damaged_generation_is_refused_and_the_old_one_kept(tmp_path: Path) -> None:
    writer = IndexWriter(tmp_path)
    writer.source("reg", "r")
    writer.apply("reg", _adds(_entries(5)))
    writer.publish()
    reader = IndexSet(tmp_path)
    reader.refresh()
    writer.apply("reg", _adds(_entries(3, start=50)))
    manifest = writer.publish()
    delta = tmp_path / manifest.kinds["pdq"].delta  # type: ignore[operator]
    data = bytearray(delta.read_bytes())
    data[-40] ^= 0xFF
    delta.write_bytes(bytes(data))
    assert not reader.refresh()
    assert reader.last_error and "pdq.delta" in reader.last_error
    assert reader.size("pdq") == 5


def test_old_generations_and_unused_bases_are_collected(tmp_path: Path) -> None:
    writer = IndexWriter(tmp_path, rebase_rows=5)
    writer.source("reg", "r")
    for start in range(0, 80, 10):
        writer.apply("reg", _adds(_entries(10, start=start + 1)))
        writer.publish()
    gens = [p for p in tmp_path.glob("g*") if p.is_dir()]
    assert len(gens) == generations.KEEP_GENERATIONS
    used = {generations.read_manifest(g / generations.MANIFEST).kinds["pdq"].base for g in gens}
    assert {f"bases/{p.name}" for p in (tmp_path / "bases").iterdir()} == used
    assert os.path.exists(tmp_path / generations.CURRENT)


def test_rebuilding_a_source_replaces_only_its_rows(tmp_path: Path) -> None:
    writer = IndexWriter(tmp_path)
    writer.source("a", "file:a")
    writer.source("b", "file:b")
    a_old, b_rows = _entries(20), _entries(20, start=1)
    writer.apply("a", _adds(a_old))
    writer.apply("b", _adds(b_rows))
    writer.publish()
    a_new = _entries(30, start=5)
    assert writer.rebuild_source("a", iter(a_new)) == 30
    writer.publish()
    reader = IndexSet(tmp_path)
    reader.refresh()
    assert reader.size("pdq") == 50
    assert _found(reader, a_old[0].value) == set()
    assert _found(reader, a_new[0].value) == {5}
    number_b = writer.sources["b"].number
    code = np.frombuffer(bytes.fromhex(b_rows[3].value), np.uint8).reshape(1, 32)
    hit = reader.search("pdq", code, 0)
    assert split_rows(hit.ids)[0].tolist() == [number_b]


def test_shards_split_a_list_and_together_hold_all_of_it(tmp_path: Path) -> None:
    entries = _entries(40)
    found: set[int] = set()
    for k in range(3):
        writer = IndexWriter(tmp_path / f"shard{k}", shard=(k, 3))
        writer.source("reg", "r")
        writer.apply("reg", _adds(entries[:20]))
        writer.rebuild_source("reg", iter(entries))
        writer.publish()
        reader = IndexSet(tmp_path / f"shard{k}")
        reader.refresh()
        held = {e.id for e in entries if _found(reader, e.value)}
        assert held == {e.id for e in entries if e.id % 3 == k}
        found |= held
    assert found == {e.id for e in entries}
    with pytest.raises(ValueError, match="shard"):
        IndexWriter(tmp_path / "bad", shard=(3, 3))
