"""Benign sample images shipped with the package, hashed by `stopframe quickstart`
(provenance and licence in the NOTICE file beside them)."""

from __future__ import annotations

from pathlib import Path

SAMPLES_DIR = Path(__file__).resolve().parent


def sample_images() -> list[Path]:
    """The shipped sample image files, sorted by name."""
    return sorted(p for p in SAMPLES_DIR.iterdir() if p.suffix.lower() == ".jpg")
