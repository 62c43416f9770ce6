"""Fuzz the stopncii-json partner-format parser (and its writer on what it accepts)."""

from __future__ import annotations

from tests.fuzz.formats import parse_and_round_trip


def TestOneInput(data: bytes) -> None:
    """Parse `data` as stopncii-json; only a `FormatError` may come out."""
    parse_and_round_trip("stopncii-json", data)
