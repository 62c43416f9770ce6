"""Read `stopframe hash` output (JSON lines or CSV) into items: one per hashed file.

A record's media comes from its content type (image -> photo, video -> video, else other); its
signals are every registered kind it carries a value for, checked and written canonically here
so a bad line is named before anything is sent. Records that carry an error, or were skipped,
are set aside with their reason. The file's path is kept only to tell the user which file an
item is; it never goes into an item.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TextIO

from stopframe.apps.intake.client import ItemToSend
from stopframe.errors import SignalValueError, StopframeError
from stopframe.signals import PDQ, SIGNAL_TYPES, Signal, parse_signal_value

MEDIA_OF = {"image": "photo", "video": "video"}
SKIPPED_STATUSES = ("error", "skipped")


class RecordsError(StopframeError):
    """The input is not `stopframe hash` output (or a line of it is broken); names the line."""


@dataclass(frozen=True)
class LocalItem:
    """An item to send, and the file it came from (for the user's eyes only)."""

    path: str
    item: ItemToSend


@dataclass
class ReadRecords:
    """What the input gave: items to send, and (path, reason) of each record set aside."""

    items: list[LocalItem] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


def _rows(stream: TextIO) -> Iterator[tuple[int, dict[str, object]]]:
    """(line number, record) for each record: JSON lines, or CSV with its header row."""
    text = stream.read()
    if not text.strip():
        return
    if text.lstrip().startswith("{"):
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError:
                raise RecordsError(f"line {number}: not a JSON record") from None
            if not isinstance(row, dict):
                raise RecordsError(f"line {number}: not a JSON record")
            yield number, row
        return
    reader = csv.DictReader(text.splitlines())
    if reader.fieldnames is None or "status" not in reader.fieldnames:
        raise RecordsError(
            "not `stopframe hash` output: use its jsonl (default) or csv format, not te"
        )
    for number, csv_row in enumerate(reader, 2):
        yield number, {k: v for k, v in csv_row.items() if k is not None and v not in ("", None)}


def _signals(number: int, row: dict[str, object]) -> list[Signal]:
    """The record's signals of every registered kind, validated and canonical."""
    signals = []
    for kind in SIGNAL_TYPES:
        value = row.get(kind)
        if value is None:
            continue
        quality = row.get("quality") if kind == PDQ.name else None
        try:
            signals.append(
                parse_signal_value(kind, str(value), None if quality is None else int(str(quality)))
            )
        except (SignalValueError, ValueError) as exc:
            raise RecordsError(f"line {number}: {kind}: {exc}") from None
    return signals


def read_records(stream: TextIO) -> ReadRecords:
    """Items from `stopframe hash` output; records with an error or no signal are set aside."""
    found = ReadRecords()
    for number, row in _rows(stream):
        path = str(row.get("path") or f"line {number}")
        status = str(row.get("status") or "")
        if status in SKIPPED_STATUSES:
            found.skipped.append((path, str(row.get("error") or status)))
            continue
        signals = _signals(number, row)
        if not signals:
            found.skipped.append((path, "no hashes in the record"))
            continue
        media = MEDIA_OF.get(str(row.get("media_type") or ""), "other")
        found.items.append(LocalItem(path, ItemToSend(media, signals)))
    return found
