"""The manifest of a scan: every file to scan, in sorted order, cut into fixed-size shards.

The same inputs always give the same shards (shard id = position), so a resumed scan finds its
finished shards again and rows are comparable across runners and worker counts.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from stopframe.hashing.batch import FoundFile, iter_files
from stopframe.hashing.files import HashRecord

DEFAULT_SHARD_FILES = 500


@dataclass(frozen=True, slots=True)
class Item:
    """One file to scan; `found` when met while walking a folder (non-media is then skipped),
    `error` when it could not even be listed (a folder that cannot be read)."""

    path: str
    found: bool = False
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Shard:
    """A run of consecutive manifest items, scanned and checkpointed as one unit."""

    id: int
    items: tuple[Item, ...]

    @property
    def name(self) -> str:
        """The shard's file stem, `shard-NNNNN`."""
        return f"shard-{self.id:05d}"


def read_path_list(path: Path) -> list[str]:
    """The paths of a manifest file, one a line (blank lines ignored)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.strip()]


def collect(paths: Iterable[str | Path]) -> list[Item]:
    """Every file named or under a named folder, sorted by path, each once."""
    items: dict[str, Item] = {}
    for found in iter_files(paths):
        if isinstance(found, HashRecord):
            items.setdefault(found.path, Item(found.path, error=found.error))
        elif isinstance(found, FoundFile):
            items.setdefault(found.path, Item(found.path, found=True))
        else:
            items.setdefault(found, Item(found))
    return [items[key] for key in sorted(items)]


def split(items: Sequence[Item], shard_files: int) -> list[Shard]:
    """`items` cut into shards of `shard_files` (the last one shorter)."""
    if shard_files < 1:
        raise ValueError("a shard holds at least one file")
    return [
        Shard(number, tuple(items[start : start + shard_files]))
        for number, start in enumerate(range(0, len(items), shard_files))
    ]


def fingerprint(items: Sequence[Item], shard_files: int, lists: str) -> str:
    """A digest of what the scan is (its files, shard size and lists): a resume must match it."""
    digest = hashlib.sha256(json.dumps([shard_files, lists]).encode())
    for item in items:
        digest.update(json.dumps([item.path, item.found, item.error]).encode() + b"\n")
    return digest.hexdigest()
