"""The on-disk index format: one segment, memory-mapped, versioned, checksummed, no pickle.

Layout (all integers little-endian):
  header   magic b"SFHIDX\\r\\n" | u32 version | u32 header_bytes | u64 n_rows | u32 n_chunks
           (0: a compact segment, whose four table sections are empty) |
           u32 n_sections, then n_sections entries of (16-byte name, u64 offset, u64 length,
           u32 crc32, u32 reserved), then u32 crc32 of everything before it.
  sections ids (n u64, increasing) | codes (n x 32 u8) | widths (m u8) | bitpos (m x w u16) |
           offsets (u32 CSR offsets, chunk after chunk) | positions (m x n u32); each 64-byte aligned.
Opening checks the header checksum, section bounds, shapes and the invariants the kernels rely
on (offsets monotone and ending at n, positions < n), and every section's CRC-32 unless told not
to. Any failure raises IndexFileError naming the file and the fault.
"""

from __future__ import annotations

import os
import struct
import sys
import zlib
from pathlib import Path

import numpy as np

from stopframe.index.layout import CODE_BITS, ChunkLayout
from stopframe.index.segment import Segment

MAGIC = b"SFHIDX\r\n"
VERSION = 2  # 2: multi-index tables optional (n_chunks = 0)
_HEAD = struct.Struct("<8sIIQII")
_ENTRY = struct.Struct("<16sQQII")
_ALIGN = 64
_SECTIONS = ("ids", "codes", "widths", "bitpos", "offsets", "positions")
_CRC_BLOCK = 1 << 26


class IndexFileError(ValueError):
    """An index file that is corrupt, truncated, of another version or not an index at all."""


def _crc(buf) -> int:
    view = memoryview(np.ascontiguousarray(buf).reshape(-1).view(np.uint8))
    crc = 0
    for lo in range(0, len(view), _CRC_BLOCK):
        crc = zlib.crc32(view[lo : lo + _CRC_BLOCK], crc)
    return crc


def _check_host() -> None:
    if sys.byteorder != "little":
        raise IndexFileError("index files are little-endian; this host is big-endian")


