"""The on-disk format: round trip, memory mapping, and corrupt or truncated files refused on open."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

from stopframe.index import HammingIndex, IndexFileError
from stopframe.index.storage import _ENTRY, _HEAD, MAGIC
from stopframe.index.synthetic import realistic_codes, realistic_queries


@pytest.fixture(scope="module", params=[False, True], ids=["compact", "tabled"])
def saved(request, tmp_path_factory) -> tuple[Path, HammingIndex]:
    codes = realistic_codes(5000, seed=3)
    index = HammingIndex(delta_limit=1000, tables=request.param)
    index.add(np.arange(5000, dtype=np.uint64) * 3 + 11, codes)
    index.remove([11, 14, 17])
    path = tmp_path_factory.mktemp("store") / "list.sfidx"
    index.save(path)
    return path, index


def sections(path: Path) -> dict[str, tuple[int, int]]:
    raw = path.read_bytes()
    n_sections = _HEAD.unpack_from(raw, 0)[5]
    out = {}
    for i in range(n_sections):
        name, offset, length, _, _ = _ENTRY.unpack_from(
            raw, _HEAD.size + i * _ENTRY.size
        )
        out[name.rstrip(b"\0").decode()] = (offset, length)
    return out


def test_round_trip_is_memory_mapped_and_answers_the_same(saved) -> None:
    path, index = saved
    opened = HammingIndex.open(path)
    assert len(opened) == len(index) == 4997 and opened.tables == index.tables
    seg = opened._snap.segments[0]
    assert isinstance(seg.codes.base, np.memmap) or isinstance(seg.codes, np.memmap)
    queries, _ = realistic_queries(index.export()[1], 50, seed=4)
    a, b = index.range_search_batch(queries), opened.range_search_batch(queries)
    assert np.array_equal(a.start, b.start) and np.array_equal(a.ids, b.ids)
    assert np.array_equal(a.distances, b.distances)
    assert 11 not in opened and 20 in opened


def test_opened_index_takes_writes_and_saves_over_itself(saved, tmp_path) -> None:
    path, _ = saved
    copy = tmp_path / "copy.sfidx"
    copy.write_bytes(path.read_bytes())
    index = HammingIndex.open(copy)
    code = realistic_codes(1, seed=99)
    index.add([2**64 - 1], code)
    index.remove([20])
    index.save(copy)  # atomic replace while the old file is still mapped
    again = HammingIndex.open(copy)
    assert len(again) == 4997 and 2**64 - 1 in again and 20 not in again
    assert list(again.range_search(code[0], 0)) == [(2**64 - 1, 0)]


def test_empty_index_round_trip(tmp_path) -> None:
    HammingIndex().save(tmp_path / "empty.sfidx")
    index = HammingIndex.open(tmp_path / "empty.sfidx")
    assert len(index) == 0 and len(index.range_search(bytes(32))) == 0


@pytest.mark.parametrize(
    "section", ["ids", "codes", "widths", "bitpos", "offsets", "positions"]
)
def test_a_flipped_byte_in_any_section_is_detected(saved, tmp_path, section) -> None:
    path, index = saved
    offset, length = sections(path)[section]
    if not index.tables and section not in ("ids", "codes"):
        assert length == 0
        pytest.skip("a compact file has no table sections")
    raw = bytearray(path.read_bytes())
    raw[offset + length // 2] ^= 0x40
    bad = tmp_path / "bad.sfidx"
    bad.write_bytes(bytes(raw))
    with pytest.raises(IndexFileError, match=f"section {section} checksum mismatch"):
        HammingIndex.open(bad)


@pytest.mark.parametrize("cut", [0, 10, 100, 1000, -1])
def test_truncated_files_are_detected(saved, tmp_path, cut) -> None:
    path, _ = saved
    raw = path.read_bytes()
    bad = tmp_path / "short.sfidx"
    bad.write_bytes(raw[:cut] if cut >= 0 else raw[: len(raw) // 2])
    with pytest.raises(IndexFileError, match="truncated|outside the file"):
        HammingIndex.open(bad)


def test_header_damage_wrong_magic_and_version_are_detected(saved, tmp_path) -> None:
    path, _ = saved
    raw = bytearray(path.read_bytes())
    bad = tmp_path / "bad.sfidx"
    damaged = raw.copy()
    damaged[_HEAD.size + 20] ^= 1  # inside the section table
    bad.write_bytes(bytes(damaged))
    with pytest.raises(IndexFileError, match="header checksum"):
        HammingIndex.open(bad)
    bad.write_bytes(b"PK\x03\x04" + bytes(raw[4:]))
    with pytest.raises(IndexFileError, match="not a stopframe index"):
        HammingIndex.open(bad)
    newer = raw.copy()
    struct.pack_into("<I", newer, 8, 99)
    bad.write_bytes(bytes(newer))
    with pytest.raises(IndexFileError, match="version 99"):
        HammingIndex.open(bad)
    with pytest.raises(IndexFileError, match="cannot read"):
        HammingIndex.open(tmp_path / "missing.sfidx")
    with pytest.raises(IndexFileError, match="cannot map"):
        HammingIndex.open(tmp_path)  # a folder, not a file


def test_crafted_file_with_valid_checksums_but_wild_positions_is_refused(
    saved, tmp_path
) -> None:
    """The kernels do not bounds-check; the structural checks must stop a crafted file."""
    path, index = saved
    if not index.tables:
        pytest.skip("a compact file has no positions")
    raw = bytearray(path.read_bytes())
    secs = sections(path)
    offset, length = secs["positions"]
    struct.pack_into("<I", raw, offset, 10**9)
    # recompute the section and header checksums as an attacker would
    index = list(secs).index("positions")
    entry_at = _HEAD.size + index * _ENTRY.size
    name, off, ln, _, res = _ENTRY.unpack_from(raw, entry_at)
    _ENTRY.pack_into(
        raw, entry_at, name, off, ln, zlib.crc32(raw[offset : offset + length]), res
    )
    header_bytes = _HEAD.unpack_from(raw, 0)[2]
    struct.pack_into("<I", raw, header_bytes - 4, zlib.crc32(raw[: header_bytes - 4]))
    bad = tmp_path / "crafted.sfidx"
    bad.write_bytes(bytes(raw))
    with pytest.raises(IndexFileError, match="positions point past"):
        HammingIndex.open(bad)
    with pytest.raises(IndexFileError, match="positions point past"):
        HammingIndex.open(bad, verify=False)


def test_magic_is_stable() -> None:
    assert MAGIC == b"SFHIDX\r\n"
