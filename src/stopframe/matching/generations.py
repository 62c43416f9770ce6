"""Index generations on disk: what one sync writer publishes and any number of readers map.

    <root>/CURRENT                 name of the published generation ("g000012"), swapped by rename
    <root>/g000012/manifest.json   sources (number, sequence, banks), and per signal type:
                                   the base file, the delta file and the removed-ids file
    <root>/g000012/<kind>.delta    the rows added since the base (index segment format)
    <root>/g000012/<kind>.removed  base row ids withdrawn since (little-endian u64, CRC-32 in
                                   the manifest)
    <root>/bases/<kind>-000010.sfidx   a large immutable segment, shared by many generations

A TMK list is kept the same way: each entry's rows hold its level-1 vector, which `open_tmk`
scores in place; the full features for level 2 are read from the list store.

A generation is written beside the current one and published by renaming CURRENT, so a reader
sees the old generation or the new one, never a mix; readers map the base (shared page cache,
no per-process copy) and hold only the small delta. Nothing here is pickled: JSON, and the
checksummed segment format of `stopframe.index.storage`.
"""

from __future__ import annotations

import json
import os
import shutil
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from stopframe.errors import IndexFileError
from stopframe.index import HammingIndex
from stopframe.index.segment import Segment
from stopframe.index.storage import read_segment
from stopframe.matching.tmk import TmkLevel1

FORMAT = 1
CURRENT = "CURRENT"
MANIFEST = "manifest.json"
BASES = "bases"
KEEP_GENERATIONS = 3


@dataclass(frozen=True)
class SourceState:
    """Where one list source stood when a generation was written."""

    number: int  # the source's bits in every row id
    origin: str  # registry URL or partner file path
    sequence: int
    key_id: str = ""
    banks: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class KindFiles:
    """The files of one signal type's index in a generation (paths relative to the root)."""

    base: str | None
    delta: str | None
    removed: str | None
    removed_crc: int
    rows: int


@dataclass(frozen=True)
class Manifest:
    """One published generation."""

    generation: int
    created_at: str
    sources: dict[str, SourceState]
    kinds: dict[str, KindFiles]

    @property
    def name(self) -> str:
        """The generation's folder name."""
        return generation_name(self.generation)

    def to_json(self) -> bytes:
        """The manifest file's content."""
        body = {"format": FORMAT, **asdict(self)}
        return json.dumps(body, sort_keys=True, indent=1).encode()


def generation_name(number: int) -> str:
    """The folder name of generation `number`."""
    return f"g{number:06d}"


def _fail(path: Path, why: str) -> IndexFileError:
    return IndexFileError(f"{path}: {why}")