def write_segment(path: Path, seg: Segment) -> None:
    """Write `seg` to `path` atomically: a temporary file in the same folder, fsync, rename."""
    _check_host()
    empty = np.empty(0, np.uint8)
    arrays = {
        "ids": np.ascontiguousarray(seg.ids, dtype="<u8"),
        "codes": np.ascontiguousarray(seg.codes, dtype=np.uint8),
        "widths": empty if seg.layout is None else np.ascontiguousarray(seg.layout.widths, np.uint8),
        "bitpos": empty if seg.layout is None else np.ascontiguousarray(seg.layout.bitpos, "<u2"),
        "offsets": empty if seg.offsets is None else np.ascontiguousarray(seg.offsets, "<u4"),
        "positions": empty if seg.positions is None else np.ascontiguousarray(seg.positions, "<u4"),
    }
    n_chunks = 0 if seg.layout is None else seg.layout.n_chunks
    header_bytes = _HEAD.size + _ENTRY.size * len(arrays) + 4
    pos = -(-header_bytes // _ALIGN) * _ALIGN
    entries, placed = [], []
    for name in _SECTIONS:
        arr = arrays[name]
        entries.append(_ENTRY.pack(name.encode(), pos, arr.nbytes, _crc(arr), 0))
        placed.append((pos, arr))
        pos = -(-(pos + arr.nbytes) // _ALIGN) * _ALIGN
    head = _HEAD.pack(
        MAGIC, VERSION, header_bytes, seg.size, n_chunks, len(arrays)
    ) + b"".join(entries)
    head += struct.pack("<I", zlib.crc32(head))
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            f.write(head)
            for offset, arr in placed:
                f.write(b"\0" * (offset - f.tell()))
                f.write(memoryview(arr.reshape(-1).view(np.uint8)))
            f.write(b"\0" * (pos - f.tell()))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def read_segment(path: Path, verify: bool = True) -> Segment:
    """Memory-map a segment written by write_segment, refusing anything inconsistent."""
    _check_host()

    def fail(why: str) -> IndexFileError:
        return IndexFileError(
            f"{path}: {why}; rebuild the index or restore it from a good copy"
        )

    try:
        size = path.stat().st_size
    except OSError as e:
        raise IndexFileError(f"{path}: cannot read index file ({e.strerror})") from e
    if size < _HEAD.size:
        raise fail(f"truncated: {size} bytes is smaller than the header")
    try:
        data = np.memmap(path, dtype=np.uint8, mode="r")
    except (OSError, ValueError) as e:
        raise IndexFileError(f"{path}: cannot map index file ({e})") from e
    magic, version, header_bytes, n, m, n_sections = _HEAD.unpack_from(data, 0)
    if magic != MAGIC:
        raise fail("not a stopframe index file (bad magic)")
    if version != VERSION:
        raise fail(
            f"format version {version} is not supported (this build reads version {VERSION})"
        )
    if (
        n_sections != len(_SECTIONS)
        or header_bytes != _HEAD.size + _ENTRY.size * n_sections + 4
    ):
        raise fail("malformed header")
    if header_bytes > size:
        raise fail("truncated header")
    (stored_crc,) = struct.unpack_from("<I", data, header_bytes - 4)
    if zlib.crc32(data[: header_bytes - 4]) != stored_crc:
        raise fail("header checksum mismatch (corrupted)")
    sections: dict[str, np.ndarray] = {}
    for i in range(n_sections):
        raw_name, offset, length, crc, _ = _ENTRY.unpack_from(
            data, _HEAD.size + i * _ENTRY.size
        )
        name = raw_name.rstrip(b"\0").decode("ascii", "replace")
        if name != _SECTIONS[i]:
            raise fail(f"unexpected section {name!r}")
        if offset % _ALIGN or offset + length > size:
            raise fail(f"section {name} lies outside the file (truncated?)")
        sec = data[offset : offset + length]
        if verify and _crc(sec) != crc:
            raise fail(f"section {name} checksum mismatch (corrupted)")
        sections[name] = sec
    if m == 0:
        for name in ("widths", "bitpos", "offsets", "positions"):
            if sections[name].shape[0]:
                raise fail(f"section {name} of a compact index is not empty")
        if sections["ids"].shape[0] != 8 * n or sections["codes"].shape[0] != 32 * n:
            raise fail("sections ids and codes do not hold n_rows entries")
        ids = sections["ids"].view("<u8")
        if n > 1 and not np.all(ids[1:] > ids[:-1]):
            raise fail("ids are not strictly increasing")
        return Segment(ids, sections["codes"].reshape(n, 32))
    widths = sections["widths"].view(np.uint8)
    if (
        widths.shape[0] != m
        or int(widths.sum()) != CODE_BITS
        or int(widths.min()) < 1
        or int(widths.max()) > 24
    ):
        raise fail("invalid chunk widths")
    w_max = int(widths.max())
    shapes = {
        "ids": 8 * n,
        "codes": 32 * n,
        "bitpos": 2 * m * w_max,
        "offsets": 4 * int(((1 << widths.astype(np.int64)) + 1).sum()),
        "positions": 4 * m * n,
    }
    for name, nbytes in shapes.items():
        if sections[name].shape[0] != nbytes:
            raise fail(
                f"section {name} has {sections[name].shape[0]} bytes, expected {nbytes}"
            )
    ids = sections["ids"].view("<u8")
    bitpos = sections["bitpos"].view("<u2").reshape(m, w_max).astype(np.int64)
    offsets = sections["offsets"].view("<u4")
    positions = sections["positions"].view("<u4")
    if n > 1 and not np.all(ids[1:] > ids[:-1]):
        raise fail("ids are not strictly increasing")
    used = np.concatenate([bitpos[c, : widths[c]] for c in range(m)])
    if np.unique(used).shape[0] != CODE_BITS or used.max() >= CODE_BITS:
        raise fail("invalid chunk bit positions")
    start = 0
    for c in range(m):
        offs = offsets[start : start + (1 << int(widths[c])) + 1]
        if offs[0] != 0 or offs[-1] != n or np.any(offs[1:] < offs[:-1]):
            raise fail(f"bucket offsets of chunk {c} are inconsistent")
        start += offs.shape[0]
    if n and int(positions.max()) >= n:
        raise fail("bucket positions point past the last row")
    layout = ChunkLayout(widths.copy(), bitpos)
    return Segment(ids, sections["codes"].reshape(n, 32), layout, offsets, positions)
