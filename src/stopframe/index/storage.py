"""The on-disk index format: one segment, memory-mapped, versioned, checksummed, no pickle.

Layout (all integers little-endian):
  header   magic b"SFHIDX\\r\\n" | u32 version | u32 header_bytes | u64 n_rows | u32 n_chunks
           (0: a compact segment, whose four table sections are empty) |
           u32 n_sections, then n_sections entries of (16-byte name, u64 offset, u64 length,
           u32 crc32, u32 reserved), then u32 crc32 of everything before it.
  sections ids (n u64, increasing) | codes (n x 32 u8) | widths (m u8) | bitpos (m x w u16) |
           offsets (u32 CSR offsets, chunk after chunk) | positions (m x n u32); each 64-byte
           aligned.
Opening checks the header checksum, section bounds, shapes and the invariants the kernels rely
on (offsets monotone and ending at n, positions < n), and every section's CRC-32 unless told not
to, one step at a time. Any failure raises IndexFileError naming the file and the fault.
"""

from __future__ import annotations

import os
import struct
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

import numpy as np
from numpy.typing import NDArray

from stopframe.errors import IndexFileError
from stopframe.index.codes import CODE_BITS, CODE_BYTES
from stopframe.index.layout import ChunkLayout
from stopframe.index.segment import CompactSegment, Segment, TabledSegment

MAGIC = b"SFHIDX\r\n"
VERSION = 2  # 2: multi-index tables optional (n_chunks = 0)
_HEAD = struct.Struct("<8sIIQII")
_ENTRY = struct.Struct("<16sQQII")
_ALIGN = 64
_SECTIONS = ("ids", "codes", "widths", "bitpos", "offsets", "positions")
_TABLE_SECTIONS = _SECTIONS[2:]
_ID_BYTES = 8
_MAX_CHUNK_WIDTH = 24
_CRC_BLOCK = 1 << 26

Bytes: TypeAlias = NDArray[np.uint8]
Sections: TypeAlias = dict[str, Bytes]


def _crc(buf: NDArray[Any]) -> int:
    view = np.ascontiguousarray(buf).reshape(-1).view(np.uint8).data
    crc = 0
    for lo in range(0, len(view), _CRC_BLOCK):
        crc = zlib.crc32(view[lo : lo + _CRC_BLOCK], crc)
    return crc


def _fail(path: Path, why: str) -> IndexFileError:
    return IndexFileError(f"{path}: {why}; rebuild the index or restore it from a good copy")


def _check_host(path: Path) -> None:
    if sys.byteorder != "little":
        raise IndexFileError(f"{path}: index files are little-endian; this host is big-endian")


