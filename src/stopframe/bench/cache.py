"""On-disk cache of benchmark hashes: numpy .npz files (never pickles) named by a content key, so
a rerun with the same seed, parameters and code reuses work and any change recomputes."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from stopframe.config import load_settings

_SOURCES = (
    "bench/images.py",
    "bench/methods.py",
    "bench/transforms.py",
    "signals/pdq.py",
    "signals/jarosz.py",
    "media/borders.py",
    "media/resize.py",
    "signals/pdq_robust.py",
)


def default_cache_dir() -> Path:
    """$STOPFRAME_BENCH_CACHE, else ~/.cache/stopframe/bench."""
    return load_settings().bench.bench_cache


def code_version() -> str:
    """Digest of the source files whose change alters a hash or a transformed picture."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for name in _SOURCES:
        digest.update(name.encode() + b"\0" + (root / name).read_bytes())
    return digest.hexdigest()[:16]


def key(*parts: object) -> str:
    """A short stable key for JSON-serialisable parts."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def load(folder: Path, name: str) -> dict[str, np.ndarray] | None:
    """The arrays stored under `name`, or None when absent or unreadable."""
    path = folder / f"{name}.npz"
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except (OSError, ValueError):
        return None


def save(folder: Path, name: str, arrays: dict[str, np.ndarray]) -> None:
    """Store arrays atomically (write then rename) so an interrupted run leaves no torn file."""
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{name}.{os.getpid()}.npz"
    # allow_pickle is numpy's default, passed by name so no array can be taken for it
    np.savez_compressed(tmp, allow_pickle=True, **arrays)
    tmp.replace(folder / f"{name}.npz")
