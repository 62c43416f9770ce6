"""vPDQ text form: upstream's `frame,quality,pdq_hex,seconds` lines, read and written losslessly."""

from __future__ import annotations

from pathlib import Path

import pytest

from stopframe.signals.base import SignalValueError
from stopframe.signals.vpdq import VpdqFrame, format_vpdq_lines, parse_vpdq_lines, read_vpdq_file


def test_upstream_files_round_trip(vpdq_dir: Path) -> None:
    for path in sorted((vpdq_dir / "sample-hashes").glob("*.txt")):
        text = path.read_text()
        frames = read_vpdq_file(path)
        assert len(frames) == len(text.splitlines())
        expected = text if text.endswith("\n") else text + "\n"
        assert format_vpdq_lines(frames) == expected


def test_line_form() -> None:
    frame = VpdqFrame(30, 100, bytes.fromhex("e4" * 32), 1.0)
    assert frame.line() == f"30,100,{'e4' * 32},1.000"
    assert parse_vpdq_lines("# comment\n\n" + frame.line() + "\n") == [frame]


@pytest.mark.parametrize(
    "text",
    [
        "1,100,abc,0.0",
        f"1,100,{'g' * 64},0.0",
        f"-1,100,{'a' * 64},0.0",
        f"1,101,{'a' * 64},0.0",
        f"1,100,{'a' * 64}",
        f"x,100,{'a' * 64},0.0",
        f"1,100,{'a' * 64},-2",
        f"1,100,{'a' * 64},nan",
    ],
)
def test_bad_lines_name_the_line(text: str) -> None:
    with pytest.raises(SignalValueError, match="line 2"):
        parse_vpdq_lines(f"0,100,{'a' * 64},0.000\n{text}")


def test_video_hash_signals_pass_the_validation_gate(clip: Path) -> None:
    from stopframe.signals.base import parse_signal_value
    from stopframe.signals.vpdq import hash_video

    signals = hash_video(clip).signals()
    assert [s.kind for s in signals] == ["vpdq", "md5", "sha256"]
    for signal in signals:
        assert parse_signal_value(signal.kind, signal.value) == signal
