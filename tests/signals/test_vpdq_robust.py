"""The `vpdq_robust` list kind: its line format, strict validation of hostile values, and the
registration variants it carries (whole frame, 3 x 3 crops, small rotations)."""

from __future__ import annotations

import numpy as np
import pytest

from stopframe.errors import SignalValueError
from stopframe.signals import SIGNAL_TYPES, VPDQ_ROBUST, parse_signal_value
from stopframe.signals.vpdq_robust import (
    MAX_VPDQ_ROBUST_CHARS,
    REGISTER_RATE,
    ROBUST_NAMES,
    RobustFrame,
    format_robust_lines,
    parse_robust_lines,
    register_frame,
)

HEX = "f" * 64
GOOD = f"0,full,100,{HEX},0.000\n0,crop-tl,90,{'0' * 64},0.000\n15,rotate+4,80,{HEX},0.500"


def test_the_kind_is_registered_after_the_others() -> None:
    assert list(SIGNAL_TYPES)[-1] == VPDQ_ROBUST.name
    assert SIGNAL_TYPES[VPDQ_ROBUST.name] is VPDQ_ROBUST


def test_lines_round_trip_and_canonical_form_is_stable() -> None:
    frames = parse_robust_lines(GOOD)
    assert [(f.frame_number, f.variant, f.quality) for f in frames] == [
        (0, "full", 100),
        (0, "crop-tl", 90),
        (15, "rotate+4", 80),
    ]
    assert frames[2].timestamp == 0.5 and frames[0].digest == bytes.fromhex(HEX)
    assert format_robust_lines(frames).rstrip("\n") == GOOD
    spaced = "# a comment\n\n " + GOOD.replace(",", " , ").replace(HEX, HEX.upper())
    assert VPDQ_ROBUST.canonical(spaced) == GOOD
    assert parse_signal_value(VPDQ_ROBUST.name, GOOD).value == GOOD


def test_the_variant_names_are_the_whole_frame_the_grid_and_the_rotations() -> None:
    assert ROBUST_NAMES[0] == "full" and len(ROBUST_NAMES) == 12
    assert ROBUST_NAMES[1:10] == tuple(f"crop-{v}{h}" for v in "tmb" for h in "lcr")
    assert ROBUST_NAMES[10:] == ("rotate-4", "rotate+4")


@pytest.mark.parametrize(
    "line",
    [
        f"0,full,100,{HEX}",  # four fields
        f"0,full,100,{HEX},0.0,extra",
        f"0,whole,100,{HEX},0.0",  # not a variant name
        f"0,full\x00,100,{HEX},0.0",
        f"-1,full,100,{HEX},0.0",
        f"12345678901,full,100,{HEX},0.0",  # 11 digits
        f"\u0661,full,100,{HEX},0.0",  # another script's digit
        f"0,full,101,{HEX},0.0",
        f"0,full,1e2,{HEX},0.0",
        f"0,full,100,{HEX[:-1]},0.0",
        f"0,full,100,{'g' * 64},0.0",
        f"0,full,100,{HEX},nan",
        f"0,full,100,{HEX},inf",
        f"0,full,100,{HEX},1e3",
        f"0,full,100,{HEX},1_000",
        f"0,full,100,{HEX},-1.0",
        f"0,full,100,{HEX},{'9' * 11}",
    ],
)
def test_hostile_lines_are_refused_naming_the_line(line: str) -> None:
    with pytest.raises(SignalValueError, match="line 2"):
        parse_robust_lines(f"0,full,100,{HEX},0.000\n{line}")
    with pytest.raises(SignalValueError):
        VPDQ_ROBUST.canonical(line)


def test_empty_and_oversized_values_are_refused() -> None:
    with pytest.raises(SignalValueError, match="at least one"):
        VPDQ_ROBUST.canonical("# nothing\n")
    with pytest.raises(SignalValueError):
        parse_signal_value(VPDQ_ROBUST.name, "x" * (MAX_VPDQ_ROBUST_CHARS + 1))


def test_the_size_bound_holds_four_hours_at_the_registration_rate() -> None:
    longest = RobustFrame(9_999_999_999, "crop-mc", 100, b"\xff" * 32, 99_999.999).line()
    frames = round(4 * 3600 / REGISTER_RATE)
    assert frames * len(ROBUST_NAMES) * (len(longest) + 1) <= MAX_VPDQ_ROBUST_CHARS


def test_distance_is_the_share_of_unmatched_good_hashes() -> None:
    other = f"0,full,100,{'0' * 64},0.000"
    assert VPDQ_ROBUST.distance(GOOD, GOOD) == 0
    assert VPDQ_ROBUST.distance(other, GOOD) == 0
    assert VPDQ_ROBUST.distance(f"0,full,100,{'5' * 64},0.000", GOOD) == 100
    assert VPDQ_ROBUST.distance(f"0,full,10,{HEX},0.000", GOOD) == 100  # below the floor


def test_a_frame_gets_each_variant_and_turns_differ_from_the_frame() -> None:
    rng = np.random.default_rng(5)
    plane = np.kron(rng.uniform(0, 255, (12, 16)), np.ones((20, 20)))
    hashes = register_frame(plane, 1.0, 0.0, rotations=(-4.0, 4.0))
    assert len(hashes) == len(ROBUST_NAMES)
    assert len({h.digest for h in hashes}) == len(hashes)
    assert register_frame(plane, 1.0, 0.0)[:10] == hashes[:10]
