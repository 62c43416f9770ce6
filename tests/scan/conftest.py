"""Shared scan fixtures: one benign corpus and one list store per test session, and the rows of
a reference scan (local pool, one worker) that every other scan must reproduce."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path
from typing import Any

import pytest

from stopframe.lists.documents import ListEntry, Snapshot
from stopframe.lists.store import ListStore
from stopframe.scan import read_rows, run_scan

sys.path.insert(0, str(Path(__file__).parent))
from scan_corpus import BANKS, FILES, make_corpus, scan_options


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return make_corpus(tmp_path_factory.mktemp("collection"), FILES)


@pytest.fixture(scope="session")
def store(tmp_path_factory: pytest.TempPathFactory, corpus: list[Path]) -> Path:
    """A list store holding the MD5 of file 0 and the PDQ of file 1 (so its copies match too)."""
    from stopframe.hashing.files import hash_file

    path = tmp_path_factory.mktemp("lists") / "lists.sqlite"
    pdq = hash_file(corpus[1]).signal("pdq")
    assert pdq is not None
    entries = [
        ListEntry(1, "known", "md5", hashlib.md5(corpus[0].read_bytes()).hexdigest(), None),
        ListEntry(2, "similar", "pdq", pdq.value, pdq.quality),
    ]
    with ListStore.open(path) as opened:
        opened.apply_snapshot(Snapshot(1, "key1", BANKS, entries), "http://registry.test")
    return path


@pytest.fixture(scope="session")
def expected(
    tmp_path_factory: pytest.TempPathFactory, corpus: list[Path], store: Path
) -> list[dict[str, Any]]:
    """The reference rows: the local pool with one worker."""
    out = tmp_path_factory.mktemp("reference")
    summary = run_scan([corpus[0].parent.parent], out, scan_options(store, jobs=1))
    assert summary.complete
    return read_rows(out).to_pylist()
