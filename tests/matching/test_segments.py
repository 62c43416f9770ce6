"""Segment matching on synthetic recordings: random 256-bit codes that drift a few bits per tick
(slowly changing scenes), sampled into vPDQ frame lists as excerpts, compilations, speed changes,
other frame rates and noisy copies. No media involved; every code is generated."""

from __future__ import annotations

import numpy as np
import pytest

from stopframe.matching.segments import Segment, align_pairs, coverage, find_segments
from stopframe.matching.video import frame_pairs_within
from stopframe.signals.vpdq import VpdqFrame

TICK = 0.1  # content resolution of a synthetic recording, seconds
BITS_PER_S = 15.0  # drift of the scene: frames 1 s apart differ by ~13 bits, 3 s by ~37
TOLERANCE_S = 2.0

Part = list[tuple[float, np.ndarray]]  # (timestamp, 256 bits)


def recording(rng: np.random.Generator, seconds: float) -> np.ndarray:
    """A recording's content: one 256-bit code per tick, each bit flipping now and then."""
    ticks = int(round(seconds / TICK))
    flips = rng.random((ticks, 256)) < BITS_PER_S * TICK / 256
    flips[0] = rng.integers(0, 2, 256, dtype=bool)
    return np.logical_xor.accumulate(flips, axis=0)


def clip(
    content: np.ndarray,
    start: float,
    length: float,
    *,
    at: float = 0.0,
    fps: float = 1.0,
    speed: float = 1.0,
    noise: int = 0,
    rng: np.random.Generator | None = None,
) -> Part:
    """Frames of `content[start:start+length]` (seconds) played at `speed`, sampled at `fps`,
    placed at `at` seconds, each with `noise` random bits flipped."""
    count = int(round(length / speed * fps))
    out = []
    for i in range(count):
        source = start + speed * i / fps
        bits = content[min(int(round(source / TICK)), len(content) - 1)].copy()
        if noise:
            assert rng is not None
            bits[rng.choice(256, noise, replace=False)] ^= True
        out.append((at + i / fps, bits))
    return out


def video(*parts: Part, quality: int = 100) -> list[VpdqFrame]:
    frames = sorted((item for part in parts for item in part), key=lambda item: item[0])
    return [
        VpdqFrame(n, quality, np.packbits(bits).tobytes(), round(t, 3))
        for n, (t, bits) in enumerate(frames)
    ]


def whole(content: np.ndarray, *, at: float = 0.0, fps: float = 1.0) -> Part:
    return clip(content, 0.0, len(content) * TICK, at=at, fps=fps)


def assert_segment(seg: Segment, a: tuple[float, float], b: tuple[float, float]) -> None:
    got = (seg.start_s, seg.end_s, seg.other_start_s, seg.other_end_s)
    for value, want in zip(got, (*a, *b), strict=True):
        assert abs(value - want) <= TOLERANCE_S, f"{got} is not near {a} / {b}"


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20240611)


@pytest.fixture
def long_recording(rng: np.random.Generator) -> np.ndarray:
    return recording(rng, 600)


def test_excerpt_is_found_where_it_was_cut(long_recording: np.ndarray) -> None:
    full = video(whole(long_recording))
    excerpt = video(clip(long_recording, 290, 20))
    [seg] = find_segments(excerpt, full)
    assert_segment(seg, (0, 20), (290, 310))
    assert seg.frames >= 18
    [seg] = find_segments(full, excerpt)
    assert_segment(seg, (290, 310), (0, 20))
    assert coverage([seg], 600) == pytest.approx(20 / 600, abs=2 * TOLERANCE_S / 600)


