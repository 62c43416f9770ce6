"""Validation of signal values arriving from outside: the one gate every layer relies on."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stopframe.signals import SignalKind, SignalValueError, parse_signal_value


@given(st.binary(min_size=32, max_size=32))
def test_pdq_hex_round_trips_and_is_lowercased(digest: bytes) -> None:
    signal = parse_signal_value("pdq", digest.hex().upper(), 90)
    assert signal.value == digest.hex()
    assert bytes.fromhex(signal.value) == digest
    assert signal.quality == 90


@pytest.mark.parametrize(
    ("kind", "value", "quality", "message"),
    [
        ("pdq", "ab" * 31, 80, "64 hex characters"),
        ("pdq", "zz" * 32, 80, "only hex digits"),
        ("pdq", "ab" * 32, 101, "0 to 100"),
        ("md5", "ab" * 16, 50, "no quality"),
        ("sha1", "ab" * 20, None, "unknown signal kind"),
        ("vpdq", "0,100,abc,0.0", None, "line 1: pdq must be 64 hex characters"),
        ("vpdq", "", None, "at least one frame"),
    ],
)
def test_malformed_values_are_rejected_with_a_reason(kind, value, quality, message) -> None:
    with pytest.raises(SignalValueError, match=message):
        parse_signal_value(kind, value, quality)


def test_vpdq_lines_are_canonicalised() -> None:
    text = f"0,100,{'AB' * 32},0\n\n30,90,{'cd' * 32},1.0\n"
    signal = parse_signal_value(SignalKind.VPDQ, text)
    assert signal.value == f"0,100,{'ab' * 32},0.000\n30,90,{'cd' * 32},1.000"
