"""The signal interface: what kinds of hash exist, how their values are written and validated.

Every layer after `signals` (index, registry, matcher, triage) speaks in these terms, so a value
is validated once, here, whichever door it came in by.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class SignalKind(StrEnum):
    """A kind of hash. The string values are the names used in files, APIs and the database."""

    PDQ = "pdq"  # 256-bit perceptual image hash, 64 lowercase hex characters
    VPDQ = "vpdq"  # video: lines of frame_number,quality,pdq_hex,timestamp_seconds
    MD5 = "md5"  # 128-bit digest of the file bytes, 32 hex characters
    SHA256 = "sha256"  # 256-bit digest of the file bytes, 64 hex characters


class SignalValueError(ValueError):
    """A signal value that is not well formed for its kind; the message says what is wrong."""


_HEX_LENGTHS = {SignalKind.PDQ: 64, SignalKind.MD5: 32, SignalKind.SHA256: 64}
_HEX = re.compile(r"[0-9a-f]*")
PDQ_QUALITY_MIN_FOR_MATCH = 50


@dataclass(frozen=True, slots=True)
class Signal:
    """One hash of one piece of media.

    `value` is the canonical text form (lowercase hex for pdq/md5/sha256, vPDQ lines for vpdq).
    `quality` is 0-100 for perceptual kinds (how much structure the image has) and None for
    exact digests.
    """

    kind: SignalKind
    value: str
    quality: int | None = None


def parse_hex_value(kind: SignalKind, value: str) -> str:
    """Return `value` as canonical lowercase hex for a fixed-length kind, else SignalValueError."""
    length = _HEX_LENGTHS[kind]
    text = value.strip().lower()
    if len(text) != length:
        raise SignalValueError(f"{kind.value} must be {length} hex characters, got {len(text)}")
    if not _HEX.fullmatch(text):
        raise SignalValueError(f"{kind.value} must contain only hex digits 0-9a-f")
    return text


def parse_quality(quality: int | None, kind: SignalKind) -> int | None:
    """Check a quality score: 0-100 for perceptual kinds, absent for exact digests."""
    if kind in (SignalKind.MD5, SignalKind.SHA256):
        if quality is not None:
            raise SignalValueError(f"{kind.value} has no quality; leave it out")
        return None
    if quality is None:
        return None
    if isinstance(quality, bool) or not isinstance(quality, int) or not 0 <= quality <= 100:
        raise SignalValueError(f"quality must be an integer from 0 to 100, got {quality!r}")
    return quality


def parse_vpdq_lines(value: str) -> str:
    """Validate vPDQ text (one `frame,quality,pdq_hex,seconds` per line) and return it canonical."""
    lines = [line.strip() for line in value.strip().splitlines() if line.strip()]
    if not lines:
        raise SignalValueError("vpdq must have at least one frame line")
    out = []
    for number, line in enumerate(lines, start=1):
        parts = line.split(",")
        if len(parts) != 4:
            raise SignalValueError(f"vpdq line {number}: expected 4 comma-separated fields")
        frame, quality, pdq_hex, seconds = parts
        try:
            frame_number = int(frame)
            quality_value = int(quality)
            timestamp = float(seconds)
        except ValueError as exc:
            raise SignalValueError(f"vpdq line {number}: {exc}") from None
        if frame_number < 0 or not 0 <= quality_value <= 100 or timestamp < 0:
            raise SignalValueError(f"vpdq line {number}: frame, quality or time out of range")
        try:
            pdq_text = parse_hex_value(SignalKind.PDQ, pdq_hex)
        except SignalValueError as exc:
            raise SignalValueError(f"vpdq line {number}: {exc}") from None
        out.append(f"{frame_number},{quality_value},{pdq_text},{timestamp:.3f}")
    return "\n".join(out)


def parse_signal_value(kind: SignalKind | str, value: str, quality: int | None = None) -> Signal:
    """Validate a signal arriving from outside (file, API, import) and return it canonical."""
    try:
        kind = SignalKind(kind)
    except ValueError:
        known = ", ".join(k.value for k in SignalKind)
        raise SignalValueError(f"unknown signal kind {kind!r}; expected one of {known}") from None
    if not isinstance(value, str):
        raise SignalValueError(f"{kind.value} value must be text")
    text = parse_vpdq_lines(value) if kind is SignalKind.VPDQ else parse_hex_value(kind, value)
    return Signal(kind, text, parse_quality(quality, kind))
