"""The benign benchmark corpus: find its photos and drop exact and near-duplicate originals, which
are not independent images and would count as false matches."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from stopframe.config import load_settings
from stopframe.errors import StopframeError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".pgm", ".ppm", ".bmp", ".gif", ".tif", ".tiff"}
NEAR_DUPLICATE_DISTANCE = 40
# Distinct files that show the same scene, so they are not unrelated negatives: the second of each
# pair is dropped like a duplicate. Each was checked by eye.
SAME_SCENE: dict[str, str] = {
    # the Helix Nebula (NGC 7293) photographed by NASA and in Stellarium's deep-sky set: the same
    # patch of sky, framed and coloured differently (robust score 24 at 256 px)
    "images_astro/stellarium-dso/n7293.png": "images_astro/nasa/helix-nebula.jpg",
}


class CorpusMissingError(StopframeError, FileNotFoundError):
    """The corpus folder is absent or has no images/ inside."""


def default_corpus_dir() -> Path:
    """$STOPFRAME_CORPUS, else ~/.cache/stopframe/corpus (where scripts/get-test-corpus.sh puts
    it)."""
    return load_settings().bench.corpus


def list_images(folder: Path) -> list[Path]:
    """Image files under `folder`, sorted so every run sees them in the same order."""
    if not folder.is_dir():
        return []
    return sorted(
        p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
    )


@dataclass(frozen=True)
class CorpusFiles:
    """The natural photos (queried and negatives) and the astronomical photos (negatives only)."""

    natural: list[Path]
    astro: list[Path]


def find_corpus(root: Path) -> CorpusFiles:
    """List the corpus under `root`; raise CorpusMissingError with the fix when it is missing."""
    natural = list_images(root / "images")
    if not natural:
        raise CorpusMissingError(
            f"no benchmark corpus at {root} (expected {root / 'images'}); fetch it with "
            "scripts/get-test-corpus.sh or point --corpus / STOPFRAME_CORPUS at it"
        )
    return CorpusFiles(natural, list_images(root / "images_astro"))


def same_scene_drops(paths: list[Path], root: Path) -> set[int]:
    """Indices of files listed in SAME_SCENE whose partner is present too."""
    relative = {p.relative_to(root).as_posix(): i for i, p in enumerate(paths)}
    return {relative[a] for a, b in SAME_SCENE.items() if a in relative and b in relative}


def near_duplicates(
    digests: np.ndarray,
    groups: list[np.ndarray] | None = None,
    distance: int = NEAR_DUPLICATE_DISTANCE,
) -> np.ndarray:
    """Indices to drop so no two kept rows are within `distance` bits (the earlier one is kept).

    `digests` is N x 32 uint8; `groups` optionally gives, per row, extra digests (e.g. the dihedral
    variants) any of which counts as the same picture.
    """
    from stopframe.signals.pdq import hamming_matrix

    variants = groups if groups is not None else [row[None, :] for row in digests]
    drop: set[int] = set()
    for i in range(len(digests)):
        if i in drop or i + 1 >= len(digests):
            continue
        close = hamming_matrix(variants[i], digests[i + 1 :]).min(axis=0) <= distance
        drop.update(int(j) + i + 1 for j in np.flatnonzero(close))
    return np.array(sorted(drop), dtype=np.intp)
