"""ThreatExchange / HMA signal lists.

CSV: a header row with `signal_type,signal` (optional `quality`), one signal per row, as HMA's
bank exports and python-threatexchange's CSV datasets are laid out. Text: `signal_type signal`
per line (the `threatexchange dataset` print style). Type names accepted: pdq, vpdq, md5,
video_md5, photo_md5, sha256 and the old indicator names HASH_PDQ, HASH_MD5, HASH_SHA256.
"""

from __future__ import annotations

import csv
import io

from stopframe.lists.formats import FormatError, ParsedList, signal_at
from stopframe.signals.base import Signal

TYPE_NAMES = {
    "pdq": "pdq", "hash_pdq": "pdq", "vpdq": "vpdq", "md5": "md5", "video_md5": "md5",
    "photo_md5": "md5", "hash_md5": "md5", "sha256": "sha256", "hash_sha256": "sha256",
}


def _kind(name: str) -> str | None:
    return TYPE_NAMES.get(name.strip().lower())


def parse_csv(data: bytes) -> ParsedList:
    """Read a ThreatExchange/HMA CSV signal list."""
    text = data.decode("utf-8-sig")
    reader = csv.DictReader(io.StringIO(text))
    fields = {f.strip().lower() for f in reader.fieldnames or []}
    if not {"signal_type", "signal"} <= fields:
        raise FormatError("CSV header must name the columns signal_type and signal")
    out = ParsedList()
    for number, raw in enumerate(reader, start=2):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items()}
        kind = _kind(row.get("signal_type", ""))
        if kind is None:
            out.skipped += 1
            continue
        quality = row.get("quality") or None
        if quality is not None and not quality.isdigit():
            raise FormatError(f"line {number}: quality must be an integer")
        out.signals.append(signal_at(f"line {number}", kind, row.get("signal", ""),
                                     int(quality) if quality else None))
    return out


def parse_text(data: bytes) -> ParsedList:
    """Read `signal_type signal` lines; blank lines and # comments are ignored."""
    out = ParsedList()
    for number, line in enumerate(data.decode("utf-8-sig").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(None, 1)
        if len(parts) != 2:
            raise FormatError(f"line {number}: expected 'signal_type signal'")
        kind = _kind(parts[0])
        if kind is None:
            out.skipped += 1
            continue
        if kind == "vpdq":
            raise FormatError(f"line {number}: vpdq needs several lines; use the CSV format")
        out.signals.append(signal_at(f"line {number}", kind, parts[1]))
    return out


def dump_csv(signals: list[Signal]) -> bytes:
    """Write signals as a ThreatExchange/HMA CSV list."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["signal_type", "signal", "quality"])
    for s in signals:
        writer.writerow([s.kind.value, s.value, "" if s.quality is None else s.quality])
    return buffer.getvalue().encode()


def dump_text(signals: list[Signal]) -> bytes:
    """Write `signal_type signal` lines (vPDQ is not representable on one line and is left out)."""
    return "".join(f"{s.kind.value} {s.value}\n" for s in signals if s.kind.value != "vpdq").encode()
