"""Fuzz signal value parsing: the first byte picks a registered type (and a quality), the rest is
the value text. A value that parses must be canonical; an exact or single-hash value is at
distance 0 from itself (sets and videos whose hashes are all below the quality floor match
nothing, themselves included)."""

from __future__ import annotations

from stopframe.errors import SignalValueError
from stopframe.signals import SIGNAL_TYPES, IndexKind
from stopframe.signals.pdq_robust import NO_MATCH


def TestOneInput(data: bytes) -> None:
    """Parse `data` as a signal value; only a `SignalValueError` may come out."""
    if not data:
        return
    names = list(SIGNAL_TYPES)
    kind = SIGNAL_TYPES[names[data[0] % len(names)]]
    errors = "surrogateescape" if data[0] & 0x80 else "replace"  # lone surrogates, as JSON allows
    quality = data[0] - 100 if data[0] & 0x40 else None
    try:
        signal = kind.parse(data[1:].decode("utf-8", errors), quality)
    except SignalValueError:
        return
    assert kind.parse(signal.value, signal.quality) == signal
    distance = kind.distance(signal.value, signal.value)
    assert distance == 0 or kind.index_kind not in (IndexKind.HAMMING, IndexKind.EXACT)
    assert 0 <= distance <= NO_MATCH  # the largest distance any type reports
