"""The consumer's SQLite list store: snapshot then change pages, withdrawals, refused gaps that
leave the old state, a crash mid-apply that leaves it too, reopening where it stopped, refusing
other files, change pages that touch only the rows they name even in a large store, and paged
snapshots loaded one page at a time, refused (keeping the old state) when out of place."""

from __future__ import annotations

import gc
import hashlib
import sqlite3
import subprocess
import sys
import weakref
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

from stopframe.errors import ListStoreError, RegistryError, TamperedListError
from stopframe.lists.documents import ADD, WITHDRAW, Change, ChangePage, ListEntry, Snapshot
from stopframe.lists.store import ListStore

BANKS = {
    "self-reported": {
        "name": "self-reported",
        "kinds": ["md5", "pdq"],
        "distance_threshold": 31,
        "verified": False,
        "action": "review",
    }
}
REGISTRY = "http://registry.test"


def entry(n: int, kind: str = "md5", bank: str = "self-reported") -> ListEntry:
    digest = hashlib.sha256(f"benign-{n}".encode()).hexdigest()
    return ListEntry(
        n, bank, kind, digest[:32] if kind == "md5" else digest, 80 if kind == "pdq" else None
    )


def snapshot(sequence: int, entries: list[ListEntry]) -> Snapshot:
    return Snapshot(sequence, "key1", BANKS, entries)


def page(after: int, ops: list[tuple[str, ListEntry]], latest: int | None = None) -> ChangePage:
    changes = [Change(after + i, op, e) for i, (op, e) in enumerate(ops, start=1)]
    upto = after + len(ops)
    return ChangePage(after, upto, latest or upto, (latest or upto) > upto, "key1", BANKS, changes)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ListStore]:
    with ListStore.open(tmp_path / "lists.sqlite") as opened:
        yield opened


def test_a_new_store_is_empty_and_never_synced(store: ListStore) -> None:
    assert (store.sequence, store.registry, store.key_id, store.count(), store.banks()) == (
        -1,
        None,
        None,
        0,
        {},
    )
    with pytest.raises(TamperedListError, match="no snapshot yet"):
        store.apply_changes(page(0, [(ADD, entry(1))]))


def test_snapshot_then_changes_then_withdrawal(store: ListStore) -> None:
    store.apply_snapshot(snapshot(10, [entry(1), entry(2, "pdq")]), REGISTRY)
    assert (store.sequence, store.registry, store.key_id) == (10, REGISTRY, "key1")
    assert store.banks() == BANKS
    assert (
        store.apply_changes(
            page(
                10,
                [
                    (ADD, entry(3)),
                    (ADD, entry(4, "pdq")),
                    (WITHDRAW, entry(1)),
                    (ADD, entry(5)),
                    (WITHDRAW, entry(5)),
                ],
            )
        )
        == 5
    )
    assert store.sequence == 15
    assert [e.id for e in store.entries()] == [2, 3, 4]
    assert [e.id for e in store.entries(kind="pdq")] == [2, 4]
    assert store.count(kind="md5", bank="self-reported") == 1 and store.count(bank="other") == 0
    assert store.get(1) is None and store.get(4) == entry(4, "pdq")


def test_a_gap_is_refused_and_leaves_the_old_state(store: ListStore) -> None:
    store.apply_snapshot(snapshot(10, [entry(1)]), REGISTRY)
    for after in (9, 11):  # a replayed page, a skipped one
        with pytest.raises(TamperedListError, match=f"starts after {after}, store is at 10"):
            store.apply_changes(page(after, [(WITHDRAW, entry(1)), (ADD, entry(2))]))
    assert store.sequence == 10 and [e.id for e in store.entries()] == [1]


def test_a_crash_mid_apply_leaves_the_old_state(store: ListStore, tmp_path: Path) -> None:
    store.apply_snapshot(snapshot(0, [entry(i) for i in range(1, 101)]), REGISTRY)
    store.close()
    child = f"""
import os, sys
sys.path[:0] = {sys.path!r}
from pathlib import Path
from stopframe.lists.documents import ADD, Change, ChangePage, ListEntry
from stopframe.lists.store import ListStore

def changes():
    for n in range(1, 50_001):
        if n == 40_000:
            os._exit(9)  # the process dies in the middle of the transaction
        yield Change(n, ADD, ListEntry(1000 + n, "self-reported", "md5", "ab" * 16, None))

store = ListStore.open(Path({str(tmp_path / "lists.sqlite")!r}))
store.apply_changes(ChangePage(0, 50_000, 50_000, False, "key2", {{}}, changes()))
"""
    assert subprocess.run([sys.executable, "-c", child], check=False).returncode == 9
    with ListStore.open(tmp_path / "lists.sqlite") as reopened:
        assert (reopened.sequence, reopened.count(), reopened.key_id) == (0, 100, "key1")
        assert reopened.banks() == BANKS


def test_reopening_resumes_at_the_stored_sequence(tmp_path: Path) -> None:
    path = tmp_path / "lists.sqlite"
    with ListStore.open(path) as first:
        first.apply_snapshot(snapshot(3, [entry(1)]), REGISTRY)
        first.apply_changes(page(3, [(ADD, entry(2))]))
    with ListStore.open(path, create=False) as again:
        assert (again.sequence, again.registry, again.count()) == (4, REGISTRY, 2)
        again.apply_changes(page(4, [(WITHDRAW, entry(1))]))
        assert [e.id for e in again.entries()] == [2]


@pytest.mark.parametrize("content", [b"not a database at all" * 50, b"sqlite"])
def test_a_file_that_is_not_a_store_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(content)
    with pytest.raises(ListStoreError, match="notes.txt: not a list store"):
        ListStore.open(path)
    assert path.read_bytes() == content


