"""Bulk import into and export out of a bank in partner formats."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from stopframe.apps.registry import audit
from stopframe.lists.formats import FormatError, registry_of_formats
from stopframe.apps.registry.models import Bank, Entry
from stopframe.apps.registry.problems import Problem
from stopframe.apps.registry.schemas import ImportOut
from stopframe.apps.registry.services.entries import add_signals
from stopframe.signals.base import Signal, SignalKind

IMPORT_OWNER = "import"


def formats() -> list[str]:
    """Names of the supported partner formats."""
    return sorted(registry_of_formats())


def import_file(session: Session, bank: Bank, fmt: str, data: bytes, max_entries: int,
                actor: str) -> ImportOut:
    """Parse `data` as `fmt` and add every signal to `bank`: all of them or, on any error, none."""
    try:
        parse = registry_of_formats()[fmt][0]
    except KeyError:
        raise Problem(422, f"unknown format {fmt!r}; use one of {', '.join(formats())}") from None
    try:
        parsed = parse(data)
    except FormatError as exc:
        raise Problem(422, f"{fmt}: {exc}") from None
    except UnicodeDecodeError:
        raise Problem(422, f"{fmt}: file is not UTF-8 text") from None
    if len(parsed.signals) > max_entries:
        raise Problem(413, f"import holds {len(parsed.signals)} entries; the limit is {max_entries}")
    ids, added = add_signals(session, bank, IMPORT_OWNER, None, parsed.signals)
    audit.record(session, actor, "bank.import", f"bank:{bank.name}", format=fmt,
                 read=len(parsed.signals), added=added, skipped=parsed.skipped)
    return ImportOut(bank=bank.name, format=fmt, read=len(parsed.signals), added=added,
                     skipped=parsed.skipped)


def export_bank(session: Session, bank: Bank, fmt: str) -> tuple[bytes, str]:
    """The bank's active entries written in `fmt`, with the media type to send them as."""
    try:
        _parse, dump, media_type = registry_of_formats()[fmt]
    except KeyError:
        raise Problem(422, f"unknown format {fmt!r}; use one of {', '.join(formats())}") from None
    rows = session.execute(select(Entry.kind, Entry.value, Entry.quality).where(
        Entry.bank_id == bank.id, Entry.withdrawn_at.is_(None)).order_by(Entry.id))
    signals = [Signal(SignalKind(k), v, q) for k, v, q in rows]
    return dump(signals), media_type
