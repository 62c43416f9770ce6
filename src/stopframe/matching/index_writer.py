"""The one writer of the index set: list changes in, generations out, with no full rebuild.

Each signal type has a base segment on disk, plus the entries added since (in memory, and in each
generation's delta file) and the base rows withdrawn since. A change touches only its entry's
rows; `publish` writes the (small) delta and removed ids as a new generation. When the delta
outgrows `rebase_rows`, or withdrawals a share of the base, that type gets a new base first,
so readers never carry a large delta.
"""

from __future__ import annotations

import logging
from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from stopframe.errors import IndexFileError, SignalValueError
from stopframe.index.codes import CODE_BYTES
from stopframe.index.segment import Segment, build_segment
from stopframe.index.storage import read_segment, write_segment
from stopframe.lists.canonical import iso, utcnow
from stopframe.lists.documents import ADD, Change, ListEntry
from stopframe.matching.generations import (
    BASES,
    KindFiles,
    Manifest,
    SourceState,
    collect_garbage,
    generation_name,
    publish,
    read_current,
    read_removed,
    write_removed,
)
from stopframe.matching.rows import MAX_ROWS, MAX_SOURCES, entry_code_bytes, first_row, indexed
from stopframe.signals import SIGNAL_TYPES, IndexKind

log = logging.getLogger("stopframe.matching")
REBASE_ROWS = 50_000  # delta rows past which a type gets a new base
REBASE_SHARE = 0.05  # share of a base withdrawn past which it is rebuilt
_EMPTY_CODES = np.zeros((0, CODE_BYTES), np.uint8)


@dataclass
class _KindState:
    """One signal type's index as the writer holds it."""

    base_name: str | None = None
    base: Segment | None = None
    delta: dict[int, np.ndarray] = field(default_factory=dict)  # first row id -> (k, 32) codes
    removed: set[int] = field(default_factory=set)  # base row ids withdrawn

    def base_rows(self, first: int) -> np.ndarray:
        """The base's row ids of the entry whose rows start at `first`."""
        if self.base is None or len(self.base) == 0:
            return np.empty(0, np.uint64)
        ids = np.asarray(self.base.ids)
        lo, hi = np.searchsorted(ids, [np.uint64(first), np.uint64(first + MAX_ROWS)])
        return ids[lo:hi]

    def delta_rows(self) -> int:
        return sum(c.shape[0] for c in self.delta.values())

    def delta_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        firsts = sorted(self.delta)
        ids = [np.empty(0, np.uint64)] + [
            np.uint64(f) + np.arange(self.delta[f].shape[0], dtype=np.uint64) for f in firsts
        ]
        codes = [_EMPTY_CODES] + [self.delta[f] for f in firsts]
        return np.concatenate(ids), np.concatenate(codes)

    def live_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """Every live row: base rows not withdrawn, then the delta."""
        d_ids, d_codes = self.delta_arrays()
        if self.base is None:
            return d_ids, d_codes
        b_ids = np.asarray(self.base.ids)
        keep = ~np.isin(b_ids, np.fromiter(self.removed, np.uint64, len(self.removed)))
        return (
            np.concatenate([b_ids[keep], d_ids]),
            np.concatenate([np.asarray(self.base.codes)[keep], d_codes]),
        )


