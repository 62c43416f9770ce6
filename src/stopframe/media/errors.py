"""Typed errors for media that cannot be decoded: every message names the file and the reason."""

from __future__ import annotations


class MediaError(Exception):
    """A file that could not be turned into pixels. `path` and `reason` are kept for records."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class UnsupportedFormat(MediaError):
    """The content is not a format stopframe decodes (checked from the bytes, not the name)."""


class CorruptMedia(MediaError):
    """The content claims a known format but is truncated, malformed or unreadable."""


class LimitExceeded(MediaError):
    """The file is larger than the configured limits (bytes, pixels or side length)."""
