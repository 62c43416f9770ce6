"""Receive an upload into memory only: the request body streams into an anonymous in-memory
file (Linux `memfd`), never a temporary file on disk, and is capped at the media size limit.

The body is either `multipart/form-data` with the media in field `file` (other small fields,
such as `content_id`, are read as text) or the raw bytes with an `image/*`, `video/*` or
`application/octet-stream` content type. The memory file is readable by path
(`/proc/self/fd/N`), so the hashing code of `stopframe hash` reads it unchanged.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from types import TracebackType

from python_multipart.multipart import MultipartParser, parse_options_header

from stopframe.errors import Invalid, TooLarge, UnsupportedMedia

FILE_FIELD = "file"
MAX_FIELD_BYTES = 1024
RAW_TYPES = ("image/", "video/", "application/octet-stream")


class MemoryUpload:
    """The upload's bytes in an anonymous memory file, freed on close."""

    def __init__(self, limit: int) -> None:
        if not hasattr(os, "memfd_create"):
            raise UnsupportedMedia("media uploads need Linux (in-memory files); send hashes")
        self.fd = os.memfd_create("stopframe-upload", os.MFD_CLOEXEC)
        self.size = 0
        self.limit = limit
        self.fields: dict[str, str] = {}
        self.has_file = False

    @property
    def path(self) -> Path:
        """A path the hashing code can open."""
        return Path(f"/proc/self/fd/{self.fd}")

    def write(self, data: bytes) -> None:
        """Append media bytes; TooLarge past the limit."""
        self.size += len(data)
        if self.size > self.limit:
            raise TooLarge(f"upload over the {self.limit}-byte limit for media")
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view) :]

    def close(self) -> None:
        """Free the memory."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> MemoryUpload:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


async def receive(content_type: str, body: AsyncIterator[bytes], limit: int) -> MemoryUpload:
    """Read the request body into a `MemoryUpload`; Invalid, TooLarge or UnsupportedMedia say
    what is wrong with it."""
    upload = MemoryUpload(limit)
    try:
        kind, params = parse_options_header(content_type)
        if kind == b"multipart/form-data":
            await _multipart(upload, params.get(b"boundary"), body)
        elif kind.decode("latin-1").startswith(RAW_TYPES):
            async for chunk in body:
                upload.write(chunk)
            upload.has_file = True
        else:
            raise UnsupportedMedia(
                "send the media as multipart/form-data (field 'file') or as the raw body with "
                "an image/*, video/* or application/octet-stream content type"
            )
        if not upload.has_file:
            raise Invalid(f"no '{FILE_FIELD}' field in the form")
        if upload.size == 0:
            raise Invalid("the upload is empty")
    except BaseException:
        upload.close()
        raise
    return upload


async def _multipart(
    upload: MemoryUpload, boundary: bytes | None, body: AsyncIterator[bytes]
) -> None:
    if not boundary:
        raise Invalid("multipart body without a boundary")
    state: dict[str, object] = {"name": None, "text": bytearray(), "ended": False}
    header_field = bytearray()
    header_value = bytearray()
    headers: dict[bytes, bytes] = {}

    def on_part_begin() -> None:
        headers.clear()
        state["name"] = None
        state["text"] = bytearray()

    def on_header_field(data: bytes, start: int, end: int) -> None:
        header_field.extend(data[start:end])

    def on_header_value(data: bytes, start: int, end: int) -> None:
        header_value.extend(data[start:end])

    def on_header_end() -> None:
        headers[bytes(header_field).lower()] = bytes(header_value)
        header_field.clear()
        header_value.clear()

    def on_headers_finished() -> None:
        _, params = parse_options_header(headers.get(b"content-disposition", b""))
        name = params.get(b"name", b"").decode("utf-8", "replace")
        state["name"] = name
        if name == FILE_FIELD:
            if upload.has_file:
                raise Invalid(f"more than one '{FILE_FIELD}' field; send one upload a request")
            upload.has_file = True

    def on_part_data(data: bytes, start: int, end: int) -> None:
        if state["name"] == FILE_FIELD:
            upload.write(data[start:end])
            return
        text = state["text"]
        assert isinstance(text, bytearray)
        text.extend(data[start:end])
        if len(text) > MAX_FIELD_BYTES:
            raise Invalid(f"form field {state['name']!r} over {MAX_FIELD_BYTES} bytes")

    def on_part_end() -> None:
        name, text = state["name"], state["text"]
        if isinstance(name, str) and name != FILE_FIELD and isinstance(text, bytearray):
            upload.fields[name] = text.decode("utf-8", "replace")

    def on_end() -> None:
        state["ended"] = True

    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": on_part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
            "on_end": on_end,
        },
    )
    try:
        async for chunk in body:
            parser.write(chunk)
        parser.finalize()
    except (Invalid, TooLarge):
        raise
    except Exception as exc:  # the parser's own errors for a malformed body
        raise Invalid(f"malformed multipart body: {exc}") from None
    if not state["ended"]:  # a body cut off in transit must not be hashed as if whole
        raise Invalid("malformed multipart body: it ends before the closing boundary")
