"""A reader's view of the index set: the published generation, one index per signal type.

API workers each hold one `IndexSet`; `refresh()` is a cheap check of CURRENT and, when a new
generation was published, opens it beside the old one and swaps one reference, so searches in
flight finish on the generation they started with. Bases are mapped once per process.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from stopframe.errors import IndexFileError
from stopframe.index import HammingIndex
from stopframe.index.hamming import MAX_RADIUS, BatchMatches
from stopframe.matching.generations import (
    MANIFEST,
    BaseCache,
    Manifest,
    SourceState,
    current_name,
    open_kind,
    open_tmk,
    read_manifest,
)
from stopframe.matching.tmk import TmkLevel1
from stopframe.signals import SIGNAL_TYPES, IndexKind
from stopframe.signals.tmk import LEVEL1_THRESHOLD, TmkFeatures

log = logging.getLogger("stopframe.matching")


@dataclass(frozen=True)
class _View:
    manifest: Manifest | None = None
    indexes: dict[str, HammingIndex] = field(default_factory=dict)
    by_number: dict[int, str] = field(default_factory=dict)
    tmk: dict[str, TmkLevel1] = field(default_factory=dict)


class IndexSet:
    """The current generation under `root`, searched per signal type; thread-safe."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._bases = BaseCache()
        self._view = _View()
        self._lock = threading.Lock()
        self.last_error: str | None = None

    @property
    def manifest(self) -> Manifest | None:
        """The manifest of the generation in use (None before the first publish)."""
        return self._view.manifest

    @property
    def ready(self) -> bool:
        """Whether a generation is loaded."""
        return self._view.manifest is not None

    def source_name(self, number: int) -> str | None:
        """The name of the list source with this number in the generation in use."""
        return self._view.by_number.get(number)

    def sources(self) -> dict[str, SourceState]:
        """Each list source's state in the generation in use."""
        manifest = self._view.manifest
        return dict(manifest.sources) if manifest else {}

    def refresh(self) -> bool:
        """Switch to a newly published generation; True when it switched. A generation that
        cannot be opened is logged and skipped (`last_error`), and the old one kept serving."""
        with self._lock:
            try:
                name = current_name(self.root)
                current = self._view.manifest
                if name is None or (current is not None and current.name == name):
                    return False
                manifest = read_manifest(self.root / name / MANIFEST)
                tmk = {
                    kind: open_tmk(self.root, files, self._bases)
                    for kind, files in manifest.kinds.items()
                    if _is_tmk(kind)
                }
                indexes = {
                    kind: open_kind(self.root, files, self._bases)
                    for kind, files in manifest.kinds.items()
                    if kind not in tmk
                }
            except IndexFileError as exc:
                if self.last_error != str(exc):
                    log.error(
                        "index generation not loaded, the previous one keeps serving: %s", exc
                    )
                self.last_error = str(exc)
                return False
            by_number = {s.number: n for n, s in manifest.sources.items()}
            self._view = _View(manifest, indexes, by_number, tmk)
            self._bases.keep_only({f.base for f in manifest.kinds.values() if f.base})
            self.last_error = None
            return True

    def size(self, kind: str) -> int:
        """How many rows the index of `kind` holds (entries, for a TMK list)."""
        view = self._view
        if kind in view.tmk:
            return len(view.tmk[kind])
        index = view.indexes.get(kind)
        return 0 if index is None else len(index)

    def tmk_candidates(
        self, kind: str, query: TmkFeatures, level1_min: float = LEVEL1_THRESHOLD
    ) -> list[tuple[int, float]]:
        """(first row id, level-1 score) of the `kind` entries whose level-1 score against
        `query` reaches `level1_min`, best first."""
        level1 = self._view.tmk.get(kind)
        return [] if level1 is None else level1.candidates(query, level1_min)

    def search(self, kind: str, codes: np.ndarray, radius: int) -> BatchMatches:
        """Rows of `kind` within `radius` of each code (CSR by query, nearest first)."""
        index = self._view.indexes.get(kind)
        if index is None or codes.shape[0] == 0:
            return BatchMatches(
                np.zeros(codes.shape[0] + 1, np.int64),
                np.empty(0, np.uint64),
                np.empty(0, np.int64),
            )
        return index.range_search_batch(codes, min(radius, MAX_RADIUS))


def _is_tmk(kind: str) -> bool:
    return kind in SIGNAL_TYPES and SIGNAL_TYPES[kind].index_kind is IndexKind.TMK
