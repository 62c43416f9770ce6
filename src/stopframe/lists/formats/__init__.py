"""Bulk list formats partners use, each a module with `parse(data) -> ParsedList` and `dump(...)`.

Every value read goes through `stopframe.signals.parse_signal_value`; a bad record fails the whole
import with its record number, so nothing partial is written.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

from stopframe.signals.base import Signal, SignalValueError, parse_signal_value


class FormatError(ValueError):
    """A file that is not valid for its declared format; the message names the record."""


@dataclass
class ParsedList:
    """Signals read from a partner file, and how many records carried only unsupported hashes."""

    signals: list[Signal] = field(default_factory=list)
    skipped: int = 0


def signal_at(where: str, kind: str, value: str, quality: int | None = None) -> Signal:
    """Validate one value from a file, naming the record at fault when it is bad."""
    try:
        return parse_signal_value(kind, value, quality)
    except SignalValueError as exc:
        raise FormatError(f"{where}: {exc}") from None


def load_json(data: bytes) -> object:
    """Parse a JSON partner file, or raise FormatError saying why it is not JSON."""
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise FormatError(f"not JSON: {exc}") from None


def registry_of_formats() -> dict[str, tuple[Callable, Callable, str]]:
    """Format name -> (parse, dump, media type)."""
    from stopframe.lists.formats import ncmec, projectvic, stopncii, threatexchange

    return {
        "threatexchange-csv": (threatexchange.parse_csv, threatexchange.dump_csv, "text/csv"),
        "threatexchange-text": (threatexchange.parse_text, threatexchange.dump_text, "text/plain"),
        "stopncii-json": (stopncii.parse, stopncii.dump, "application/json"),
        "ncmec-xml": (ncmec.parse, ncmec.dump, "application/xml"),
        "projectvic-json": (projectvic.parse, projectvic.dump, "application/json"),
    }