def test_compilation_of_three_recordings(rng: np.random.Generator) -> None:
    recs = [recording(rng, 600) for _ in range(3)]
    compilation = video(
        clip(recs[0], 100, 15, at=0),
        clip(recs[1], 400, 20, at=15),
        clip(recs[2], 30, 30, at=35),
    )
    archive = video(whole(recs[0]), whole(recs[1], at=600), whole(recs[2], at=1200))
    segs = find_segments(compilation, archive)
    assert len(segs) == 3
    assert_segment(segs[0], (0, 15), (100, 115))
    assert_segment(segs[1], (15, 35), (1000, 1020))
    assert_segment(segs[2], (35, 65), (1230, 1260))
    assert coverage(segs, 65) > 0.95
    for rec, a, b in zip(
        recs, [(100, 115), (400, 420), (30, 60)], [(0, 15), (15, 35), (35, 65)], strict=True
    ):
        [seg] = find_segments(video(whole(rec)), compilation)
        assert_segment(seg, a, b)


@pytest.mark.parametrize("speed", [0.9, 1.1])
def test_speed_change_is_found_and_localised(
    rng: np.random.Generator, long_recording: np.ndarray, speed: float
) -> None:
    padding = clip(recording(rng, 30), 0, 30)  # unrelated lead-in before the excerpt in B
    sped = video(padding, clip(long_recording, 200, 40, at=30, speed=speed))
    [seg] = find_segments(video(whole(long_recording)), sped)
    assert_segment(seg, (200, 240), (30, 30 + 40 / speed))


@pytest.mark.parametrize(("fps_a", "fps_b"), [(1.0, 2.0), (2.0, 1.0), (1.0, 0.5)])
def test_different_sampling_rates(long_recording: np.ndarray, fps_a: float, fps_b: float) -> None:
    a = video(clip(long_recording, 50, 60, fps=fps_a))
    b = video(whole(long_recording, fps=fps_b))
    [seg] = find_segments(a, b)
    assert_segment(seg, (0, 60), (50, 110))


def test_noisy_copy_is_found(rng: np.random.Generator, long_recording: np.ndarray) -> None:
    noisy = video(clip(long_recording, 120, 45, at=10, noise=20, rng=rng))
    [seg] = find_segments(video(whole(long_recording)), noisy)
    assert_segment(seg, (120, 165), (10, 55))
    assert seg.frames >= 40


def test_unrelated_recordings_share_nothing(rng: np.random.Generator) -> None:
    assert find_segments(video(whole(recording(rng, 120))), video(whole(recording(rng, 120)))) == []


def test_short_coincidences_are_dropped_and_small_gaps_merged(long_recording: np.ndarray) -> None:
    full = video(whole(long_recording))
    flash = video(clip(long_recording, 300, 2))  # 2 frames: under min_frames
    assert find_segments(flash, full) == []
    assert len(find_segments(flash, full, min_frames=2)) == 1
    # B lacks 3 s of the excerpt (a cut): still one segment, with all its frames
    cut = video(clip(long_recording, 100, 20), clip(long_recording, 123, 20, at=20))
    [seg] = find_segments(full, cut)
    assert_segment(seg, (100, 143), (0, 40))
    assert 40 <= seg.frames <= 44  # the frames either side of the cut still look alike
    # a 10 s cut is more than the default gap; a wider max_gap_s joins the two runs again
    long_cut = video(clip(long_recording, 100, 20), clip(long_recording, 130, 20, at=20))
    first, second = find_segments(full, long_cut)
    assert_segment(first, (100, 120), (0, 20))
    assert_segment(second, (130, 150), (20, 40))
    [seg] = find_segments(full, long_cut, max_gap_s=12.0)
    assert_segment(seg, (100, 150), (0, 40))


def test_low_quality_frames_are_ignored(long_recording: np.ndarray) -> None:
    full = video(whole(long_recording))
    blurry = video(clip(long_recording, 300, 20), quality=10)
    assert find_segments(blurry, full) == []
    assert len(find_segments(blurry, full, quality_min=0)) == 1


def test_static_recording_gives_one_segment(rng: np.random.Generator) -> None:
    still = np.tile(rng.integers(0, 2, 256, dtype=bool), (6000, 1))  # 600 s, every frame equal
    frames = video(whole(still))
    segs = find_segments(frames, frames)
    assert [(s.start_s, s.end_s, s.other_start_s, s.other_end_s, s.frames) for s in segs] == [
        (0.0, 600.0, 0.0, 600.0, 600)
    ]


