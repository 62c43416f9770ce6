"""A consumer's local copy of the lists, in one SQLite file, built to hold 10M+ entries.

A snapshot replaces the content, page by page in one transaction (memory holds one page, not the
list); a change page touches only the entries it names, so keeping up costs O(changes). Each
apply is one transaction: a crash or a refused page leaves the previous state. The file records
the sequence it is current to, the banks' policies, and which registry (and signing key id) it
came from, so a sync resumes where the last one stopped.

It also keeps the stamp of the last signed document applied (registry id, epoch, issued time)
and refuses to go back: a document of another registry or an older epoch, one issued before it,
a snapshot read before its sequence, or a change page behind its position (a replay) raises
`StaleListError` and changes nothing. A change page of a newer epoch (the registry was restored
from a backup) raises `RegistryRestoredError`: take a new snapshot, which a newer epoch may
replace the content with.

    with ListStore.open(Path("lists.sqlite")) as store:
        client.sync(store)
        for entry in store.entries(kind="pdq"): ...      # what the matcher indexes
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from datetime import datetime
from itertools import groupby
from operator import attrgetter
from pathlib import Path
from types import TracebackType
from typing import Any

from stopframe.errors import ListStoreError, TamperedListError
from stopframe.lists.canonical import iso
from stopframe.lists.documents import (
    ADD,
    ChangePage,
    ListEntry,
    RegistryRestoredError,
    Snapshot,
    StaleListError,
    Stamp,
)

APPLICATION_ID = 0x53464C53  # "SFLS" in the SQLite header marks a stopframe list store
SCHEMA_VERSION = 1
NEVER_SYNCED = -1
FETCH = 10_000

SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE banks (name TEXT PRIMARY KEY, policy TEXT NOT NULL);
CREATE TABLE entries (id INTEGER PRIMARY KEY, bank TEXT NOT NULL, kind TEXT NOT NULL,
                      value TEXT NOT NULL, quality INTEGER);
CREATE INDEX entries_by_kind ON entries (kind, bank);
CREATE INDEX entries_by_bank ON entries (bank);
"""


