"""Fixtures shared by every test area: where the shared test vectors live."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def shared_dir() -> Path:
    """The `shared/` folder beside the checkout (override with STOPFRAME_SHARED_DIR)."""
    return Path(os.environ.get("STOPFRAME_SHARED_DIR", REPO_ROOT.parent / "shared"))


@pytest.fixture(scope="session")
def vectors_dir() -> Path:
    """Upstream PDQ/vPDQ reference media and hashes; skips when the checkout has none beside it."""
    path = shared_dir() / "vectors"
    if not path.is_dir():
        pytest.skip(f"test vectors not found at {path}")
    return path
