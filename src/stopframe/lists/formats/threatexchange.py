"""ThreatExchange / HMA signal lists.

CSV: a header row with `signal_type,signal` (optional `quality`), one signal per row, as HMA's
bank exports and python-threatexchange's CSV datasets are laid out; quoted fields carry values
that span lines, so CSV carries every type. Text: `signal_type signal` per line (the
`threatexchange dataset` print style), so it carries only types whose values fit on one line.
Type names are a registered type's name or alias (pdq, video_md5, HASH_SHA256, ...); rows of
other types are counted as skipped. Types are written under their own names.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from stopframe.errors import FormatError
from stopframe.lists.formats.base import (
    ListFormat,
    ParsedList,
    Record,
    every_type,
    flatten,
    signal_at,
)
from stopframe.signals import SIGNAL_TYPES, Signal, SignalType

MAX_FIELD_CHARS = 8 << 20  # a TMK value (about 350 KB in base64) fits; csv's default is 128 KiB


def _text(data: bytes) -> str:
    """The file as text; FormatError (not a decode error) when it is not UTF-8."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FormatError(f"not UTF-8 text (byte {exc.start})") from None


def parse_csv(data: bytes) -> ParsedList:
    """Read a ThreatExchange/HMA CSV signal list; any CSV damage is a FormatError."""
    csv.field_size_limit(max(csv.field_size_limit(), MAX_FIELD_CHARS))
    try:
        return _parse_csv_rows(csv.DictReader(io.StringIO(_text(data))))
    except csv.Error as exc:
        raise FormatError(f"not a readable CSV file: {exc}") from None


def _parse_csv_rows(reader: csv.DictReader[str]) -> ParsedList:
    fields = {f.strip().lower() for f in reader.fieldnames or []}
    if not {"signal_type", "signal"} <= fields:
        raise FormatError("CSV header must name the columns signal_type and signal")
    out = ParsedList()
    for number, raw in enumerate(reader, start=2):
        if None in raw:  # DictReader files surplus fields under None
            raise FormatError(f"line {number}: more fields than the header names")
        row = {k.strip().lower(): (v or "").strip() for k, v in raw.items() if k is not None}
        signal_type = SIGNAL_TYPES.resolve(row.get("signal_type", ""))
        if signal_type is None:
            out.skipped += 1
            continue
        quality = row.get("quality") or None
        if quality is not None and not (
            quality.isascii() and quality.isdigit() and len(quality) <= 3
        ):
            raise FormatError(f"line {number}: quality must be an integer from 0 to 100")
        out.signals.append(
            signal_at(
                f"line {number}",
                signal_type,
                row.get("signal", ""),
                int(quality) if quality else None,
            )
        )
    return out


def parse_text(data: bytes) -> ParsedList:
    """Read `signal_type signal` lines; blank lines and # comments are ignored."""
    out = ParsedList()
    for number, line in enumerate(_text(data).splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(None, 1)
        if len(parts) != 2:
            raise FormatError(f"line {number}: expected 'signal_type signal'")
        signal_type = SIGNAL_TYPES.resolve(parts[0])
        if signal_type is None:
            out.skipped += 1
            continue
        if not signal_type.single_line:
            raise FormatError(
                f"line {number}: {signal_type.name} needs several lines; use the CSV format"
            )
        out.signals.append(signal_at(f"line {number}", signal_type, parts[1]))
    return out


def dump_csv(items: Sequence[Signal | Record]) -> bytes:
    """Write signals as a ThreatExchange/HMA CSV list (every type fits), each once."""
    signals = flatten(items)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["signal_type", "signal", "quality"])
    for s in signals:
        writer.writerow([s.kind, s.value, "" if s.quality is None else s.quality])
    return buffer.getvalue().encode()


def dump_text(items: Sequence[Signal | Record]) -> bytes:
    """Write `signal_type signal` lines, each signal once; FormatError for a type whose values
    span lines (vPDQ: ThreatExchange's one-line form drops frame numbers, so it is not lossless)."""
    signals = flatten(items)
    for s in signals:
        if not _one_line(s.type):
            raise FormatError(f"threatexchange-text cannot carry {s.kind}: values span lines")
    return "".join(f"{s.kind} {s.value}\n" for s in signals).encode()


def _one_line(signal_type: SignalType) -> bool:
    return signal_type.single_line


CSV = ListFormat("threatexchange-csv", "text/csv", parse_csv, dump_csv, every_type)
TEXT = ListFormat("threatexchange-text", "text/plain", parse_text, dump_text, _one_line)