class ListStore:
    """An open list store; use `ListStore.open`, and one thread at a time."""

    def __init__(self, path: Path, db: sqlite3.Connection) -> None:
        self.path = path
        self._db = db

    @classmethod
    def open(cls, path: Path, create: bool = True) -> ListStore:
        """Open the store at `path`, creating it when missing (and `create`); refuses other
        files."""
        exists = path.exists()
        if not exists and not create:
            raise ListStoreError(f"{path}: no list store here")
        try:
            db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise ListStoreError(f"{path}: cannot open: {exc}") from None
        try:
            if exists and path.stat().st_size > 0:
                _check_store(path, db)
            else:
                _create(db)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
        except sqlite3.Error as exc:
            db.close()
            raise ListStoreError(f"{path}: not a list store ({exc})") from None
        except ListStoreError:
            db.close()
            raise
        return cls(path, db)

    def close(self) -> None:
        """Close the file."""
        self._db.close()

    def __enter__(self) -> ListStore:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    @property
    def sequence(self) -> int:
        """The feed sequence the store is current to; -1 before the first snapshot."""
        return int(self._meta("sequence") or NEVER_SYNCED)

    @property
    def registry(self) -> str | None:
        """Which registry the lists came from (set by the first snapshot)."""
        return self._meta("registry")

    @property
    def consistent(self) -> bool:
        """True once the content is the registry's as of `sequence`. A paged snapshot leaves the
        store at its first page's sequence holding pages read at later times; replaying the
        change feed past the last page's read (the next sync does) settles it."""
        settles_at = self._meta("settles_at")
        return self.sequence != NEVER_SYNCED and self.sequence >= int(settles_at or 0)

    @property
    def key_id(self) -> str | None:
        """The id of the key that signed the last document applied."""
        return self._meta("key_id")

    @property
    def registry_id(self) -> str | None:
        """The id of the registry whose signed documents the store holds (None before any)."""
        return self._meta("registry_id")

    @property
    def epoch(self) -> int:
        """The registry's epoch the store is current in; 0 before any signed document."""
        return int(self._meta("epoch") or 0)

    def banks(self) -> dict[str, dict[str, Any]]:
        """Each bank's policy (kinds, distance threshold, verified, suggested action), by name."""
        return {
            name: json.loads(policy)
            for name, policy in self._db.execute("SELECT name, policy FROM banks ORDER BY name")
        }

    def get(self, entry_id: int) -> ListEntry | None:
        """The active entry with this id, or None."""
        row = self._db.execute(
            "SELECT id, bank, kind, value, quality FROM entries WHERE id = ?", (entry_id,)
        ).fetchone()
        return ListEntry(*row) if row else None

    def get_many(self, ids: Iterable[int]) -> dict[int, ListEntry]:
        """The active entries among `ids`, by id (one query per 500 ids)."""
        wanted = list(dict.fromkeys(int(i) for i in ids))
        out: dict[int, ListEntry] = {}
        for lo in range(0, len(wanted), 500):
            part = wanted[lo : lo + 500]
            marks = ",".join("?" * len(part))
            rows = self._db.execute(
                f"SELECT id, bank, kind, value, quality FROM entries WHERE id IN ({marks})", part
            )
            out.update((row[0], ListEntry(*row)) for row in rows)
        return out

    def entries(self, kind: str | None = None, bank: str | None = None) -> Iterator[ListEntry]:
        """Active entries in id order, optionally of one kind and/or bank, streamed from disk."""
        where, args = _filter(kind, bank)
        cursor = self._db.execute(
            f"SELECT id, bank, kind, value, quality FROM entries{where} ORDER BY id", args
        )
        while rows := cursor.fetchmany(FETCH):
            yield from (ListEntry(*row) for row in rows)

    def count(self, kind: str | None = None, bank: str | None = None) -> int:
        """How many active entries there are, optionally of one kind and/or bank."""
        where, args = _filter(kind, bank)
        return int(self._db.execute(f"SELECT count(*) FROM entries{where}", args).fetchone()[0])

    def apply_snapshot(self, snapshot: Snapshot, registry: str) -> None:
        """Replace the content with a checked one-page snapshot from `registry`, in one
        transaction."""
        self.load_snapshot([snapshot], registry)

    def load_snapshot(self, pages: Iterable[Snapshot], registry: str) -> int:
        """Replace the content with checked snapshot pages from `registry`, taken one at a time
        (memory holds a page, not the list), in one transaction; return how many entries they
        held. Pages must run on from id 0 without gap, overlap or an older read, up to one
        without `more`; anything else, or an error from `pages`, leaves the previous content.

        The store is left at the first page's sequence: replay the change feed from there (as
        `RegistryClient.sync` does) to make pages read at different times one consistent state.
        """
        with self._transaction():
            self._db.execute("DELETE FROM entries")
            first: int | None = None  # the first page's sequence (no page is kept)
            stamp: Stamp | None = None
            expected_after, more, read_at, count = 0, True, 0, 0
            key_id = ""
            banks: dict[str, dict[str, Any]] = {}
            for page in pages:
                if not more:
                    raise TamperedListError("a snapshot page after the last one")
                if page.after_id != expected_after:
                    raise TamperedListError(
                        f"snapshot page starts after id {page.after_id}, expected {expected_after}"
                    )
                if page.sequence < read_at:
                    raise TamperedListError(
                        f"snapshot page read at sequence {page.sequence}, before the page ahead "
                        f"of it ({read_at})"
                    )
                if first is None:
                    self._check_stamp(page.stamp, snapshot=True)
                    if page.stamp is not None and page.stamp.epoch == self.epoch:
                        self._check_not_behind(page.sequence)
                elif not _same_epoch(stamp, page.stamp):
                    raise TamperedListError("snapshot pages of different registries or epochs")
                stamp = page.stamp
                self._db.executemany(
                    "INSERT INTO entries VALUES (?, ?, ?, ?, ?)",
                    ((e.id, e.bank, e.kind, e.value, e.quality) for e in page.entries),
                )
                first = page.sequence if first is None else first
                count += len(page.entries)
                expected_after, more, read_at = page.last_id, page.more, page.sequence
                key_id, banks = page.key_id, page.banks
            if first is None or more:
                raise TamperedListError("the snapshot ended before its last page")
            self._set_position(first, key_id, banks, registry, stamp)
            self._db.execute(
                "INSERT OR REPLACE INTO meta VALUES ('settles_at', ?)", (str(read_at),)
            )
        return count

    def apply_changes(self, page: ChangePage) -> int:
        """Apply a checked change page that starts at the store's sequence, in one transaction;
        return how many changes it held. A page for another position is refused, changing
        nothing."""
        with self._transaction():
            self.check_changes(page)
            applied = 0
            for op, run in groupby(page.changes, key=attrgetter("op")):  # one executemany a run
                entries = [change.entry for change in run]
                if op == ADD:
                    self._db.executemany(
                        "INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?, ?)",
                        ((e.id, e.bank, e.kind, e.value, e.quality) for e in entries),
                    )
                else:
                    self._db.executemany(
                        "DELETE FROM entries WHERE id = ?", ((e.id,) for e in entries)
                    )
                applied += len(entries)
            self._set_position(page.sequence, page.key_id, page.banks, stamp=page.stamp)
        return applied

    def check_changes(self, page: ChangePage) -> None:
        """Refuse a change page this store must not apply, changing nothing: StaleListError for
        another registry, an older epoch or issue time, or a replay behind the store's position;
        RegistryRestoredError when the registry's epoch went up (take a new snapshot)."""
        current = self.sequence
        if current == NEVER_SYNCED:
            raise TamperedListError("the store holds no snapshot yet; take one first")
        self._check_stamp(page.stamp, snapshot=False)
        if page.after < current:
            raise StaleListError(
                "replay", f"change page starts after {page.after}, store is at {current}"
            )
        if page.after != current:
            raise TamperedListError(f"change page starts after {page.after}, store is at {current}")

    def _check_stamp(self, stamp: Stamp | None, snapshot: bool) -> None:
        """Refuse a signed document that would take the store back or to another registry; a
        newer epoch is taken by a snapshot only."""
        held = self.registry_id
        if stamp is None or held is None:
            return
        if stamp.registry_id != held:
            raise StaleListError(
                "other-registry", f"document of registry {stamp.registry_id}, store holds {held}"
            )
        if stamp.epoch < self.epoch:
            raise StaleListError(
                "older-epoch", f"document of epoch {stamp.epoch}, store is in {self.epoch}"
            )
        if stamp.epoch > self.epoch:
            if snapshot:
                return
            raise RegistryRestoredError(
                f"registry {held} went from epoch {self.epoch} to {stamp.epoch} (restored from "
                "a backup); take a new snapshot"
            )
        issued = self._meta("issued_at")
        # A snapshot is placed by its sequence (`_check_not_behind`): a registry may serve the
        # same page, signed a little earlier, from its cache, and it holds the same state.
        if snapshot or issued is None:
            return
        if stamp.issued_at < datetime.fromisoformat(issued):
            raise StaleListError(
                "older", f"document issued {iso(stamp.issued_at)}, before the store's ({issued})"
            )

    def _check_not_behind(self, sequence: int) -> None:
        if sequence < self.sequence:
            raise StaleListError(
                "older", f"snapshot read at sequence {sequence}, store is at {self.sequence}"
            )

    def _set_position(
        self,
        sequence: int,
        key_id: str,
        banks: dict[str, dict[str, Any]],
        registry: str | None = None,
        stamp: Stamp | None = None,
    ) -> None:
        values = {"sequence": str(sequence), "key_id": key_id}
        if registry is not None:
            values["registry"] = registry
        if stamp is not None:
            values["registry_id"] = stamp.registry_id
            values["epoch"] = str(stamp.epoch)
            held = self._meta("issued_at")
            if held is None or stamp.issued_at > datetime.fromisoformat(held):
                values["issued_at"] = stamp.issued_at.isoformat()
        self._db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", values.items())
        self._db.execute("DELETE FROM banks")
        self._db.executemany(
            "INSERT INTO banks VALUES (?, ?)",
            ((name, json.dumps(policy, sort_keys=True)) for name, policy in banks.items()),
        )

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any exception."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.db.execute("COMMIT" if kind is None else "ROLLBACK")


