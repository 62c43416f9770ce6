"""Known or new: check every file of a triaged collection against hash lists, by the matcher's
own rules (bank thresholds, robust sets, vPDQ's two-sided rule), and mark each group known when
any member matches.

Lists come from a platform's synced list stores (the matcher's `sources/*.sqlite`, or any
`ListStore` file) and from partner files given as `BANK=FORMAT:PATH` (Project VIC JSON, NCMEC
XML, ThreatExchange CSV/text, StopNCII JSON). They are indexed once into a temporary index set;
nothing is written to the stores or next to the partner files.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stopframe.apps.matcher.sources import (
    PartnerSource,
    parse_partner_file,
    partner_bank,
    partner_files,
    read_partner_file,
)
from stopframe.errors import ListStoreError
from stopframe.lists.documents import ListEntry
from stopframe.lists.formats import get_format
from stopframe.lists.store import ListStore
from stopframe.matching.index_set import IndexSet
from stopframe.matching.index_writer import IndexWriter
from stopframe.matching.match import Matcher
from stopframe.matching.policy import Policy
from stopframe.signals import MD5, PDQ, PDQ_ROBUST, SHA256, VPDQ, Signal
from stopframe.triage.model import Group, KnownMatch, TriageFile

BATCH_FILES = 512  # files matched in one call


@dataclass
class ListSource:
    """One list to check against: its entries by id, its banks' documents, and the category of
    entries whose list gives one."""

    name: str
    origin: str
    banks: dict[str, dict[str, Any]]
    store: ListStore | None = None  # entries read from the store on demand
    entries: dict[int, ListEntry] = field(default_factory=dict)
    categories: dict[int, str] = field(default_factory=dict)

    def all_entries(self) -> Iterator[ListEntry]:
        return self.store.entries() if self.store is not None else iter(self.entries.values())

    def by_id(self, ids: Sequence[int]) -> dict[int, ListEntry]:
        if self.store is not None:
            return self.store.get_many(ids)
        return {i: self.entries[i] for i in ids if i in self.entries}


def store_files(path: Path) -> list[Path]:
    """The list stores at `path`: the file itself, or every `*.sqlite` of a matcher's data folder
    (its `sources/`) or of a folder of stores."""
    if path.is_file():
        return [path]
    for folder in (path / "sources", path):
        found = sorted(folder.glob("*.sqlite")) if folder.is_dir() else []
        if found:
            return found
    raise ListStoreError(f"{path}: no list store here (a .sqlite file or a matcher data folder)")


def open_store(path: Path, stack: ExitStack) -> ListSource:
    """A list store as a source, named after its file."""
    store = stack.enter_context(ListStore.open(path, create=False))
    return ListSource(path.stem, f"store:{path}", store.banks(), store=store)


def read_partner(source: PartnerSource) -> ListSource:
    """A partner list file (or folder of them) as a source; FormatError names a bad file."""
    fmt = get_format(source.format)
    out = ListSource(source.bank, source.origin, {source.bank: partner_bank(source)})
    seen: set[tuple[str, str]] = set()
    for path in partner_files(source):
        parsed = parse_partner_file(fmt, path, read_partner_file(path))
        for number, signal in enumerate(parsed.signals):
            if (signal.kind, signal.value) in seen:
                continue
            seen.add((signal.kind, signal.value))
            entry_id = len(out.entries) + 1
            out.entries[entry_id] = ListEntry(
                entry_id, source.bank, signal.kind, signal.value, signal.quality
            )
            if number in parsed.categories:
                out.categories[entry_id] = parsed.categories[number]
    return out


class KnownChecker:
    """The lists indexed once, in a temporary folder; `check` marks groups known."""

    def __init__(self, sources: Sequence[ListSource]) -> None:
        self.sources = {s.name: s for s in sources}
        if len(self.sources) != len(sources):
            raise ListStoreError("two lists have the same name; rename a partner bank")
        self._folder = tempfile.TemporaryDirectory(prefix="stopframe-triage-")
        writer = IndexWriter(Path(self._folder.name))
        for source in sources:
            writer.source(source.name, source.origin)
            writer.set_position(source.name, 0, "", source.banks)
            writer.rebuild_source(source.name, source.all_entries())
        writer.publish()
        index_set = IndexSet(Path(self._folder.name))
        index_set.refresh()
        self.matcher = Matcher(index_set, self, Policy())

    def entries_by_id(self, source: str, ids: Sequence[int]) -> dict[int, ListEntry]:
        """The `Entries` protocol the matcher reads entries through."""
        return self.sources[source].by_id(ids)

    def check(self, files: Sequence[TriageFile], groups: Iterable[Group]) -> None:
        """Add to each group the list entries its members match."""
        group_of = {m: g for g in groups for m in g.members}
        readable = [f for f in files if f.groupable and f.number in group_of]
        for start in range(0, len(readable), BATCH_FILES):
            batch = readable[start : start + BATCH_FILES]
            signals: list[Signal] = []
            owners: list[TriageFile] = []
            for item in batch:
                for signal in file_signals(item):
                    signals.append(signal)
                    owners.append(item)
            for item, matches in zip(owners, self.matcher.match(signals), strict=True):
                group = group_of[item.number]
                for match in matches:
                    if match.allowed:
                        continue
                    category = self.sources[match.source].categories.get(match.entry_id)
                    found = KnownMatch(
                        match.source, match.bank, match.kind, match.entry_id, match.distance,
                        category, item.number,
                    )  # fmt: skip
                    if not any(_same(found, k) for k in group.known):
                        group.known.append(found)
        for group in group_of.values():
            group.known.sort(key=lambda k: (k.source, k.entry_id, k.file_number))

    def close(self) -> None:
        self._folder.cleanup()


def _same(a: KnownMatch, b: KnownMatch) -> bool:
    """One entry matched by two members is listed once, for the first member that matched."""
    return (a.source, a.entry_id) == (b.source, b.entry_id)


def file_signals(item: TriageFile) -> list[Signal]:
    """The signals of a file a list entry can match: exact digests, PDQ, the robust query set
    (against registered robust sets) and vPDQ."""
    out = [Signal(MD5.name, v) for v in [item.md5] if v]
    out += [Signal(SHA256.name, v) for v in [item.sha256] if v]
    if item.pdq:
        out.append(Signal(PDQ.name, item.pdq, item.quality))
    if item.robust_query:
        first = item.robust_query.split("\n", 1)[0].split(",")
        quality = int(first[1]) if len(first) == 3 and first[1].isdigit() else 0
        out.append(Signal(PDQ_ROBUST.name, item.robust_query, quality))
    if item.vpdq:
        out.append(Signal(VPDQ.name, list_vpdq(item.vpdq)))
    return out


def list_vpdq(lines: str, every_s: float = 1.0) -> str:
    """vPDQ lines thinned to the first frame of each `every_s` seconds: triage hashes videos
    densely, and a list's vPDQ (one frame a second) must be compared at its own rate, or most
    query frames would fall between its frames and the match share would drop."""
    kept, last = [], -1
    for line in lines.splitlines():
        parts = line.rsplit(",", 1)
        try:
            slot = int(float(parts[-1]) // every_s)
        except ValueError:
            continue
        if slot != last:
            kept.append(line)
            last = slot
    return "\n".join(kept)
