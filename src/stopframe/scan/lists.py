"""The lists a scan matches against: list stores indexed once into the scan's own index folder,
then mapped (not copied) by every worker, which reads entries from the stores themselves.

The index files are memory-mapped, so workers on one machine share one copy of the pages; the
stores are opened read-only, one connection per worker process.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

from stopframe.errors import ListStoreError
from stopframe.lists.documents import ListEntry
from stopframe.lists.store import ListStore
from stopframe.matching.index_set import IndexSet
from stopframe.matching.index_writer import IndexWriter
from stopframe.matching.match import Matcher
from stopframe.matching.policy import Policy
from stopframe.triage.known import open_store, store_files

_OPEN: dict[tuple[str, tuple[str, ...], str | None], Matcher] = {}  # one per worker process


def list_stores(given: Sequence[Path]) -> list[Path]:
    """The store files behind `--store` arguments (files, folders of stores, matcher folders),
    refusing two with the same name (the name is the matches' `source`)."""
    stores = [path.resolve() for item in given for path in store_files(item)]
    names = [path.stem for path in stores]
    if len(set(names)) != len(names):
        raise ListStoreError("two list stores have the same file name; rename one")
    return stores


def lists_digest(stores: Sequence[Path]) -> str:
    """A digest of the stores' names and positions (sequence, epoch, size): a scan resumed
    against lists that changed since would mix two answers, and is refused."""
    state = []
    for path in stores:
        with ListStore.open(path, create=False) as store:
            state.append([str(path), store.sequence, store.epoch, store.count()])
    return hashlib.sha256(json.dumps(state).encode()).hexdigest()


def build_index(stores: Sequence[Path], folder: Path) -> None:
    """Index every entry of `stores` into a fresh index set at `folder`."""
    shutil.rmtree(folder, ignore_errors=True)
    writer = IndexWriter(folder)
    with ExitStack() as stack:
        for path in stores:
            source = open_store(path, stack)
            writer.source(source.name, source.origin)
            writer.set_position(source.name, 0, "", source.banks)
            writer.rebuild_source(source.name, source.all_entries())
        writer.publish()


class StoreEntries:
    """The matcher's `Entries`: active entries read from each store, by source name."""

    def __init__(self, stores: Sequence[Path]) -> None:
        self.stores = {path.stem: ListStore.open(path, create=False) for path in stores}

    def entries_by_id(self, source: str, ids: Sequence[int]) -> dict[int, ListEntry]:
        """The entries among `ids` still in the store named `source`."""
        store = self.stores.get(source)
        return {} if store is None else store.get_many(ids)


def worker_matcher(index: str, stores: tuple[str, ...], policy: str | None) -> Matcher:
    """This process's matcher over the index at `index` (mapped once per process), with the
    policy file at `policy` (None: the default policy)."""
    key = (index, stores, policy)
    if key not in _OPEN:
        index_set = IndexSet(Path(index))
        index_set.refresh()
        if not index_set.ready:
            raise ListStoreError(f"{index}: no index here ({index_set.last_error})")
        rules = Policy() if policy is None else Policy.from_file(Path(policy))
        _OPEN[key] = Matcher(index_set, StoreEntries([Path(s) for s in stores]), rules)
    return _OPEN[key]