def _same_epoch(one: Stamp | None, other: Stamp | None) -> bool:
    """True when two stamps (or their absence) name the same registry and epoch."""
    if one is None or other is None:
        return one is other
    return (one.registry_id, one.epoch) == (other.registry_id, other.epoch)


def _filter(kind: str | None, bank: str | None) -> tuple[str, tuple[str, ...]]:
    clauses = [(c, v) for c, v in (("kind = ?", kind), ("bank = ?", bank)) if v is not None]
    if not clauses:
        return "", ()
    return " WHERE " + " AND ".join(c for c, _ in clauses), tuple(str(v) for _, v in clauses)


def _create(db: sqlite3.Connection) -> None:
    """Lay out a new store: header marks, tables and indexes, all or nothing."""
    with _Transaction(db):
        db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        for statement in filter(str.strip, SCHEMA.split(";")):
            db.execute(statement)


def _check_store(path: Path, db: sqlite3.Connection) -> None:
    """Refuse a file that is not a list store, or one of a newer layout than this code reads."""
    (application_id,) = db.execute("PRAGMA application_id").fetchone()
    if application_id != APPLICATION_ID:
        raise ListStoreError(f"{path}: not a list store (another SQLite database)")
    (version,) = db.execute("PRAGMA user_version").fetchone()
    if version != SCHEMA_VERSION:
        raise ListStoreError(
            f"{path}: list store layout {version}; this version reads {SCHEMA_VERSION}"
        )
