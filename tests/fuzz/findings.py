"""Inputs the fuzzers found that once made a target raise something other than its typed error,
each with the bug it showed; `test_fuzz` replays them so the fixes stay."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tests.fuzz.seeds import PDQ_HEX


@dataclass(frozen=True)
class Finding:
    """One reproducer: the harness it broke, a name, how to build the input, and the bug."""

    target: str
    name: str
    build: Callable[[], bytes]
    bug: str


def _csv(body: str) -> Callable[[], bytes]:
    return lambda: f"signal_type,signal,quality\n{body}\n".encode()


def _unknown_codec_mp4() -> bytes:
    from tests.hostile.videos import clip, patch_box

    return patch_box(clip(".mp4", "libx264", frames=4, faststart=True), b"stsd", 12, b"avc0")


CSV_ROW = "stopframe.lists.formats.threatexchange.parse_csv"
FINDINGS = (
    Finding(
        "threatexchange_csv",
        "extra-field",
        _csv(f"pdq,{PDQ_HEX},50,extra"),
        f"{CSV_ROW}: a row with more fields than the header gives DictReader a list under the "
        "key None, and `(v or '').strip()` raises AttributeError",
    ),
    Finding(
        "threatexchange_csv",
        "nul-then-carriage-return",
        lambda: b"signal_type,signal\r\x00\r",
        f"{CSV_ROW}: the csv module raises csv.Error ('new-line character seen in unquoted "
        "field') for a carriage return after a NUL; csv.Error is not caught",
    ),
    Finding(
        "threatexchange_csv",
        "superscript-quality",
        _csv(f"pdq,{PDQ_HEX},\u00b2"),
        f"{CSV_ROW}: str.isdigit() accepts '\u00b2' (superscript two) but int() refuses it: "
        "ValueError instead of FormatError",
    ),
    Finding(
        "threatexchange_csv",
        "quality-of-5000-digits",
        _csv(f"pdq,{PDQ_HEX},{'9' * 5000}"),
        f"{CSV_ROW}: int() of a quality over 4300 digits raises ValueError (Python's integer "
        "string limit) instead of FormatError",
    ),
    Finding(
        "threatexchange_csv",
        "field-over-csv-limit",
        lambda: b'signal_type,signal\npdq,"' + b"0" * 140_000 + b'"\n',
        f"{CSV_ROW}: a field over 131072 characters makes the csv module raise csv.Error "
        "('field larger than field limit'), which is not caught",
    ),
    Finding(
        "ncmec",
        "unknown-xml-encoding",
        lambda: b'<?xml version="1.0" encoding="UTF-6"?><queryResult/>',
        "stopframe.lists.formats.ncmec.parse: expat raises LookupError ('unknown encoding') "
        "for an unknown encoding declaration; only ParseError and DefusedXmlException are caught",
    ),
    Finding(
        "ncmec",
        "multibyte-xml-encoding",
        lambda: b'<?xml version="1.0" encoding="UTF-7"?><queryResult/>',
        "stopframe.lists.formats.ncmec.parse: expat raises ValueError ('multi-byte encodings "
        "are not supported') for encoding UTF-7; not caught",
    ),
    Finding(
        "video",
        "unknown-codec-fourcc",
        _unknown_codec_mp4,
        "stopframe.media.video.VideoReader._probe: for an MP4 whose sample entry is 'avc0' (an "
        "unknown codec) PyAV gives stream.codec_context = None and reading .width raises "
        "AttributeError (the CLI reports 'internal error while hashing')",
    ),
)