def test_another_sqlite_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE entries (id INTEGER)")
    with pytest.raises(ListStoreError, match="other.sqlite: not a list store"):
        ListStore.open(path)
    with pytest.raises(ListStoreError, match="missing.sqlite: no list store here"):
        ListStore.open(tmp_path / "missing.sqlite", create=False)


def test_a_change_page_touches_only_its_rows_in_a_large_store(store: ListStore) -> None:
    count = 100_000
    store.apply_snapshot(snapshot(count, [entry(i) for i in range(1, count + 1)]), REGISTRY)
    before = store._db.total_changes
    store.apply_changes(
        page(
            count, [(WITHDRAW, entry(7)), (ADD, entry(count + 1, "pdq")), (WITHDRAW, entry(count))]
        )
    )
    written = store._db.total_changes - before
    assert written <= 3 + 2 + 2 * len(BANKS)  # the changes, sequence and key id, the banks
    assert store.count() == count - 1 and store.sequence == count + 3
    assert store.get(7) is None and store.get(count + 1) == entry(count + 1, "pdq")
    assert sum(1 for _ in store.entries(kind="md5")) == count - 2


def snapshot_page(sequence: int, ids: Iterable[int], after_id: int, more: bool) -> Snapshot:
    return Snapshot(sequence, "key2", BANKS, [entry(i) for i in ids], after_id, more)


def test_a_paged_snapshot_is_loaded_holding_one_page_at_a_time(store: ListStore) -> None:
    store.apply_snapshot(snapshot(3, [entry(1000)]), REGISTRY)
    produced: list[weakref.ref[Snapshot]] = []

    def pages() -> Iterator[Snapshot]:
        for k in range(5):
            gc.collect()
            if k >= 2:
                assert produced[k - 2]() is None, f"page {k - 2} is still held at page {k}"
            page = snapshot_page(10 + k, range(k * 100 + 1, k * 100 + 101), k * 100, k < 4)
            produced.append(weakref.ref(page))
            yield page

    assert store.load_snapshot(pages(), REGISTRY) == 500
    assert (store.sequence, store.key_id, store.count()) == (10, "key2", 500)
    assert store.get(1000) is None and [e.id for e in store.entries()] == list(range(1, 501))
    assert not store.consistent  # the pages were read up to sequence 14
    store.apply_changes(page(10, [(WITHDRAW, entry(1)), (ADD, entry(501))]))
    assert not store.consistent
    store.apply_changes(page(12, [(WITHDRAW, entry(2)), (ADD, entry(1)), (ADD, entry(502))]))
    assert store.consistent and store.sequence == 15 and store.count() == 501


def _failing_source() -> Iterator[Snapshot]:
    yield snapshot_page(5, [1, 2], 0, True)
    raise RegistryError("/v1/lists/snapshot: registry not reachable")


@pytest.mark.parametrize(
    ("pages", "refusal"),
    [
        ([snapshot_page(5, [1, 2], 0, True), snapshot_page(5, [6], 4, False)], "after id 4, exp"),
        ([snapshot_page(5, [1, 2], 0, True), snapshot_page(5, [2, 3], 1, False)], "after id 1"),
        ([snapshot_page(5, [1, 2], 1, False)], "starts after id 1, expected 0"),
        ([snapshot_page(6, [1, 2], 0, True), snapshot_page(5, [3], 2, False)], "read at sequence"),
        ([snapshot_page(5, [1, 2], 0, True)], "ended before its last page"),
        ([], "ended before its last page"),
        ([snapshot_page(5, [1], 0, False), snapshot_page(5, [2], 1, False)], "after the last"),
        (_failing_source(), "not reachable"),
    ],
    ids=["gap", "overlap", "first", "older", "cut-short", "empty", "extra", "source-fails"],
)
def test_a_paged_snapshot_out_of_place_leaves_the_old_state(
    store: ListStore, pages: Iterable[Snapshot], refusal: str
) -> None:
    store.apply_snapshot(snapshot(7, [entry(8), entry(9)]), REGISTRY)
    with pytest.raises((TamperedListError, RegistryError), match=refusal):
        store.load_snapshot(pages, REGISTRY)
    assert (store.sequence, store.key_id, [e.id for e in store.entries()]) == (7, "key1", [8, 9])
    assert store.consistent


def test_a_crash_mid_paged_load_leaves_the_old_state(store: ListStore, tmp_path: Path) -> None:
    store.apply_snapshot(snapshot(0, [entry(i) for i in range(1, 101)]), REGISTRY)
    store.close()
    child = f"""
import os, sys
sys.path[:0] = {sys.path!r}
from pathlib import Path
from stopframe.lists.documents import ListEntry, Snapshot
from stopframe.lists.store import ListStore

def pages():
    for k in range(100):
        if k == 60:
            os._exit(9)  # the process dies between two pages, mid-transaction
        ids = range(k * 1000 + 1, k * 1000 + 1001)
        entries = [ListEntry(i, "self-reported", "md5", "ab" * 16, None) for i in ids]
        yield Snapshot(5, "key2", {{}}, entries, k * 1000, k < 99)

store = ListStore.open(Path({str(tmp_path / "lists.sqlite")!r}))
store.load_snapshot(pages(), "http://registry.test")
"""
    assert subprocess.run([sys.executable, "-c", child], check=False).returncode == 9
    with ListStore.open(tmp_path / "lists.sqlite") as reopened:
        assert (reopened.sequence, reopened.count(), reopened.key_id) == (0, 100, "key1")
        assert reopened.banks() == BANKS and reopened.consistent
