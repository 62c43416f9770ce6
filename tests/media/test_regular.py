"""Named pipes (and other non-files) are refused at once by every reader of a path, never read:
a pipe with no writer would block the reader, and the batch with it, forever."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from stopframe.errors import NotARegularFile
from stopframe.hashing.files import robust_query_of_file
from stopframe.media.regular import open_regular, require_regular
from stopframe.media.sniff import sniff_file
from stopframe.signals.exact import digests_of_file
from stopframe.signals.vpdq import hash_video

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes (POSIX)")

READERS: dict[str, Callable[[Path], object]] = {
    "open_regular": open_regular,
    "require_regular": require_regular,
    "sniff_file": sniff_file,
    "digests_of_file": digests_of_file,
    "hash_video": hash_video,
    "robust_query_of_file": robust_query_of_file,
}


@pytest.mark.parametrize("reader", sorted(READERS))
def test_a_named_pipe_is_refused_without_waiting(tmp_path: Path, reader: str) -> None:
    pipe = tmp_path / "pipe.mp4"
    os.mkfifo(pipe)
    raised: list[BaseException] = []

    def attempt() -> None:
        try:
            READERS[reader](pipe)
        except BaseException as exc:  # the test reads it below
            raised.append(exc)

    worker = threading.Thread(target=attempt, daemon=True)
    worker.start()
    worker.join(20)
    assert not worker.is_alive(), f"{reader} blocked on a named pipe"
    assert len(raised) == 1 and isinstance(raised[0], NotARegularFile)
    assert "named pipe" in str(raised[0]) and str(pipe) in str(raised[0])


def test_regular_files_and_folders_pass(tmp_path: Path) -> None:
    target = tmp_path / "file.bin"
    target.write_bytes(b"abc")
    with open_regular(target) as handle:
        assert handle.read() == b"abc"
    require_regular(target)
    require_regular(tmp_path)  # a folder is left to the reader, which names it
    with pytest.raises(IsADirectoryError):
        open_regular(tmp_path)
