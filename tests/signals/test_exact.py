"""MD5 and SHA-256 of file bytes agree with hashlib, however the bytes arrive."""

from __future__ import annotations

import hashlib
import io

from hypothesis import given, settings
from hypothesis import strategies as st

from stopframe.signals.exact import digests_of_bytes, digests_of_file, digests_of_stream


@settings(deadline=None)  # timing varies on loaded machines; not a speed test
@given(st.binary(max_size=5000), st.integers(1, 700))
def test_streamed_digests_match_hashlib(data: bytes, chunk: int) -> None:
    expected = (
        hashlib.md5(data).hexdigest(),
        hashlib.sha256(data).hexdigest(),
        hashlib.sha1(data).hexdigest(),
    )
    streamed = digests_of_stream(io.BytesIO(data), chunk_bytes=chunk)
    assert (streamed.md5, streamed.sha256, streamed.sha1) == expected
    assert digests_of_bytes(data) == streamed


def test_file_digests(tmp_path) -> None:
    path = tmp_path / "blob.bin"
    data = bytes(range(256)) * 9000  # spans several read chunks
    path.write_bytes(data)
    result = digests_of_file(path)
    assert result.md5 == hashlib.md5(data).hexdigest()
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert digests_of_file(empty).sha256 == hashlib.sha256(b"").hexdigest()