def read_manifest(path: Path) -> Manifest:
    """A generation's manifest, checked for shape; IndexFileError names the file otherwise."""
    try:
        body = json.loads(path.read_bytes())
        if body.pop("format") != FORMAT:
            raise ValueError(f"format is not {FORMAT}")
        return Manifest(
            generation=int(body["generation"]),
            created_at=str(body["created_at"]),
            sources={k: SourceState(**v) for k, v in body["sources"].items()},
            kinds={k: KindFiles(**v) for k, v in body["kinds"].items()},
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise _fail(path, f"not a readable generation manifest ({exc})") from None


def current_name(root: Path) -> str | None:
    """The published generation's folder name, or None before the first publish."""
    try:
        name = (root / CURRENT).read_text().strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise _fail(root / CURRENT, f"cannot read: {exc}") from None
    return name or None


def read_current(root: Path) -> Manifest | None:
    """The published generation's manifest, or None before the first publish."""
    name = current_name(root)
    return None if name is None else read_manifest(root / name / MANIFEST)


def write_removed(path: Path, ids: np.ndarray) -> int:
    """Write sorted removed ids; return their CRC-32 for the manifest."""
    data = np.ascontiguousarray(np.sort(ids), dtype="<u8")
    _write_durable(path, data.tobytes())
    return zlib.crc32(data.tobytes())


def read_removed(path: Path, crc: int) -> np.ndarray:
    """Removed ids written by `write_removed`, refused unless the CRC-32 matches."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise _fail(path, f"cannot read: {exc}") from None
    if len(raw) % 8 or zlib.crc32(raw) != crc:
        raise _fail(path, "removed ids are damaged (length or CRC-32 does not match)")
    return np.frombuffer(raw, dtype="<u8").astype(np.uint64)


def _write_durable(path: Path, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(root: Path, staged: Path, manifest: Manifest) -> None:
    """Make a staged generation folder current: write its manifest, rename it into place, then
    swap CURRENT by rename. Any OSError (a full disk) leaves the old generation current."""
    try:
        _write_durable(staged / MANIFEST, manifest.to_json())
        _fsync_dir(staged)
        final = root / manifest.name
        if final.exists():
            shutil.rmtree(final)
        os.replace(staged, final)
        pointer = root / f"{CURRENT}.tmp"
        _write_durable(pointer, (manifest.name + "\n").encode())
        os.replace(pointer, root / CURRENT)
        _fsync_dir(root)
    finally:
        if staged.exists():
            shutil.rmtree(staged, ignore_errors=True)


def collect_garbage(root: Path, keep: int = KEEP_GENERATIONS) -> None:
    """Delete all but the newest `keep` generations, bases none of them uses, and leftovers of
    interrupted writes. Readers that still map a deleted file keep their mapping (POSIX)."""
    current = current_name(root)
    gens = sorted(p for p in root.glob("g[0-9]*") if p.is_dir() and not p.name.endswith(".tmp"))
    kept = [p for p in gens[-keep:]] + ([root / current] if current else [])
    for path in gens:
        if path not in kept:
            shutil.rmtree(path, ignore_errors=True)
    for path in root.glob("*.tmp"):
        shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
    used: set[str] = set()
    for path in kept:
        try:
            manifest = read_manifest(path / MANIFEST)
        except IndexFileError:
            continue
        used.update(files.base for files in manifest.kinds.values() if files.base)
    for base in (root / BASES).glob("*"):
        if f"{BASES}/{base.name}" not in used:
            base.unlink(missing_ok=True)


class BaseCache:
    """Opened base segments by path, so a reader switching generations maps a shared base once
    and verifies its checksums once."""

    def __init__(self) -> None:
        self._open: dict[str, Segment] = {}

    def get(self, root: Path, relative: str) -> Segment:
        """The mapped segment at `root / relative` (opened and verified on first use)."""
        seg = self._open.get(relative)
        if seg is None:
            seg = read_segment(root / relative, verify=True)
            self._open[relative] = seg
        return seg

    def keep_only(self, used: set[str]) -> None:
        """Forget (and so unmap) bases no generation in use needs."""
        for name in set(self._open) - used:
            del self._open[name]


def _layers(
    root: Path, files: KindFiles, bases: BaseCache
) -> tuple[Segment | None, np.ndarray, Segment | None]:
    """A generation's base (mapped, shared), removed ids and delta of one signal type."""
    base = bases.get(root, files.base) if files.base else None
    removed = (
        read_removed(root / files.removed, files.removed_crc)
        if files.removed
        else np.empty(0, np.uint64)
    )
    delta = read_segment(root / files.delta, verify=True) if files.delta else None
    return base, removed, delta


def open_kind(root: Path, files: KindFiles, bases: BaseCache) -> HammingIndex:
    """One signal type's index of a generation: the mapped base less removed ids plus the delta."""
    base, removed, delta = _layers(root, files, bases)
    if delta is not None:
        return HammingIndex.layered(base, removed, np.asarray(delta.ids), np.asarray(delta.codes))
    return HammingIndex.layered(base, removed)


def open_tmk(root: Path, files: KindFiles, bases: BaseCache) -> TmkLevel1:
    """A TMK list's level-1 vectors in a generation: the mapped base's rows less withdrawn
    entries, plus the delta's; IndexFileError when the rows are not whole TMK entries."""
    base, removed, delta = _layers(root, files, bases)
    parts = [(np.asarray(s.ids), np.asarray(s.codes)) for s in (base, delta) if s is not None]
    try:
        return TmkLevel1(parts, removed)
    except ValueError as exc:
        raise _fail(root / (files.delta or files.base or ""), str(exc)) from None