class IndexWriter:
    """Keeps the index set of every list source; one per data dir (the sync process)."""

    def __init__(
        self,
        root: Path,
        rebase_rows: int = REBASE_ROWS,
        rebase_share: float = REBASE_SHARE,
        shard: tuple[int, int] = (0, 1),
    ) -> None:
        """Resume from the generation published under `root` (none: an empty index set).
        `shard` (k, K) keeps only entries whose id is k modulo K: K machines, one shard each,
        together hold a list too large for one."""
        index, count = shard
        if not 0 <= index < count:
            raise ValueError(f"shard {index}/{count}: need 0 <= k < K")
        self.shard = shard
        self.root = root
        self.rebase_rows = rebase_rows
        self.rebase_share = rebase_share
        root.mkdir(parents=True, exist_ok=True)
        (root / BASES).mkdir(exist_ok=True)
        collect_garbage(root)
        self.published = read_current(root)
        self.generation = self.published.generation if self.published else 0
        self.sources: dict[str, SourceState] = (
            dict(self.published.sources) if self.published else {}
        )
        self.kinds: dict[str, _KindState] = {}
        if self.published:
            for kind, files in self.published.kinds.items():
                self.kinds[kind] = self._load(files)
        self.dirty = False
        self._bases_written = 0

    def _load(self, files: KindFiles) -> _KindState:
        state = _KindState(base_name=files.base)
        if files.base:
            state.base = read_segment(self.root / files.base, verify=True)
        if files.removed:
            state.removed = {
                int(i) for i in read_removed(self.root / files.removed, files.removed_crc)
            }
        if files.delta:
            delta = read_segment(self.root / files.delta, verify=True)
            ids, codes = np.asarray(delta.ids), np.asarray(delta.codes)
            firsts = ids - (ids % np.uint64(MAX_ROWS))
            for first in np.unique(firsts):
                state.delta[int(first)] = np.ascontiguousarray(codes[firsts == first])
        return state

    # -- sources -----------------------------------------------------------------------------
    def source(self, name: str, origin: str) -> SourceState:
        """The state of source `name`, giving it a number the first time it is seen."""
        state = self.sources.get(name)
        if state is None:
            taken = {s.number for s in self.sources.values()}
            number = next((n for n in range(1, MAX_SOURCES) if n not in taken), None)
            if number is None:
                raise IndexFileError(f"{self.root}: at most {MAX_SOURCES - 1} list sources")
            state = SourceState(number=number, origin=origin, sequence=-1)
            self.sources[name] = state
        return state

    def set_position(
        self, name: str, sequence: int, key_id: str, banks: dict[str, dict[str, object]]
    ) -> None:
        """Record how far source `name` has been applied (written with the next publish)."""
        self.sources[name] = replace(
            self.sources[name], sequence=sequence, key_id=key_id, banks=banks
        )
        self.dirty = True

    def drop_source(self, name: str) -> None:
        """Forget a source and every row of it."""
        state = self.sources.pop(name, None)
        if state is None:
            return
        self._drop_rows(state.number)
        self.dirty = True

    # -- changes -----------------------------------------------------------------------------
    def apply(self, source: str, changes: Iterable[Change]) -> int:
        """Apply a source's additions and withdrawals to the in-memory index set (idempotent: a
        change seen twice leaves the same rows); return how many were applied."""
        number = self.sources[source].number
        count = 0
        for change in changes:
            self.withdraw(number, change.entry)
            if change.op == ADD:
                self.add(number, change.entry)
            count += 1
        self.dirty = self.dirty or count > 0
        return count

    def add(self, number: int, entry: ListEntry) -> None:
        """Index an entry's rows (after withdrawing any it had)."""
        raw = self._code_bytes(number, entry)
        if raw:
            state = self.kinds.setdefault(entry.kind, _KindState())
            codes = np.frombuffer(raw, np.uint8).reshape(-1, CODE_BYTES)
            state.delta[first_row(number, entry.id)] = codes

    def withdraw(self, number: int, entry: ListEntry) -> None:
        """Remove every row of an entry, wherever it is."""
        state = self.kinds.get(entry.kind)
        if state is None:
            return
        first = first_row(number, entry.id)
        state.delta.pop(first, None)
        state.removed.update(int(i) for i in state.base_rows(first))

    def rebuild_source(self, source: str, entries: Iterable[ListEntry]) -> int:
        """Replace every row of a source by those of `entries` (after a snapshot), streaming them
        straight into new bases so memory stays near the size of the codes; return how many
        entries were read."""
        number = self.sources[source].number
        self._drop_rows(number)
        rows: dict[str, tuple[array[int], bytearray]] = {}
        count = 0
        for entry in entries:
            count += 1
            raw = self._code_bytes(number, entry)
            if raw:
                ids, codes = rows.setdefault(entry.kind, (array("Q"), bytearray()))
                first = first_row(number, entry.id)
                ids.extend(range(first, first + len(raw) // CODE_BYTES))
                codes += raw
        for kind, (ids, codes) in rows.items():
            new_ids = np.frombuffer(ids, np.uint64)
            new_codes = np.frombuffer(codes, np.uint8).reshape(-1, CODE_BYTES)
            state = self.kinds.setdefault(kind, _KindState())
            old_ids, old_codes = state.live_arrays()
            if old_ids.shape[0]:
                new_ids = np.concatenate([old_ids, new_ids])
                new_codes = np.concatenate([old_codes, new_codes])
            self.kinds[kind] = self._write_base(kind, new_ids, new_codes)
            del new_ids, new_codes, old_ids, old_codes
        self.dirty = True
        return count

    def _code_bytes(self, number: int, entry: ListEntry) -> bytes:
        if not _indexed_kind(entry.kind) or entry.id % self.shard[1] != self.shard[0]:
            return b""
        try:
            return entry_code_bytes(entry.kind, entry.value, entry.quality)[: MAX_ROWS * CODE_BYTES]
        except (SignalValueError, ValueError) as exc:
            log.warning("entry %s of source %s not indexed: %s", entry.id, number, exc)
            return b""

    def _drop_rows(self, number: int) -> None:
        lo, hi = first_row(number, 0), first_row(number, 0) + (1 << 56)
        for state in self.kinds.values():
            for first in [f for f in state.delta if lo <= f < hi]:
                del state.delta[first]
            if state.base is not None:
                ids = np.asarray(state.base.ids)
                a, b = np.searchsorted(ids, [np.uint64(lo), np.uint64(hi)])
                state.removed.update(int(i) for i in ids[a:b])

    # -- publishing --------------------------------------------------------------------------
    def publish(self) -> Manifest:
        """Write the index set as the next generation and make it current; on any failure
        (a full disk) the previous generation stays current and this writer's state is kept,
        so the next call tries again."""
        number = self.generation + 1
        name = generation_name(number)
        staged = self.root / f"{name}.tmp"
        staged.mkdir(parents=True, exist_ok=True)
        kinds: dict[str, KindFiles] = {}
        rebased: dict[str, _KindState] = {}
        try:
            for kind, state in sorted(self.kinds.items()):
                if self._needs_rebase(state):
                    state = rebased[kind] = self._rebase(kind, state)
                kinds[kind] = self._write_kind(kind, state, staged, name)
            manifest = Manifest(number, iso(utcnow()), dict(self.sources), kinds)
            publish(self.root, staged, manifest)
        except OSError as exc:
            for state in rebased.values():
                if state.base_name:
                    (self.root / state.base_name).unlink(missing_ok=True)
            raise IndexFileError(f"{self.root}: generation {number} not published: {exc}") from None
        self.kinds.update(rebased)
        self.generation, self.published, self.dirty = number, manifest, False
        collect_garbage(self.root)
        return manifest

    def _needs_rebase(self, state: _KindState) -> bool:
        base_rows = len(state.base) if state.base is not None else 0
        return state.delta_rows() > self.rebase_rows or (
            base_rows > 0 and len(state.removed) > self.rebase_share * base_rows
        )

    def _rebase(self, kind: str, state: _KindState) -> _KindState:
        return self._write_base(kind, *state.live_arrays())

    def _write_base(self, kind: str, ids: np.ndarray, codes: np.ndarray) -> _KindState:
        """A new base file of these rows (with multi-index tables for fast single lookups, but
        for TMK, whose level-1 rows are scored in place)."""
        self._bases_written += 1
        relative = f"{BASES}/{kind}-{self.generation + 1:06d}-{self._bases_written}.sfidx"
        tables = _kind_of(kind) is not IndexKind.TMK
        write_segment(self.root / relative, build_segment(ids, codes, tables=tables))
        log.info("new %s base: %d rows", kind, ids.shape[0])
        return _KindState(relative, read_segment(self.root / relative, verify=False))

    def _write_kind(self, kind: str, state: _KindState, staged: Path, name: str) -> KindFiles:
        delta = removed = None
        crc = 0
        ids, codes = state.delta_arrays()
        if ids.shape[0]:
            write_segment(staged / f"{kind}.delta", build_segment(ids, codes, tables=False))
            delta = f"{name}/{kind}.delta"
        if state.removed:
            crc = write_removed(staged / f"{kind}.removed", np.fromiter(state.removed, np.uint64))
            removed = f"{name}/{kind}.removed"
        base_rows = len(state.base) if state.base is not None else 0
        rows = base_rows - len(state.removed) + ids.shape[0]
        return KindFiles(state.base_name, delta, removed, crc, rows)


def _indexed_kind(kind: str) -> bool:
    return kind in SIGNAL_TYPES and indexed(SIGNAL_TYPES[kind])


def _kind_of(kind: str) -> IndexKind | None:
    return SIGNAL_TYPES[kind].index_kind if kind in SIGNAL_TYPES else None
