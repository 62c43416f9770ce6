"""Bulk import into and export out of a bank in partner formats."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from stopframe.apps.registry import audit
from stopframe.apps.registry.models import Bank, Entry, Item, ItemEntry
from stopframe.apps.registry.services.entries import add_signals
from stopframe.errors import FormatError, Invalid, TooLarge
from stopframe.lists.formats import Exported, ListFormat, Record, get_format
from stopframe.signals import Signal

IMPORT_OWNER = "import"
Progress = Callable[[int, int], None]  # (entries done, entries in all)


@dataclass(frozen=True)
class ImportResult:
    """What an import read, added (new or restored) and skipped (records of unsupported hashes)."""

    bank: str
    format: str
    read: int
    added: int
    skipped: int


def _format(name: str) -> ListFormat:
    try:
        return get_format(name)
    except FormatError as exc:
        raise Invalid(str(exc)) from None


def import_signals(
    session: Session,
    bank: Bank,
    signals: Sequence[Signal],
    actor: str,
    source: str,
    skipped: int = 0,
    progress: Progress | None = None,
) -> ImportResult:
    """Add `signals` to `bank` as an import from `source` and audit it: all of them or none;
    `progress` hears (entries done, entries in all) as they are written."""
    ids, added = add_signals(session, bank, IMPORT_OWNER, None, signals, progress=progress)
    audit.record(
        session,
        actor,
        "bank.import",
        f"bank:{bank.name}",
        format=source,
        read=len(signals),
        added=added,
        skipped=skipped,
        entry_ids=audit.id_ranges(ids),
    )
    return ImportResult(bank.name, source, len(signals), added, skipped)


def import_file(
    session: Session,
    bank: Bank,
    fmt: str,
    data: bytes,
    max_entries: int,
    actor: str,
    progress: Progress | None = None,
) -> ImportResult:
    """Parse `data` as `fmt` and add every signal to `bank`: all of them or, on any error, none."""
    parse = _format(fmt).parse
    try:
        parsed = parse(data)
    except FormatError as exc:
        raise Invalid(f"{fmt}: {exc}") from None
    except UnicodeDecodeError:
        raise Invalid(f"{fmt}: file is not UTF-8 text") from None
    if len(parsed.signals) > max_entries:
        raise TooLarge(f"import holds {len(parsed.signals)} entries; the limit is {max_entries}")
    return import_signals(session, bank, parsed.signals, actor, fmt, parsed.skipped, progress)


def export_bank(
    session: Session, bank: Bank, fmt: str, partial: bool = False
) -> tuple[Exported, str]:
    """The bank's active entries written in `fmt`, one record per file (item), with the media
    type to send them as.

    Entries of kinds the format cannot carry are refused (Invalid), or left out and counted in
    the result when `partial` is set.
    """
    list_format = _format(fmt)
    try:
        return list_format.dump(bank_records(session, bank), partial), list_format.media_type
    except FormatError as exc:
        raise Invalid(str(exc)) from None


def bank_records(session: Session, bank: Bank) -> list[Record]:
    """The bank's active entries as records: an active item's entries together with its media
    (an entry two files share is in both), every entry of no active item on its own."""
    active = Entry.bank_id == bank.id, Entry.withdrawn_at.is_(None)
    signals = {
        entry_id: Signal(kind, value, quality)
        for entry_id, kind, value, quality in session.execute(
            select(Entry.id, Entry.kind, Entry.value, Entry.quality).where(*active)
        )
    }
    grouped: dict[int, tuple[str, list[int]]] = {}
    for item_id, media, entry_id in session.execute(
        select(Item.id, Item.media, ItemEntry.entry_id)
        .join(ItemEntry, ItemEntry.item_id == Item.id)
        .join(Entry, Entry.id == ItemEntry.entry_id)
        .where(Item.withdrawn_at.is_(None), *active)
        .order_by(Item.id, ItemEntry.entry_id)
    ):
        grouped.setdefault(item_id, (media, []))[1].append(entry_id)
    held = {e for _, ids in grouped.values() for e in ids}
    keyed = [
        (ids[0], Record(media, tuple(signals[e] for e in ids))) for media, ids in grouped.values()
    ]
    keyed += [(e, Record(None, (s,))) for e, s in signals.items() if e not in held]
    return [record for _, record in sorted(keyed, key=lambda pair: pair[0])]
