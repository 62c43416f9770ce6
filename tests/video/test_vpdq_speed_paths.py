"""The faster decoding paths of vPDQ: the planning pass rewinds by seeking, and the opt-in
deblocking skip stays within the conformance tolerance on the sample videos."""

from __future__ import annotations

from pathlib import Path

import pytest

from stopframe.media.video import SparseSamplingError, VideoReader, sampling_step
from stopframe.signals.vpdq import hash_video, read_vpdq_file

pytest.importorskip("av")
pytestmark = [pytest.mark.video]

SAMPLES = (
    "chair-19-sd-bar",
    "chair-20-sd-bar",
    "doorknob-hd-no-bar",
    "pattern-hd-no-bar",
    "pattern-sd-grey-bar",
    "pattern-sd-with-large-logo-bar",
    "pattern-sd-with-small-logo-bar",
    "test-padded-dimensions",
)


def _distance(a: bytes, b: bytes) -> int:
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).bit_count()


def test_plan_rewinds_without_reopening(vpdq_dir: Path) -> None:
    video = vpdq_dir / "sample-videos" / "chair-20-sd-bar.mp4"
    with VideoReader(video, threads=1) as reader:
        container = reader._container
        plan = reader.sparse_plan(sampling_step(1.0, reader.info.fps))
        assert plan is not None and reader._container is container
        numbers = [luma.frame_number for luma in reader.frames(1.0)]
    assert numbers == list(range(0, 614, 30))


def test_packets_off_plan_fall_back(vpdq_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    video = vpdq_dir / "sample-videos" / "pattern-sd-grey-bar.mp4"
    expected = hash_video(video, rate=1.0, remove_bars=False, threads=1).lines()

    def rewind_late(self: VideoReader, stream: object, seek: bool) -> None:
        self._container.seek(2_000_000)  # lands on a later key frame than the plan's first packet

    monkeypatch.setattr(VideoReader, "_rewind", rewind_late)
    with (
        VideoReader(video, threads=1) as reader,
        pytest.raises(SparseSamplingError, match="not as"),
    ):
        list(reader.frames(1.0))
    assert hash_video(video, rate=1.0, remove_bars=False, threads=1).lines() == expected


@pytest.mark.slow
@pytest.mark.parametrize("name", SAMPLES)
def test_skip_deblocking_within_conformance_tolerance(vpdq_dir: Path, name: str) -> None:
    video = vpdq_dir / "sample-videos" / f"{name}.mp4"
    upstream = {
        f.frame_number: f for f in read_vpdq_file(vpdq_dir / "sample-hashes" / f"{name}.txt")
    }
    exact = hash_video(video, rate=1.0, remove_bars=False, threads=1)
    fast = hash_video(video, rate=1.0, remove_bars=False, threads=1, skip_deblocking=True)
    assert [f.frame_number for f in fast.frames] == [f.frame_number for f in exact.frames]
    assert [f.timestamp for f in fast.frames] == [f.timestamp for f in exact.frames]
    good = [f for f in fast.frames if upstream[f.frame_number].quality >= 80]
    assert good and max(_distance(f.digest, upstream[f.frame_number].digest) for f in good) <= 10


@pytest.mark.slow
def test_skip_deblocking_acts_on_the_decoder(vpdq_dir: Path) -> None:
    video = vpdq_dir / "sample-videos" / "chair-20-sd-bar.mp4"
    exact = hash_video(video, rate=1.0, remove_bars=False, threads=1)
    fast = hash_video(video, rate=1.0, remove_bars=False, threads=1, skip_deblocking=True)
    assert fast.lines() != exact.lines()
