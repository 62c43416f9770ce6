"""Validation of signal values arriving from outside: the one gate every layer relies on."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stopframe.signals import SIGNAL_TYPES, VPDQ, SignalValueError, parse_signal_value


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
        ("sha1", "ab" * 20, None, "unknown signal type"),
        ("vpdq", "0,100,abc,0.0", None, "line 1: pdq must be 64 hex characters"),
        ("vpdq", "", None, "at least one frame"),
    ],
)
def test_malformed_values_are_rejected_with_a_reason(kind, value, quality, message) -> None:
    with pytest.raises(SignalValueError, match=message):
        parse_signal_value(kind, value, quality)


def test_vpdq_lines_are_canonicalised() -> None:
    text = f"0,100,{'AB' * 32},0\n\n30,90,{'cd' * 32},1.0\n"
    signal = parse_signal_value(VPDQ.name, text)
    assert signal.value == f"0,100,{'ab' * 32},0.000\n30,90,{'cd' * 32},1.000"


def test_partner_names_resolve_to_the_registered_type() -> None:
    assert SIGNAL_TYPES.resolve("VIDEO_MD5") is SIGNAL_TYPES["md5"]
    assert SIGNAL_TYPES.resolve("hash_pdq") is SIGNAL_TYPES["pdq"]
    assert SIGNAL_TYPES.resolve("tlsh") is None


def test_each_type_states_its_facts() -> None:
    for signal_type in SIGNAL_TYPES.values():
        assert signal_type.contents and signal_type.description
        assert 0 <= signal_type.default_threshold <= max(signal_type.max_threshold, 0)
        assert signal_type.has_quality or signal_type.quality_floor == 0


@given(st.binary(min_size=32, max_size=32), st.binary(min_size=32, max_size=32))
def test_pdq_distance_is_the_bit_count_and_matches_follow_the_threshold(a: bytes, b: bytes) -> None:
    pdq = SIGNAL_TYPES["pdq"]
    bits = (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).bit_count()
    assert pdq.distance(a.hex(), b.hex()) == bits
    assert pdq.matches(a.hex(), b.hex()) == (bits <= 31)


def test_vpdq_distance_is_the_share_of_unmatched_query_frames() -> None:
    near, far = "ab" * 32, "54" * 32  # 0x54 = ~0xab: every bit differs
    query = f"0,100,{near},0\n1,100,{far},1"
    assert VPDQ.distance(query, f"0,100,{near},0") == 50
    assert VPDQ.distance(f"0,100,{near},0", query) == 0
    assert not VPDQ.matches(query, f"0,100,{near},0")


def test_robust_set_round_trips_and_refuses_oversized_sets() -> None:
    robust = SIGNAL_TYPES["pdq_robust"]
    lines = [f"crop{i},{60 + i},{i:064x}" for i in range(3)]
    signal = parse_signal_value("pdq_robust", "\n".join(lines).upper().replace("CROP", "crop"), 60)
    assert signal.value == "\n".join(lines)
    assert robust.distance(signal.value, lines[1]) == 0
    with pytest.raises(SignalValueError, match="at most 32"):
        parse_signal_value("pdq_robust", "\n".join(f"c{i},90,{i:064x}" for i in range(33)))
    with pytest.raises(SignalValueError, match="line 1"):
        parse_signal_value("pdq_robust", "crop,90,xyz")
