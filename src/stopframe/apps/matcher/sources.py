"""The matcher's list sources: stopframe registries (signed snapshot + change feed) and partner
files or folders in a known format, each kept in its own `ListStore` under `<data>/sources/`.

A partner source is diffed against its store on every sync: new values are added with new local
ids, values no longer in the file are withdrawn, so it flows through the same change path as a
registry's feed.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from stopframe.errors import ConfigError, FormatError, ListStoreError
from stopframe.lists.documents import ADD, WITHDRAW, Change, ChangePage, ListEntry
from stopframe.lists.formats import FORMATS, get_format
from stopframe.lists.formats.base import ListFormat, ParsedList
from stopframe.lists.store import ListStore
from stopframe.signals import SIGNAL_TYPES

SOURCES_DIR = "sources"
REGISTRY_SOURCE = "registry"
MAX_PARTNER_BYTES = 1 << 30
BANK_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")  # also the store's file name


@dataclass(frozen=True)
class PartnerSource:
    """A partner list file (or folder of files) in one format, loaded into one local bank."""

    bank: str
    format: str
    path: Path

    @property
    def name(self) -> str:
        """The source's name (its bank's), as entry keys and metrics show it."""
        return self.bank

    @property
    def origin(self) -> str:
        """Where the entries come from."""
        return f"file:{self.path}"


def parse_partner_sources(text: str | None) -> list[PartnerSource]:
    """`BANK=FORMAT:PATH` items separated by semicolons (or given one per --source flag)."""
    out = []
    for item in filter(None, (part.strip() for part in (text or "").split(";"))):
        out.append(parse_partner_source(item))
    names = [s.name for s in out]
    if len(set(names)) != len(names) or REGISTRY_SOURCE in names:
        raise ConfigError(f"partner banks must be distinct and not {REGISTRY_SOURCE!r}: {names}")
    return out


def parse_partner_source(item: str) -> PartnerSource:
    """One `BANK=FORMAT:PATH` source; ConfigError says what is wrong with it."""
    bank, sep, rest = item.partition("=")
    fmt, sep2, path = rest.partition(":")
    if not sep or not sep2 or not bank.strip() or not path.strip():
        raise ConfigError(
            f"source {item!r}: expected BANK=FORMAT:PATH, formats: {', '.join(sorted(FORMATS))}"
        )
    if not BANK_NAME.fullmatch(bank.strip()):
        raise ConfigError(
            f"source {item!r}: the bank name may hold letters, digits and . _ - (at most 64, "
            "starting with a letter or digit)"
        )
    try:
        get_format(fmt.strip())
    except FormatError as exc:
        raise ConfigError(f"source {item!r}: {exc}") from None
    return PartnerSource(bank.strip(), fmt.strip(), Path(path.strip()))


def store_path(data_dir: Path, name: str) -> Path:
    """The list store file of source `name`."""
    return data_dir / SOURCES_DIR / f"{name}.sqlite"


def partner_files(source: PartnerSource) -> list[Path]:
    """The files a partner source reads: the file, or every file of the folder in name order."""
    if source.path.is_dir():
        found = sorted(
            p for p in source.path.iterdir() if p.is_file() and not p.name.startswith(".")
        )
        if not found:  # more likely a delivery in progress than a partner withdrawing all
            raise ListStoreError(f"{source.path}: partner folder holds no list file")
        return found
    if source.path.is_file():
        return [source.path]
    raise ListStoreError(f"{source.path}: partner list not found")


def read_partner_file(path: Path) -> bytes:
    """The bytes of one partner list file; FormatError when it is over `MAX_PARTNER_BYTES`."""
    if path.stat().st_size > MAX_PARTNER_BYTES:
        raise FormatError(f"{path}: over the {MAX_PARTNER_BYTES}-byte limit for a list file")
    return path.read_bytes()


def parse_partner_file(fmt: ListFormat, path: Path, data: bytes) -> ParsedList:
    """`data` (read from `path`) parsed by `fmt`; FormatError names the file."""
    try:
        return fmt.parse(data)
    except FormatError as exc:
        raise FormatError(f"{path}: {exc}") from None
    except UnicodeDecodeError as exc:  # a text format given bytes that are not UTF-8
        raise FormatError(f"{path}: not UTF-8 text ({exc})") from None


def partner_changes(source: PartnerSource, store: ListStore) -> ChangePage | None:
    """The change page that brings the store to the partner file's content, or None when the
    files are unchanged. FormatError names the file that does not parse."""
    files = partner_files(source)
    digest = hashlib.sha256()
    blobs = []
    for path in files:
        data = read_partner_file(path)
        digest.update(path.name.encode() + b"\0" + hashlib.sha256(data).digest())
        blobs.append((path, data))
    fingerprint = digest.hexdigest()
    banks = {source.bank: partner_bank(source)}
    if store.key_id == fingerprint and store.banks() == banks:
        return None
    wanted: dict[tuple[str, str], int | None] = {}
    fmt = get_format(source.format)
    for path, data in blobs:
        for signal in parse_partner_file(fmt, path, data).signals:
            wanted.setdefault((signal.kind, signal.value), signal.quality)
    current = {(e.kind, e.value): e for e in store.entries()}
    sequence = max(store.sequence, 0)
    # Each change moves the sequence on by one, so no id ever issued exceeds it: starting new
    # ids past it means a withdrawn entry's id never comes back for another value (policy,
    # flood quarantine and reports name entries by id).
    next_id = max(sequence, max((e.id for e in current.values()), default=0)) + 1
    changes = []
    for key, entry in current.items():
        if key not in wanted:
            sequence += 1
            changes.append(Change(sequence, WITHDRAW, entry))
    for (kind, value), quality in wanted.items():
        if (kind, value) not in current:
            sequence += 1
            changes.append(
                Change(sequence, ADD, ListEntry(next_id, source.bank, kind, value, quality))
            )
            next_id += 1
    after = max(store.sequence, 0)
    return ChangePage(after, sequence, sequence, False, fingerprint, banks, changes)


def partner_bank(source: PartnerSource) -> dict[str, object]:
    """The list document of a partner bank: unverified, review unless the local policy says
    otherwise, at each kind's default threshold."""
    kinds = sorted(SIGNAL_TYPES)
    return {
        "name": source.bank,
        "kinds": kinds,
        "distance_threshold": SIGNAL_TYPES["pdq"].default_threshold,
        "verified": False,
        "action": "review",
    }


class SourceStores:
    """The list stores of every source, opened on first use; `entry` serves the matcher."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._stores: dict[str, ListStore] = {}
        self._lock = threading.Lock()

    def store(self, name: str, create: bool = False) -> ListStore | None:
        """The store of source `name` (None when it does not exist and not `create`)."""
        with self._lock:
            store = self._stores.get(name)
            if store is None:
                path = store_path(self.data_dir, name)
                if not path.exists() and not create:
                    return None
                path.parent.mkdir(parents=True, exist_ok=True)
                store = self._stores[name] = ListStore.open(path)
            return store

    def entries_by_id(self, source: str, ids: Sequence[int]) -> dict[int, ListEntry]:
        """The active entries of `source` among `ids`, by id."""
        store = self.store(source)
        if store is None:
            return {}
        with self._lock:
            return store.get_many(ids)

    def entries(self, name: str) -> Iterator[ListEntry]:
        """Every active entry of source `name`, streamed."""
        store = self.store(name)
        if store is not None:
            yield from store.entries()

    def close(self) -> None:
        """Close every store."""
        with self._lock:
            for store in self._stores.values():
                store.close()
            self._stores.clear()
