"""Reading only regular files: a named pipe, socket or device found in a collection could block
a reader forever (a pipe with no writer) or never end (a device), so it is refused up front."""

from __future__ import annotations

import errno
import os
import stat
from typing import BinaryIO

from stopframe.errors import NotARegularFile

_KINDS = ((stat.S_ISFIFO, "a named pipe"), (stat.S_ISSOCK, "a socket"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))  # fmt: skip


def _refuse(path: str | os.PathLike[str], mode: int) -> NotARegularFile:
    kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
    return NotARegularFile(str(path), f"{kind}, not a file: never read")


def open_regular(path: str | os.PathLike[str]) -> BinaryIO:
    """`path` opened for reading, refused (`NotARegularFile`) unless it is a regular file. The
    open does not wait (a pipe with no writer would block it) and the check is on the opened
    file, so a path swapped for a pipe in between is caught too."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        if stat.S_ISDIR(mode):  # as open() would say
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
        raise _refuse(path, mode)
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def require_regular(path: str | os.PathLike[str]) -> None:
    """Raise `NotARegularFile` when `path` is a pipe, socket or device (for readers that open
    the path themselves, such as FFmpeg). A folder, or a path that cannot be looked at, is
    left to that reader, which reports it in its own words."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise _refuse(path, mode)