def write_segment(path: Path, seg: Segment) -> None:
    """Write `seg` to `path` atomically: a temporary file in the same folder, fsync, rename."""
    _check_host(path)
    arrays: dict[str, NDArray[Any]] = {
        "ids": np.ascontiguousarray(seg.ids, dtype="<u8"),
        "codes": np.ascontiguousarray(seg.codes, dtype=np.uint8),
        **dict.fromkeys(_TABLE_SECTIONS, np.empty(0, np.uint8)),
    }
    n_chunks = 0
    if isinstance(seg, TabledSegment):
        n_chunks = seg.layout.n_chunks
        arrays["widths"] = np.ascontiguousarray(seg.layout.widths, np.uint8)
        arrays["bitpos"] = np.ascontiguousarray(seg.layout.bitpos, "<u2")
        arrays["offsets"] = np.ascontiguousarray(seg.offsets, "<u4")
        arrays["positions"] = np.ascontiguousarray(seg.positions, "<u4")
    header_bytes = _HEAD.size + _ENTRY.size * len(arrays) + 4
    pos = -(-header_bytes // _ALIGN) * _ALIGN
    entries, placed = [], []
    for name in _SECTIONS:
        arr = arrays[name]
        entries.append(_ENTRY.pack(name.encode(), pos, arr.nbytes, _crc(arr), 0))
        placed.append((pos, arr))
        pos = -(-(pos + arr.nbytes) // _ALIGN) * _ALIGN
    head = _HEAD.pack(MAGIC, VERSION, header_bytes, len(seg), n_chunks, len(arrays)) + b"".join(
        entries
    )
    head += struct.pack("<I", zlib.crc32(head))
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            f.write(head)
            for offset, arr in placed:
                f.write(b"\0" * (offset - f.tell()))
                f.write(arr.reshape(-1).view(np.uint8).data)
            f.write(b"\0" * (pos - f.tell()))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def read_segment(path: Path, verify: bool = True) -> Segment:
    """Memory-map a segment written by write_segment, refusing anything inconsistent."""
    _check_host(path)
    data = _map_file(path)
    head = _read_header(path, data)
    sections = _map_sections(path, data, head, verify)
    if head.n_chunks == 0:
        return _compact_segment(path, sections, head.n_rows)
    return _tabled_segment(path, sections, head.n_rows, head.n_chunks)


@dataclass(frozen=True)
class _Header:
    """The fixed header fields past the magic and version."""

    header_bytes: int
    n_rows: int
    n_chunks: int
    n_sections: int


def _map_file(path: Path) -> Bytes:
    """The whole file mapped read-only as bytes; refused when shorter than the fixed header."""
    try:
        size = path.stat().st_size
    except OSError as e:
        raise IndexFileError(f"{path}: cannot read index file ({e.strerror})") from e
    if size < _HEAD.size:
        raise _fail(path, f"truncated: {size} bytes is smaller than the header")
    try:
        return np.memmap(path, dtype=np.uint8, mode="r")
    except (OSError, ValueError) as e:
        raise IndexFileError(f"{path}: cannot map index file ({e})") from e


def _read_header(path: Path, data: Bytes) -> _Header:
    """The header, after checking its magic, version, size and checksum."""
    magic, version, header_bytes, n, m, n_sections = _HEAD.unpack(data[: _HEAD.size].tobytes())
    if magic != MAGIC:
        raise _fail(path, "not a stopframe index file (bad magic)")
    if version != VERSION:
        raise _fail(
            path, f"format version {version} is not supported (this build reads version {VERSION})"
        )
    if n_sections != len(_SECTIONS) or header_bytes != _HEAD.size + _ENTRY.size * n_sections + 4:
        raise _fail(path, "malformed header")
    if header_bytes > data.shape[0]:
        raise _fail(path, "truncated header")
    raw = data[:header_bytes].tobytes()
    (stored_crc,) = struct.unpack_from("<I", raw, header_bytes - 4)
    if zlib.crc32(raw[:-4]) != stored_crc:
        raise _fail(path, "header checksum mismatch (corrupted)")
    return _Header(header_bytes, n, m, n_sections)


def _map_sections(path: Path, data: Bytes, head: _Header, verify: bool) -> Sections:
    """Each section's bytes, checked for name, alignment, bounds and (with `verify`) CRC-32."""
    raw = data[: head.header_bytes].tobytes()
    sections: Sections = {}
    for i in range(head.n_sections):
        raw_name, offset, length, crc, _ = _ENTRY.unpack_from(raw, _HEAD.size + i * _ENTRY.size)
        name = raw_name.rstrip(b"\0").decode("ascii", "replace")
        if name != _SECTIONS[i]:
            raise _fail(path, f"unexpected section {name!r}")
        if offset % _ALIGN or offset + length > data.shape[0]:
            raise _fail(path, f"section {name} lies outside the file (truncated?)")
        sec = data[offset : offset + length]
        if verify and _crc(sec) != crc:
            raise _fail(path, f"section {name} checksum mismatch (corrupted)")
        sections[name] = sec
    return sections


def _check_sizes(path: Path, sections: Sections, expected: dict[str, int]) -> None:
    """Every named section holds exactly the expected number of bytes."""
    for name, nbytes in expected.items():
        if sections[name].shape[0] != nbytes:
            got = sections[name].shape[0]
            raise _fail(path, f"section {name} has {got} bytes, expected {nbytes}")


def _sorted_ids(path: Path, sections: Sections, n: int) -> NDArray[np.uint64]:
    """The ids section as uint64, which must be strictly increasing (membership is a search)."""
    ids = sections["ids"].view("<u8")
    if n > 1 and not np.all(ids[1:] > ids[:-1]):
        raise _fail(path, "ids are not strictly increasing")
    return ids


def _compact_segment(path: Path, sections: Sections, n: int) -> CompactSegment:
    """A compact segment: ids and codes of n rows, every table section empty."""
    for name in _TABLE_SECTIONS:
        if sections[name].shape[0]:
            raise _fail(path, f"section {name} of a compact index is not empty")
    _check_sizes(path, sections, {"ids": _ID_BYTES * n, "codes": CODE_BYTES * n})
    ids = _sorted_ids(path, sections, n)
    return CompactSegment(ids, sections["codes"].reshape(n, CODE_BYTES))


def _chunk_widths(path: Path, sections: Sections, m: int) -> Bytes:
    """The m chunk widths, which must cover the code's bits and each fit a table."""
    widths = sections["widths"].view(np.uint8)
    if (
        widths.shape[0] != m
        or int(widths.sum()) != CODE_BITS
        or int(widths.min()) < 1
        or int(widths.max()) > _MAX_CHUNK_WIDTH
    ):
        raise _fail(path, "invalid chunk widths")
    return widths


def _tabled_segment(path: Path, sections: Sections, n: int, m: int) -> TabledSegment:
    """A tabled segment, once the invariants the kernels rely on (unchecked there) hold."""
    widths = _chunk_widths(path, sections, m)
    w_max = int(widths.max())
    _check_sizes(
        path,
        sections,
        {
            "ids": _ID_BYTES * n,
            "codes": CODE_BYTES * n,
            "bitpos": 2 * m * w_max,
            "offsets": 4 * int(((1 << widths.astype(np.int64)) + 1).sum()),
            "positions": 4 * m * n,
        },
    )
    ids = _sorted_ids(path, sections, n)
    bitpos = sections["bitpos"].view("<u2").reshape(m, w_max).astype(np.int64)
    offsets = sections["offsets"].view("<u4")
    positions = sections["positions"].view("<u4")
    used = np.concatenate([bitpos[c, : widths[c]] for c in range(m)])
    if np.unique(used).shape[0] != CODE_BITS or used.max() >= CODE_BITS:
        raise _fail(path, "invalid chunk bit positions")
    start = 0
    for c in range(m):
        offs = offsets[start : start + (1 << int(widths[c])) + 1]
        if offs[0] != 0 or offs[-1] != n or np.any(offs[1:] < offs[:-1]):
            raise _fail(path, f"bucket offsets of chunk {c} are inconsistent")
        start += offs.shape[0]
    if n and int(positions.max()) >= n:
        raise _fail(path, "bucket positions point past the last row")
    layout = ChunkLayout(widths.copy(), bitpos)
    return TabledSegment(ids, sections["codes"].reshape(n, CODE_BYTES), layout, offsets, positions)
