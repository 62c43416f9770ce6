"""Decoding limits, so that a hostile file cannot exhaust memory or time.

Defaults suit phone photos and scans; each can be set with an environment variable
(STOPFRAME_MAX_FILE_BYTES, STOPFRAME_MAX_PIXELS, STOPFRAME_MAX_SIDE) or passed explicitly.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_MAX_FILE_BYTES = 256 * 1024 * 1024
DEFAULT_MAX_PIXELS = 200_000_000  # a 16k x 12k scan fits; a 30k x 30k bomb does not
DEFAULT_MAX_SIDE = 32_768

_ENV = {
    "max_file_bytes": "STOPFRAME_MAX_FILE_BYTES",
    "max_pixels": "STOPFRAME_MAX_PIXELS",
    "max_side": "STOPFRAME_MAX_SIDE",
}


@dataclass(frozen=True, slots=True)
class MediaLimits:
    """Upper bounds checked before any pixel is decoded (header dimensions) and on file size."""

    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    max_pixels: int = DEFAULT_MAX_PIXELS
    max_side: int = DEFAULT_MAX_SIDE

    def __post_init__(self) -> None:
        for name in _ENV:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> MediaLimits:
        """Limits from STOPFRAME_* environment variables, defaults for those not set."""
        env = os.environ if environ is None else environ
        values: dict[str, int] = {}
        for name, var in _ENV.items():
            text = env.get(var, "").strip()
            if not text:
                continue
            try:
                values[name] = int(text.replace("_", ""))
            except ValueError:
                raise ValueError(f"{var} must be a positive integer, got {text!r}") from None
        return cls(**values)
