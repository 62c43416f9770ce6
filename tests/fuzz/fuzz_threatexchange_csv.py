"""Fuzz the threatexchange-csv partner-format parser (and its writer on what it accepts)."""

from __future__ import annotations

from tests.fuzz.formats import parse_and_round_trip


def TestOneInput(data: bytes) -> None:
    """Parse `data` as threatexchange-csv; only a `FormatError` may come out."""
    parse_and_round_trip("threatexchange-csv", data)
