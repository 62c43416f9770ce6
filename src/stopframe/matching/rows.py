"""How a list entry becomes index rows: the 256-bit codes each signal type searches by, and the
uint64 row ids that say which source and entry a hit belongs to.

A row id packs `source (8 bits) | entry id (36 bits) | row number (20 bits)`: one PDQ or MD5
entry is one row, a robust set one row per usable hash, a vPDQ video one row per unique good
frame (a robust vPDQ one per unique good hash of any variant), a TMK video 32 rows holding its
level-1 vector (`stopframe.matching.tmk`). All rows of an entry share one id range, so
withdrawing an entry never needs its value.
"""

from __future__ import annotations

import numpy as np

from stopframe.errors import SignalValueError
from stopframe.index.codes import CODE_BYTES
from stopframe.matching.tmk import level1_code_bytes
from stopframe.signals import SIGNAL_TYPES, IndexKind, SignalType
from stopframe.signals.pdq import PDQ, hex_to_digest
from stopframe.signals.pdq_robust import parse_robust_set
from stopframe.signals.tmk import TMK
from stopframe.signals.vpdq import good_digests, parse_vpdq_lines
from stopframe.signals.vpdq_robust import VPDQ_ROBUST, good_robust_digests, parse_robust_lines

SOURCE_BITS = 8
ENTRY_BITS = 36
ROW_BITS = 20
MAX_SOURCES = 1 << SOURCE_BITS
MAX_ENTRY_ID = (1 << ENTRY_BITS) - 1
MAX_ROWS = 1 << ROW_BITS
_ROW_MASK = np.uint64(MAX_ROWS - 1)
_ENTRY_MASK = np.uint64(MAX_ENTRY_ID)


def indexed(signal_type: SignalType) -> bool:
    """Whether lists of this type are searched through an index of rows of 32 bytes."""
    return signal_type.index_kind in (
        IndexKind.HAMMING,
        IndexKind.HAMMING_SET,
        IndexKind.FRAMES,
        IndexKind.EXACT,
        IndexKind.TMK,
    )


def search_radius(signal_type: SignalType) -> int:
    """The radius rows of this type are searched at: 0 for exact digests, else the type's
    largest allowed threshold (a bank's own threshold is applied to the hits)."""
    if signal_type.index_kind is IndexKind.EXACT:
        return 0
    return max(signal_type.max_threshold, signal_type.default_threshold)


def entry_codes(kind: str, value: str, quality: int | None = None) -> np.ndarray:
    """The (k, 32) codes a list value is indexed by; empty when nothing in it is matchable
    (PDQ below the quality floor, a set or video without one good hash)."""
    raw = entry_code_bytes(kind, value, quality)
    return np.frombuffer(raw, np.uint8).reshape(-1, CODE_BYTES)


def entry_code_bytes(kind: str, value: str, quality: int | None = None) -> bytes:
    """`entry_codes` as k x 32 bytes: what bulk loading appends, with no array per entry."""
    signal_type = SIGNAL_TYPES[kind]
    index_kind = signal_type.index_kind
    if index_kind is IndexKind.HAMMING:
        if quality is not None and quality < signal_type.quality_floor:
            return b""
        return hex_to_digest(value)
    if index_kind is IndexKind.EXACT:
        return bytes.fromhex(value).ljust(CODE_BYTES, b"\0")
    if index_kind is IndexKind.HAMMING_SET:
        usable = sorted({item.hash.digest for item in parse_robust_set(value) if item.usable})
        return b"".join(usable)
    if kind == VPDQ_ROBUST.name:  # every variant's codes, all mapped to the one entry
        return good_robust_digests(parse_robust_lines(value)).tobytes()
    if index_kind is IndexKind.FRAMES:
        return good_digests(parse_vpdq_lines(value), PDQ.quality_floor).tobytes()
    if index_kind is IndexKind.TMK:
        return level1_code_bytes(TMK.features(value))
    raise SignalValueError(f"{kind} lists are not searched by an index")


def first_row(source: int, entry_id: int) -> int:
    """The id of an entry's first row; its rows are the next `MAX_ROWS` ids."""
    if not 0 <= source < MAX_SOURCES:
        raise ValueError(f"source number {source} out of range 0-{MAX_SOURCES - 1}")
    if not 0 <= entry_id <= MAX_ENTRY_ID:
        raise ValueError(f"entry id {entry_id} out of range 0-{MAX_ENTRY_ID}")
    return (source << (ENTRY_BITS + ROW_BITS)) | (entry_id << ROW_BITS)


def split_rows(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(source, entry id, row number) arrays of row ids."""
    ids = ids.astype(np.uint64, copy=False)
    return (
        (ids >> np.uint64(ENTRY_BITS + ROW_BITS)).astype(np.int64),
        ((ids >> np.uint64(ROW_BITS)) & _ENTRY_MASK).astype(np.int64),
        (ids & _ROW_MASK).astype(np.int64),
    )
