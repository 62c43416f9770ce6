"""Hostile and broken files: each gives a clear error or a partial result, quickly, in bounded
memory."""

from __future__ import annotations

import resource
import struct
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from stopframe.errors import CorruptMedia, LimitExceeded, MediaError, UnsupportedFormat
from stopframe.hashing.files import STATUS_ERROR, STATUS_OK, hash_file
from stopframe.media.limits import VideoLimits
from stopframe.signals.vpdq import VideoHash, hash_video

av = pytest.importorskip("av")
pytestmark = pytest.mark.video
MAX_SECONDS = 20.0
MAX_GROWTH_MB = 400


def _bounded(call, *args, **kwargs) -> VideoHash | MediaError:
    """Run `call`, returning its result or its MediaError, and check time and peak-memory growth."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    try:
        outcome = call(*args, **kwargs)
    except MediaError as exc:
        outcome = exc
    assert time.monotonic() - started < MAX_SECONDS
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < MAX_GROWTH_MB
    return outcome


def test_good_clip_hashes_fully(clip: Path) -> None:
    result = hash_video(clip, rate=0)
    assert len(result.frames) == 60 and not result.partial and result.content_box is None


def test_truncated_mp4_is_partial(clip: Path, tmp_path: Path) -> None:
    data = clip.read_bytes()
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(data[: len(data) * 6 // 10])
    result = _bounded(hash_video, truncated, rate=0)
    assert isinstance(result, VideoHash) and result.partial
    assert 0 < len(result.frames) < 60 and "truncated" in result.partial_reason


def test_truncated_mp4_without_index_is_an_error(clip_index_at_end: Path, tmp_path: Path) -> None:
    data = clip_index_at_end.read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[: len(data) // 2])
    outcome = _bounded(hash_video, tmp_path / "cut.mp4")
    assert isinstance(outcome, CorruptMedia) and "cut.mp4" in str(outcome)


def test_zero_length_file(tmp_path: Path) -> None:
    (tmp_path / "empty.mp4").write_bytes(b"")
    with pytest.raises(UnsupportedFormat, match="empty"):
        hash_video(tmp_path / "empty.mp4")


def test_audio_only_file(tmp_path: Path) -> None:
    path = tmp_path / "audio.m4a"
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("aac", rate=16000)
        for i in range(10):
            frame = av.AudioFrame.from_ndarray(
                np.zeros((1, 1024), np.float32), format="fltp", layout="mono"
            )
            frame.sample_rate, frame.pts = 16000, i * 1024
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    with pytest.raises(UnsupportedFormat, match="no video stream"):
        hash_video(path)


def test_corrupt_stream_in_the_middle_keeps_earlier_frames(clip: Path, tmp_path: Path) -> None:
    data = bytearray(clip.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 4000] = (
        np.random.default_rng(1).integers(0, 256, 4000, dtype=np.uint8).tobytes()
    )
    (tmp_path / "corrupt.mp4").write_bytes(bytes(data))
    result = _bounded(hash_video, tmp_path / "corrupt.mp4", rate=0)
    assert isinstance(result, VideoHash) and result.partial and result.partial_reason
    good = hash_video(clip, rate=0).frames
    assert 0 < len(result.frames) < len(good)
    assert result.frames[:5] == good[:5]


def _forged_avi(path: Path, width: int, height: int) -> Path:
    """A tiny raw-video AVI whose headers claim `width` x `height` frames."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("rawvideo", rate=10)
        stream.width, stream.height, stream.pix_fmt = 16, 16, "gray"
        for i in range(5):
            for packet in stream.encode(
                av.VideoFrame.from_ndarray(np.full((16, 16), i * 40, np.uint8), format="gray")
            ):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    data = bytearray(path.read_bytes())
    strf, avih = data.find(b"strf"), data.find(b"avih")
    data[strf + 12 : strf + 20] = struct.pack("<ii", width, height)  # BITMAPINFOHEADER
    data[avih + 40 : avih + 48] = struct.pack("<II", width, height)  # main AVI header
    path.write_bytes(bytes(data))
    return path


def test_absurd_resolution_header(tmp_path: Path) -> None:
    forged = _forged_avi(tmp_path / "huge.avi", 12000, 12000)
    with pytest.raises(LimitExceeded, match="12000x12000"):
        hash_video(forged)
    # With the pixel limit lifted, the lie is still caught before any big allocation.
    outcome = _bounded(hash_video, forged, limits=VideoLimits(max_pixels=10**9))
    assert isinstance(outcome, CorruptMedia)
    # Beyond what FFmpeg itself accepts, the header is refused outright.
    outcome = _bounded(hash_video, _forged_avi(tmp_path / "absurd.avi", 60000, 60000))
    assert isinstance(outcome, CorruptMedia) and "frame size" in str(outcome)


