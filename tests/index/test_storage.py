"""The on-disk format: round trip, memory mapping, corrupt or truncated files refused on open."""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from stopframe import errors
from stopframe.errors import StopframeError
from stopframe.index import HammingIndex, IndexFileError
from stopframe.index.storage import _ENTRY, _HEAD, _SECTIONS, MAGIC, read_segment
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
        name, offset, length, _, _ = _ENTRY.unpack_from(raw, _HEAD.size + i * _ENTRY.size)
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


@pytest.mark.parametrize("section", ["ids", "codes", "widths", "bitpos", "offsets", "positions"])
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


def test_crafted_file_with_valid_checksums_but_wild_positions_is_refused(saved, tmp_path) -> None:
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
    _ENTRY.pack_into(raw, entry_at, name, off, ln, zlib.crc32(raw[offset : offset + length]), res)
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


# -- each step of read_segment refuses its own faults, naming the file ---------------------------

Edit = Callable[[bytearray, dict[str, tuple[int, int]]], None]


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """A small saved index of each kind."""
    codes = realistic_codes(2000, seed=8)
    out = {}
    for kind in ("compact", "tabled"):
        path = tmp_path_factory.mktemp(kind) / "list.sfidx"
        HammingIndex.build(np.arange(2000) * 5, codes, tables=kind == "tabled").save(path)
        out[kind] = path
    return out


def forge(src: Path, dst: Path, edit: Edit, reseal: bool = True) -> Path:
    """A copy of `src` changed by `edit`; with `reseal`, every checksum made valid again."""
    raw = bytearray(src.read_bytes())
    edit(raw, sections(src))
    header_bytes = _HEAD.unpack_from(raw, 0)[2] if len(raw) >= _HEAD.size else 0
    if reseal and _HEAD.size < header_bytes <= len(raw):
        for i in range(len(_SECTIONS)):
            at = _HEAD.size + i * _ENTRY.size
            name, offset, length, _, reserved = _ENTRY.unpack_from(raw, at)
            crc = zlib.crc32(raw[offset : offset + length])
            _ENTRY.pack_into(raw, at, name, offset, length, crc, reserved)
        struct.pack_into("<I", raw, header_bytes - 4, zlib.crc32(raw[: header_bytes - 4]))
    dst.write_bytes(bytes(raw))
    return dst


def set_head(field: int, value: int) -> Edit:
    """Overwrite a header field at its offset: 8 version, 16 n_rows, 24 n_chunks, 28 n_sections."""
    fmt = "<Q" if field == 16 else "<I"
    return lambda raw, secs: struct.pack_into(fmt, raw, field, value)


def set_entry(section: str, field: int, value: int | bytes) -> Edit:
    """Overwrite a section table entry's name (0), offset (16) or length (24)."""
    at = _HEAD.size + _SECTIONS.index(section) * _ENTRY.size + field
    fmt = "<16s" if field == 0 else "<Q"
    return lambda raw, secs: struct.pack_into(fmt, raw, at, value)


def in_section(section: str, put: Callable[[np.ndarray], None]) -> Edit:
    """Change a section's bytes through a writable numpy view of them."""

    def edit(raw: bytearray, secs: dict[str, tuple[int, int]]) -> None:
        offset, length = secs[section]
        put(np.frombuffer(raw, np.uint8, length, offset))

    return edit


def swap_first_ids(ids: np.ndarray) -> None:
    words = ids.view("<u8")
    words[[0, 1]] = words[[1, 0]]


def repeat_first_bit(bitpos: np.ndarray) -> None:
    bitpos.view("<u2")[1] = bitpos.view("<u2")[0]


def offsets_start_at_one(offsets: np.ndarray) -> None:
    offsets.view("<u4")[0] = 1


