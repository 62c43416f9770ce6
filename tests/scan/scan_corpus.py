"""Benign scan corpora made on the fly (tiny generated pictures, some duplicates, some broken),
and the options the scan tests share; imported by the tests and by benchmarks/scan.py."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from stopframe.scan import ScanOptions

# 10,000 files by default (about 25 s more than 2,000 for the whole scan suite on two cores);
# STOPFRAME_SCAN_TEST_FILES sets another count, e.g. a small one while working on the scan code
FILES = int(os.environ.get("STOPFRAME_SCAN_TEST_FILES", "10000"))
SHARD_FILES = max(50, FILES // 20)
BANKS = {
    "known": {"name": "known", "kinds": ["md5"], "action": "block", "verified": True},
    "similar": {"name": "similar", "kinds": ["pdq"], "distance_threshold": 31, "action": "review"},
}


def tiny_png(seed: int) -> bytes:
    """A 32x32 PNG of random colour blocks (enough detail for a usable PDQ), one per seed."""
    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    picture = Image.fromarray(blocks).resize((32, 32), Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def make_corpus(root: Path, files: int, per_folder: int = 500) -> list[Path]:
    """`files` files under `root` in folders of `per_folder`: every 50th a copy of the picture
    48 before it, every 97th a truncated (corrupt) PNG, every 211th a text file, the rest
    pictures."""
    paths = []
    for number in range(files):
        folder = root / f"f{number // per_folder:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{number:06d}.png"
        if number % 211 == 7:
            path = path.with_suffix(".txt")
            path.write_text(f"note {number}\n")
        elif number % 97 == 5:
            path.write_bytes(tiny_png(number)[:40])
        else:
            path.write_bytes(tiny_png(number - 48 if number % 50 == 49 else number))
        paths.append(path)
    return paths


def scan_options(store: Path, **changes: Any) -> ScanOptions:
    """The options every scan test starts from."""
    return ScanOptions(**{"shard_files": SHARD_FILES, "stores": (store,), **changes})
