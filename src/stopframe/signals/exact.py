"""Exact-copy signals: MD5 and SHA-256 of a file's bytes, both from a single streamed read.

MD5 is kept because the hash lists platforms and NGOs exchange still carry it. SHA-1 is computed
in the same read but is no signal type: investigators' case files (Project VIC) record it.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import BinaryIO

from stopframe.media.regular import open_regular
from stopframe.signals.base import ContentType, DigestType

CHUNK_BYTES = 1 << 20


class Md5Signal(DigestType):
    """MD5 of the file bytes, 32 hex characters: exact copies only."""

    name = "md5"
    contents = (ContentType.PHOTO, ContentType.VIDEO)
    description = "MD5 of the file bytes (exact copies)"
    hex_chars = 32
    aliases = ("hash_md5", "photo_md5", "video_md5")


class Sha256Signal(DigestType):
    """SHA-256 of the file bytes, 64 hex characters: exact copies only."""

    name = "sha256"
    contents = (ContentType.PHOTO, ContentType.VIDEO)
    description = "SHA-256 of the file bytes (exact copies)"
    hex_chars = 64
    aliases = ("hash_sha256", "photo_sha256", "video_sha256")


MD5 = Md5Signal()
SHA256 = Sha256Signal()


@dataclass(frozen=True, slots=True)
class ExactDigests:
    """Lowercase hex digests of one file's bytes."""

    md5: str
    sha256: str
    sha1: str | None = None


class DigestStream:
    """Feed bytes in any number of pieces; read the digests at the end."""

    def __init__(self) -> None:
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._sha1 = hashlib.sha1(usedforsecurity=False)
        self._sha256 = hashlib.sha256()

    def update(self, data: bytes) -> None:
        self._md5.update(data)
        self._sha1.update(data)
        self._sha256.update(data)

    def result(self) -> ExactDigests:
        return ExactDigests(self._md5.hexdigest(), self._sha256.hexdigest(), self._sha1.hexdigest())


def digests_of_bytes(data: bytes) -> ExactDigests:
    """MD5 and SHA-256 of bytes already in memory."""
    stream = DigestStream()
    stream.update(data)
    return stream.result()


def digests_of_stream(handle: BinaryIO, chunk_bytes: int = CHUNK_BYTES) -> ExactDigests:
    """MD5 and SHA-256 of everything left in `handle`, read once in chunks (bounded memory)."""
    stream = DigestStream()
    while chunk := handle.read(chunk_bytes):
        stream.update(chunk)
    return stream.result()


def digests_of_file(path: str | os.PathLike[str]) -> ExactDigests:
    """MD5 and SHA-256 of the file at `path`, streamed."""
    with open_regular(path) as handle:
        return digests_of_stream(handle)
