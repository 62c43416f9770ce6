"""hash_file: one record per file, with every signal or a clear reason, never an exception."""

from __future__ import annotations

import hashlib
import os
import shutil
import threading

import pytest

from stopframe.hashing.files import (
    HashOptions,
    HashRecord,
    hash_file,
    record_fields,
    robust_query_of_file,
)
from stopframe.media.limits import MediaLimits
from stopframe.samples import sample_images
from stopframe.signals import SIGNAL_TYPES
from stopframe.signals.pdq import Dihedral
from stopframe.signals.pdq_image import DecodePath
from stopframe.signals.pdq_robust import format_robust_set


def test_image_record_has_every_signal() -> None:
    path = sample_images()[0]
    record = hash_file(path)
    data = path.read_bytes()
    assert record.status == "ok" and record.error is None
    assert (record.media_type, record.format) == ("image", "jpeg")
    assert record.value("md5") == hashlib.md5(data).hexdigest()
    assert record.value("sha256") == hashlib.sha256(data).hexdigest()
    assert len(record.value("pdq")) == 64 and record.signal("pdq").quality == 100
    assert record.width > 0 and record.height > 0 and record.dihedral is None
    fields = tuple(record.to_dict())
    assert fields == record_fields()
    assert fields[:12] == (
        "path",
        "status",
        "media_type",
        "format",
        "width",
        "height",
        "pdq",
        "quality",
        "md5",
        "sha256",
        "dihedral",
        "vpdq",
    )  # as before signals
    assert fields[-2:] == ("duration_s", "error")
    assert set(SIGNAL_TYPES) <= set(fields)
    assert [s.kind for s in record.signals] == ["pdq", "md5", "sha256"]
    assert record.sha1 == hashlib.sha1(data).hexdigest() and record.robust_query is None


def test_robust_query_set_comes_from_the_same_decode_as_the_registration_set() -> None:
    path = sample_images()[0]
    both = hash_file(path, HashOptions(robust=True, robust_query=True))
    alone = hash_file(path, HashOptions(robust=True))
    assert both.value("pdq_robust") == alone.value("pdq_robust")
    assert both.robust_query == format_robust_set(robust_query_of_file(path))
    query_only = hash_file(path, HashOptions(robust_query=True))
    assert query_only.signal("pdq_robust") is None
    assert query_only.robust_query == both.robust_query


def test_dihedral_and_paths() -> None:
    path = sample_images()[0]
    fast = hash_file(path, HashOptions(dihedral=True))
    reference = hash_file(path, HashOptions(path=DecodePath.REFERENCE, dihedral=True))
    assert set(fast.dihedral) == {v.name.lower() for v in Dihedral}
    assert fast.dihedral["original"] == fast.value("pdq")
    assert bin(int(fast.value("pdq"), 16) ^ int(reference.value("pdq"), 16)).count("1") <= 10


def test_video_gets_vpdq_lines_and_exact_hashes(vectors_dir) -> None:
    video = vectors_dir / "vpdq" / "sample-videos" / "chair-20-sd-bar.mp4"
    record = hash_file(video, HashOptions(remove_bars=False))
    assert record.status == "ok" and record.error is None
    assert record.media_type == "video" and record.format == "mp4"
    assert record.value("sha256") == hashlib.sha256(video.read_bytes()).hexdigest()
    assert record.value("md5") == hashlib.md5(video.read_bytes()).hexdigest()
    assert record.value("pdq") is None
    lines = record.value("vpdq").splitlines()
    expected = (vectors_dir / "vpdq" / "pytx-expected-chair-20-sd-bar-1s.csv").read_text()
    expected_hexes = [row.split(",")[1] for row in expected.splitlines()[1:] if row]
    assert len(lines) == len(expected_hexes)
    for line, hex_value in zip(lines, expected_hexes, strict=True):
        frame, _quality, pdq_hex, _seconds = line.split(",")
        assert bin(int(pdq_hex, 16) ^ int(hex_value, 16)).count("1") <= 10, frame


def test_broken_video_is_an_error_record_not_an_exception(tmp_path, vectors_dir) -> None:
    source = (vectors_dir / "vpdq" / "sample-videos" / "chair-20-sd-bar.mp4").read_bytes()
    truncated = tmp_path / "cut.mp4"
    truncated.write_bytes(source[: len(source) // 3])
    record = hash_file(truncated)
    assert record.status in ("error", "partial") and record.error
    assert record.value("md5") == hashlib.md5(truncated.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty"),
        (b"just text\n", "not a recognised"),
        (b"\xff\xd8\xff\xe0broken", "cannot decode jpeg"),
    ],
)
def test_bad_files_give_error_records(tmp_path, content, reason) -> None:
    path = tmp_path / "photo.jpg"
    path.write_bytes(content)
    record = hash_file(path)
    assert record.status == "error" and reason in record.error and record.value("pdq") is None


def test_missing_and_unreadable(tmp_path) -> None:
    record = hash_file(tmp_path / "nope.jpg")
    assert record.status == "error" and "cannot read file" in record.error
    folder_as_file = hash_file(tmp_path)
    assert folder_as_file.status == "error" and "cannot read file" in folder_as_file.error


def test_oversized_file_still_gets_exact_hashes(tmp_path) -> None:
    path = tmp_path / "big.jpg"
    shutil.copy(sample_images()[0], path)
    record = hash_file(path, HashOptions(limits=MediaLimits(max_file_bytes=1000)))
    assert record.status == "error" and "size limit" in record.error
    assert record.value("sha256") == hashlib.sha256(path.read_bytes()).hexdigest()


def test_skip_unrecognised_option(tmp_path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello\n")
    record = hash_file(path, HashOptions(skip_unrecognised=True))
    assert record.status == "skipped"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes (POSIX)")
@pytest.mark.parametrize("skip", [False, True])
def test_a_named_pipe_is_never_read(tmp_path, skip: bool) -> None:
    """Opening a pipe with no writer for reading would block forever: it gets a record at once."""
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    done: list[HashRecord] = []
    worker = threading.Thread(
        target=lambda: done.append(hash_file(pipe, HashOptions(skip_unrecognised=skip))),
        daemon=True,
    )
    worker.start()
    worker.join(20)
    assert done, "hashing a named pipe blocked"
    record = done[0]
    assert record.status == ("skipped" if skip else "error")
    assert "named pipe" in (record.error or "") and record.signals == []
    assert record.failure == (None if skip else "NotARegularFile")
