"""The check shared by the partner-format harnesses: parse, and when the file is accepted, write
what was read and read it back to the same values."""

from __future__ import annotations

from stopframe.errors import FormatError
from stopframe.lists.formats import get_format


def parse_and_round_trip(name: str, data: bytes) -> None:
    """Parse `data` in format `name`; only a `FormatError` may come out of reading it."""
    fmt = get_format(name)
    try:
        parsed = fmt.parse(data)
    except FormatError:
        return
    assert all(0 <= position < len(parsed.signals) for position in parsed.categories)
    try:
        written = fmt.dump(parsed.signals, partial=True)
    except FormatError:
        return  # a type this format cannot carry in this layout (reported, never dropped)
    again = fmt.parse(written.data)
    kept = [(s.kind, s.value) for s in parsed.signals if fmt.carries(s.type)]
    assert dict.fromkeys(kept) == dict.fromkeys((s.kind, s.value) for s in again.signals)