@pytest.fixture(scope="module")
def many_frames_gif(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("gif") / "many.gif"
    frames = [Image.new("P", (16, 16), i % 256) for i in range(10_000)]
    for k, frame in enumerate(frames):
        frame.putpalette([(j * 7 + k) % 256 for j in range(768)])
    frames[0].save(
        path, save_all=True, append_images=frames[1:], duration=40, loop=0, optimize=False
    )
    return path


@pytest.mark.slow
def test_ten_thousand_frame_gif(many_frames_gif: Path) -> None:
    result = _bounded(hash_video, many_frames_gif)
    assert isinstance(result, VideoHash) and not result.partial
    assert result.frame_count == 10_000 and len(result.frames) == 400  # 25 fps, one per second
    limited = _bounded(hash_video, many_frames_gif, rate=0, limits=VideoLimits(max_frames=2000))
    assert (
        isinstance(limited, VideoHash)
        and limited.partial
        and "2000 frames" in limited.partial_reason
    )
    assert len(limited.frames) == 2000
    budget = _bounded(hash_video, many_frames_gif, rate=0, limits=VideoLimits(time_budget_s=0.2))
    assert isinstance(budget, VideoHash) and budget.partial and "budget" in budget.partial_reason


@pytest.mark.slow
def test_ten_thousand_frame_webp(tmp_path: Path) -> None:
    path = tmp_path / "many.webp"
    frames = [
        Image.fromarray(np.full((16, 16, 3), (i * 37 % 256, i * 11 % 256, i % 256), np.uint8))
        for i in range(10_000)
    ]
    frames[0].save(
        path, save_all=True, append_images=frames[1:], duration=40, lossless=True, method=0
    )
    outcome = _bounded(hash_video, path)
    if isinstance(outcome, VideoHash):  # decoders that support animated WebP
        assert outcome.frame_count <= 10_000
    else:
        assert isinstance(outcome, CorruptMedia) and "many.webp" in str(outcome)


def test_limits_on_size_and_content(clip: Path, tmp_path: Path) -> None:
    with pytest.raises(LimitExceeded, match="bytes"):
        hash_video(clip, limits=VideoLimits(max_file_bytes=1000))
    (tmp_path / "text.mp4").write_text("not a video at all")
    with pytest.raises(UnsupportedFormat, match="not a known video container"):
        hash_video(tmp_path / "text.mp4")
    with pytest.raises(MediaError, match="cannot read"):
        hash_video(tmp_path / "missing.mp4")


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("STOPFRAME_MAX_PIXELS", "4000", "STOPFRAME_MAX_PIXELS"),
        ("STOPFRAME_MAX_FRAME_PIXELS", "4000", "STOPFRAME_MAX_FRAME_PIXELS"),
        ("STOPFRAME_MAX_SIDE", "64", "STOPFRAME_MAX_SIDE"),
        ("STOPFRAME_MAX_VIDEO_BYTES", "1000", "STOPFRAME_MAX_VIDEO_BYTES"),
    ],
)
def test_hash_file_applies_limits_from_the_environment(
    clip: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, named: str
) -> None:
    """The 96 x 64 clip is refused by a per-frame image limit or the video size limit set in the
    environment, with an error record naming the variable."""
    monkeypatch.setenv(variable, value)
    record = hash_file(clip)
    assert record.status == STATUS_ERROR and named in (record.error or "")
    with pytest.raises(LimitExceeded, match=named):
        hash_video(clip, remove_bars=False)


def test_frames_take_the_lower_of_the_video_and_image_pixel_limits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("STOPFRAME_MAX_PIXELS", "5000")
    assert VideoLimits.from_env().max_pixels == 5000
    monkeypatch.setenv("STOPFRAME_MAX_FRAME_PIXELS", "3000")
    assert VideoLimits.from_env().max_pixels == 3000


def test_hash_file_hashes_the_clip_within_the_limits(clip: Path) -> None:
    record = hash_file(clip)
    assert record.status == STATUS_OK and record.media_type == "video"


def test_sparse_plan_decodes_only_what_targets_need() -> None:
    from stopframe.media.video import SparsePlan

    # Decode order I0 P3 B1 B2 P6 B4 B5 | I7 P8 (a second group opening with an IDR picture).
    pts = np.array([0, 3, 1, 2, 6, 4, 5, 7, 8])
    keyframe = np.array([1, 0, 0, 0, 0, 0, 0, 1, 0], dtype=bool)
    plan = SparsePlan.build(pts, keyframe, clean=keyframe, step=3)
    assert plan.rank.tolist() == pts.tolist()
    assert plan.target.tolist() == [True, True, False, False, True, False, False, False, False]
    # Group one is needed up to P6 (a target); group two holds no target, so nothing is sent.
    assert plan.keep.tolist() == [True] * 5 + [False] * 4
    # If the second group does not open cleanly, the first one is decoded whole.
    plan = SparsePlan.build(pts, keyframe, clean=np.zeros(9, dtype=bool), step=3)
    assert plan.keep[:7].all()
    assert SparsePlan.build(np.array([0, 0]), keyframe[:2], keyframe[:2], step=2) is None