def test_every_frame_matching_every_frame_stays_bounded() -> None:
    times = np.arange(600, dtype=np.float64)
    a_rows, b_rows = (m.ravel() for m in np.meshgrid(np.arange(600), np.arange(300), indexing="ij"))
    segs = align_pairs(times, times[:300], a_rows, b_rows)
    # one segment: B's 300 s against some 300-336 s of A (any speed within tolerance fits)
    [seg] = segs
    assert 300 - TOLERANCE_S <= seg.duration_s <= 336
    assert (seg.other_start_s, seg.other_end_s) == (0.0, 300.0)


def test_empty_inputs() -> None:
    empty = np.zeros(0)
    assert align_pairs(empty, empty, empty.astype(int), empty.astype(int)) == []
    assert find_segments([], []) == []
    some = video(clip(recording(np.random.default_rng(1), 30), 0, 30))
    assert find_segments(some, []) == []
    assert find_segments([], some) == []
    assert coverage([], 10) == 0.0


def test_pair_order_does_not_matter(rng: np.random.Generator) -> None:
    recs = [recording(rng, 300) for _ in range(2)]
    a = video(clip(recs[0], 20, 25), clip(recs[1], 100, 30, at=25), clip(recs[0], 200, 15, at=55))
    b = video(whole(recs[0]), whole(recs[1], at=300))
    codes = [np.array([np.frombuffer(f.digest, ">u8") for f in v], dtype=np.uint64) for v in (a, b)]
    found = list(frame_pairs_within(codes[0], codes[1]))
    rows_a = np.concatenate([q for q, _ in found])
    rows_b = np.concatenate([c for _, c in found])
    times = [np.array([f.timestamp for f in v]) for v in (a, b)]
    expected = align_pairs(times[0], times[1], rows_a, rows_b)
    assert len(expected) == 3
    for _ in range(5):
        order = rng.permutation(len(rows_a))
        assert align_pairs(times[0], times[1], rows_a[order], rows_b[order]) == expected


def test_ten_minutes_with_scattered_pairs_align_on_the_diagonal(rng: np.random.Generator) -> None:
    # every A frame near 3 B frames on the true diagonal and 3 more scattered at random
    a_rows = np.repeat(np.arange(600), 6)
    b_rows = np.clip(a_rows + np.tile([-1, 0, 1, 0, 0, 0], 600), 0, 599)
    b_rows[3::6] = rng.integers(0, 600, 600)
    b_rows[4::6] = rng.integers(0, 600, 600)
    b_rows[5::6] = rng.integers(0, 600, 600)
    times = np.arange(600, dtype=np.float64)
    [seg] = align_pairs(times, times, a_rows, b_rows)
    assert (seg.start_s, seg.end_s) == (0.0, 600.0)


def test_coverage_counts_overlaps_once_and_clips() -> None:
    segs = [Segment(-5, 10, 0, 15, 15), Segment(5, 20, 0, 15, 15), Segment(90, 130, 0, 40, 40)]
    assert coverage(segs, 100) == pytest.approx(0.3)
    assert coverage(segs, 0) == 0.0


@pytest.mark.parametrize(("slope", "one_segment"), [(0.9, True), (1.1, True), (0.8, False)])
def test_speed_beyond_tolerance_does_not_chain(slope: float, one_segment: bool) -> None:
    # each A frame matched to the B frame nearest slope x its time: within 12 % it is one run
    times = np.arange(600, dtype=np.float64)
    a_rows = np.arange(600)
    b_rows = np.round(slope * a_rows).astype(np.intp)
    inside = b_rows < 600
    segs = align_pairs(times, times, a_rows[inside], b_rows[inside])
    if one_segment:
        [seg] = segs
        assert seg.start_s == 0.0 and seg.end_s >= 540
    else:
        assert len(segs) > 1
        assert max(s.duration_s for s in segs) < 100
