"""vPDQ values are parsed with ASCII-only patterns and sized for recordings of several hours."""

from __future__ import annotations

import hashlib

import pytest

from stopframe.errors import SignalValueError
from stopframe.signals import parse_signal_value
from stopframe.signals.vpdq import MAX_VPDQ_CHARS, VPDQ

HEX = "f" * 64


def long_recording(seconds: int) -> str:
    """A synthetic vPDQ of `seconds` frames at 1 fps of a 30 fps clip (benign, varied hex)."""
    return "\n".join(
        f"{30 * second},100,{hashlib.sha256(str(second).encode()).hexdigest()},{second:.3f}"
        for second in range(seconds)
    )


def test_a_four_hour_recording_at_one_frame_a_second_is_accepted() -> None:
    value = long_recording(4 * 3600)
    signal = parse_signal_value("vpdq", value)
    assert signal.value == value
    assert signal.value.count("\n") == 4 * 3600 - 1


def test_a_value_over_the_cap_is_refused_before_parsing() -> None:
    lines = long_recording(MAX_VPDQ_CHARS // 80 + 10)
    assert len(lines) > MAX_VPDQ_CHARS
    with pytest.raises(SignalValueError, match=f"over the limit of {MAX_VPDQ_CHARS}"):
        parse_signal_value("vpdq", lines)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (f"0,100,{HEX},nan", "timestamp"),
        (f"0,100,{HEX},inf", "timestamp"),
        (f"0,100,{HEX},-inf", "timestamp"),
        (f"0,100,{HEX},1e3", "timestamp"),
        (f"0,100,{HEX},1_0.5", "timestamp"),
        (f"0,100,{HEX},{'9' * 4000}", "timestamp"),
        (f"{'9' * 4000},100,{HEX},0.000", "frame number"),
        (f"0,{'0' * 3999}1,{HEX},0.000", "quality"),
        (f"\u0661\u0662,100,{HEX},0.000", "frame number"),  # Arabic-Indic 12
        (f"0,\uff15\uff10,{HEX},0.000", "quality"),  # fullwidth 50
        (f"0,100,{HEX},\u0663.000", "timestamp"),  # Arabic-Indic 3
        (f"1_0,100,{HEX},0.000", "frame number"),
        (f"+1,100,{HEX},0.000", "frame number"),
        (f"0,50.5,{HEX},0.000", "quality"),
        (f"0,101,{HEX},0.000", "quality"),
    ],
)
def test_numbers_are_ascii_digits_only(line: str, message: str) -> None:
    with pytest.raises(SignalValueError, match=f"line 1: {message}"):
        VPDQ.parse(line)


def test_well_formed_lines_still_parse_and_keep_their_numbers() -> None:
    signal = VPDQ.parse(f" 12,50,{HEX},3.5 \n# a comment\n\n13,0,{'0' * 64},4")
    assert signal.value == f"12,50,{HEX},3.500\n13,0,{'0' * 64},4.000"
