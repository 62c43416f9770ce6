"""Our vPDQ of the sample videos against upstream's reference hash files (bars kept, as
upstream does)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from stopframe.matching.video import match_vpdq
from stopframe.signals.vpdq import VideoHash, hash_video, read_vpdq_file

pytest.importorskip("av")
pytestmark = [pytest.mark.slow, pytest.mark.video]

LOCAL = (
    "chair-19-sd-bar",
    "chair-20-sd-bar",
    "doorknob-hd-no-bar",
    "pattern-hd-no-bar",
    "pattern-sd-grey-bar",
    "pattern-sd-with-large-logo-bar",
    "pattern-sd-with-small-logo-bar",
    "test-padded-dimensions",
)


@pytest.fixture(scope="module")
def every_frame(vpdq_dir: Path) -> dict[str, VideoHash]:
    videos = vpdq_dir / "sample-videos"
    return {name: hash_video(videos / f"{name}.mp4", rate=0, remove_bars=False) for name in LOCAL}


def _distance(a: bytes, b: bytes) -> int:
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).bit_count()


def test_frame_numbers_timestamps_and_hashes(every_frame, vpdq_dir: Path) -> None:
    close = total = 0
    for name, result in every_frame.items():
        reference = read_vpdq_file(vpdq_dir / "sample-hashes" / f"{name}.txt")
        assert not result.partial
        assert [f.frame_number for f in result.frames] == [f.frame_number for f in reference]
        assert [f"{f.timestamp:.3f}" for f in result.frames] == [
            f"{f.timestamp:.3f}" for f in reference
        ]
        distances = [
            _distance(a.digest, b.digest) for a, b in zip(result.frames, reference, strict=False)
        ]
        close += sum(d <= 10 for d in distances)
        total += len(distances)
        good = [d for d, f in zip(distances, reference, strict=False) if f.quality >= 80]
        assert max(good) <= 10, name  # upstream's own tolerance for good frames
    assert total == 2272
    assert close / total >= 0.95


def test_matrix_on_our_hashes_within_five_points(every_frame, vpdq_dir: Path) -> None:
    with (vpdq_dir / "computed-vpdq-match-matrix.csv").open() as handle:
        rows = [r for r in csv.DictReader(handle) if r["query"] in LOCAL and r["compared"] in LOCAL]
    assert len(rows) == 64
    for row in rows:
        result = match_vpdq(every_frame[row["query"]].frames, every_frame[row["compared"]].frames)
        assert abs(result.query_match_pct - float(row["query_match_pct"])) <= 5, row
        assert abs(result.compared_match_pct - float(row["compared_match_pct"])) <= 5, row


def test_one_per_second_picks_frames_thirty_apart(every_frame, vpdq_dir: Path) -> None:
    video = vpdq_dir / "sample-videos" / "chair-20-sd-bar.mp4"
    sparse = hash_video(video, rate=1.0, remove_bars=False, threads=1)
    assert [f.frame_number for f in sparse.frames] == list(range(0, 614, 30))
    dense = {f.frame_number: f for f in every_frame["chair-20-sd-bar"].frames}
    assert all(f.digest == dense[f.frame_number].digest for f in sparse.frames)
    with (vpdq_dir / "pytx-expected-chair-20-sd-bar-1s.csv").open() as handle:
        expected = [bytes.fromhex(r["pdq_hex"]) for r in csv.DictReader(handle)]
    assert len(expected) == len(sparse.frames)
    assert max(_distance(f.digest, e) for f, e in zip(sparse.frames, expected, strict=False)) <= 10


def test_md5_and_metadata(every_frame, vpdq_dir: Path) -> None:
    import hashlib

    result = every_frame["chair-20-sd-bar"]
    data = (vpdq_dir / "sample-videos" / "chair-20-sd-bar.mp4").read_bytes()
    assert result.md5 == hashlib.md5(data).hexdigest()
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert (result.width, result.height, result.fps, result.frame_count) == (480, 720, 30.0, 614)
