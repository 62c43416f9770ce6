"""Write the hostile-file corpus into a folder: images, videos (when PyAV is installed) and
files that are hostile by kind rather than content (empty, random, mislabelled, links, pipes)."""

from __future__ import annotations

import importlib.util
import os
import random
from pathlib import Path

from tests.hostile.images import Builders, image_builders

HAVE_AV = importlib.util.find_spec("av") is not None


def other_builders() -> Builders:
    """Files that are not media at all, whatever their names say."""
    noise = random.Random(20261201).randbytes
    return {
        "empty.jpg": lambda: b"",
        "random-4k.bin": lambda: noise(4096),
        "random-1m.jpg": lambda: noise(1 << 20),
        "text-named.jpg": lambda: b"A plain text file that says it is a photo.\n",
        "nul-bytes.png": lambda: b"\x00" * 65_536,
    }


def all_builders() -> Builders:
    """Every content-built hostile file by name; videos only when PyAV can make them."""
    builders = image_builders() | other_builders()
    if HAVE_AV:
        from tests.hostile.videos import video_builders

        builders |= video_builders()
    return builders


def write_special(folder: Path) -> list[Path]:
    """Paths that are hostile by kind: a symlink loop, a dangling link, a link to a device, a
    named pipe with no writer, and a folder that links back to itself."""
    os.symlink("loop-b.jpg", folder / "loop-a.jpg")
    os.symlink("loop-a.jpg", folder / "loop-b.jpg")
    os.symlink("no-such-file.jpg", folder / "dangling.jpg")
    os.symlink("/dev/zero", folder / "device.jpg")
    os.mkfifo(folder / "pipe.jpg")
    inner = folder / "looped-folder" / "inner"
    inner.mkdir(parents=True)
    (inner / "note.txt").write_text("a benign note\n")
    os.symlink("..", inner / "back")
    names = ("loop-a.jpg", "dangling.jpg", "device.jpg", "pipe.jpg", "looped-folder")
    return [folder / name for name in names]


def write_corpus(folder: Path) -> list[Path]:
    """Write every hostile file into `folder`; returns the paths, special files last."""
    paths = []
    for name, build in sorted(all_builders().items()):
        path = folder / name
        path.write_bytes(build())
        paths.append(path)
    return paths + write_special(folder)