def flip_middle_bit(arr: np.ndarray) -> None:
    arr[arr.shape[0] // 2] ^= 1


def widen_first_chunk(widths: np.ndarray) -> None:
    widths[0] += 1


def truncate(size: int) -> Edit:
    def edit(raw: bytearray, secs: dict[str, tuple[int, int]]) -> None:
        del raw[size:]

    return edit


def foreign_magic(raw: bytearray, secs: dict[str, tuple[int, int]]) -> None:
    raw[:4] = b"PK\x03\x04"


def widths_over_the_ids(raw: bytearray, secs: dict[str, tuple[int, int]]) -> None:
    """Point the compact file's empty widths section at 8 bytes that exist (the first id)."""
    set_entry("widths", 16, secs["ids"][0])(raw, secs)
    set_entry("widths", 24, 8)(raw, secs)


BOTH = ("compact", "tabled")
# (kinds, edit, reseal checksums, what the error says)
CASES: dict[str, tuple[tuple[str, ...], Edit, bool, str]] = {
    "shorter than the header": (BOTH, truncate(10), False, "truncated: 10 bytes"),
    "bad magic": (BOTH, foreign_magic, True, "not a stopframe index file"),
    "other version": (BOTH, set_head(8, 99), True, "format version 99 is not supported"),
    "section count": (BOTH, set_head(28, 5), True, "malformed header"),
    "header cut short": (BOTH, truncate(_HEAD.size + 10), False, "truncated header"),
    "header damaged": (BOTH, set_entry("ids", 24, 7), False, "header checksum mismatch"),
    "section renamed": (BOTH, set_entry("ids", 0, b"idz"), True, "unexpected section 'idz'"),
    "section misaligned": (
        BOTH,
        set_entry("codes", 16, 8),
        True,
        "section codes lies outside the file",
    ),
    "section past the end": (
        BOTH,
        set_entry("codes", 24, 1 << 40),
        True,
        "section codes lies outside the file",
    ),
    "section damaged": (
        BOTH,
        in_section("codes", flip_middle_bit),
        False,
        "section codes checksum mismatch",
    ),
    "row count": (BOTH, set_head(16, 2001), True, "section ids has 16000 bytes, expected 16008"),
    "ids out of order": (
        BOTH,
        in_section("ids", swap_first_ids),
        True,
        "ids are not strictly increasing",
    ),
    "tables in a compact file": (
        ("compact",),
        widths_over_the_ids,
        True,
        "section widths of a compact index is not empty",
    ),
    "chunk count": (BOTH, set_head(24, 3), True, "invalid chunk widths"),
    "chunk widths": (
        ("tabled",),
        in_section("widths", widen_first_chunk),
        True,
        "invalid chunk widths",
    ),
    "chunk bits": (
        ("tabled",),
        in_section("bitpos", repeat_first_bit),
        True,
        "invalid chunk bit positions",
    ),
    "bucket offsets": (
        ("tabled",),
        in_section("offsets", offsets_start_at_one),
        True,
        "bucket offsets of chunk 0 are inconsistent",
    ),
}


@pytest.mark.parametrize(
    ("kind", "case"),
    [(kind, case) for case, (kinds, *_) in CASES.items() for kind in kinds],
)
def test_each_fault_is_refused_naming_the_file(files, tmp_path, kind: str, case: str) -> None:
    _, edit, reseal, says = CASES[case]
    bad = forge(files[kind], tmp_path / "forged.sfidx", edit, reseal)
    with pytest.raises(IndexFileError) as caught:
        read_segment(bad)
    assert str(caught.value).startswith(f"{bad}: ") and says in str(caught.value)
    assert isinstance(caught.value, StopframeError) and isinstance(caught.value, ValueError)


def test_an_untouched_forgery_still_opens(files, tmp_path) -> None:
    """The resealing in these tests changes nothing by itself: each refusal is the edit's."""
    for kind, path in files.items():
        same = forge(path, tmp_path / f"{kind}.sfidx", lambda raw, secs: None)
        assert same.read_bytes() == path.read_bytes()
        assert len(read_segment(same)) == 2000


def test_missing_files_and_folders_are_refused_naming_them(tmp_path) -> None:
    missing = tmp_path / "missing.sfidx"
    with pytest.raises(IndexFileError, match=f"^{re.escape(str(missing))}: cannot read"):
        read_segment(missing)
    with pytest.raises(IndexFileError, match=f"^{re.escape(str(tmp_path))}: cannot map"):
        read_segment(tmp_path)


def test_the_error_class_is_the_one_in_stopframe_errors() -> None:
    assert IndexFileError is errors.IndexFileError
