"""TMK+PDQF: conformance with Meta's reference `.tmk` hashes of the sample videos, the file format
byte for byte, the two score levels, the signal type, and clear errors for hostile input."""

from __future__ import annotations

import base64
import itertools
import json
import struct
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from stopframe.cli import app
from stopframe.errors import FormatError, MediaError, SignalValueError
from stopframe.lists.formats import ncmec, stopncii
from stopframe.matching.tmk import TmkIndex
from stopframe.media.limits import VideoLimits
from stopframe.signals import SIGNAL_TYPES, TMK, parse_signal_value
from stopframe.signals.tmk import (
    COEFFICIENTS,
    PERIODS,
    STANDARD_BYTES,
    RateConverter,
    TmkAccumulator,
    TmkFeatures,
    compare,
    hash_video_tmk,
    level1_score,
    level2_score,
    parse_tmk,
    read_tmk,
    tmk_text,
    write_tmk,
)

runner = CliRunner()
MIN_SCORE = 0.99  # the vectors' README: "within round-off and decoder differences"


@pytest.fixture(scope="module")
def reference(vectors_dir: Path) -> dict[str, Path]:
    """The reference `.tmk` files by video name."""
    folder = vectors_dir / "tmk" / "sample-hashes"
    found = {path.stem: path for path in sorted(folder.glob("*.tmk"))}
    if not found:
        pytest.skip(f"no reference .tmk files in {folder}")
    return found


@pytest.fixture(scope="module")
def hashed(vectors_dir: Path, reference: dict[str, Path]) -> dict[str, TmkFeatures]:
    """stopframe's TMK of every sample video that has a reference hash."""
    pytest.importorskip("av", reason="hashing videos needs PyAV (the `video` extra)")
    videos = vectors_dir / "vpdq" / "sample-videos"
    missing = [name for name in reference if not (videos / f"{name}.mp4").is_file()]
    if missing:
        pytest.skip(f"sample videos missing from {videos}: {', '.join(missing)}")
    out = {}
    for name in reference:
        result = hash_video_tmk(videos / f"{name}.mp4")
        assert not result.partial, result.partial_reason
        out[name] = result.features
    return out


def test_reference_files_read_and_write_back_byte_exact(reference: dict[str, Path]) -> None:
    for path in reference.values():
        data = path.read_bytes()
        features = read_tmk(path)
        assert len(data) == STANDARD_BYTES
        assert features.is_standard()
        assert features.to_bytes() == data
        assert TMK.features(TMK.canonical(data.hex())).to_bytes() == data


def test_coefficients_and_periods_are_upstreams(reference: dict[str, Path]) -> None:
    features = read_tmk(next(iter(reference.values())))
    assert features.coefficients.tobytes() == COEFFICIENTS.tobytes()
    assert tuple(features.periods.tolist()) == PERIODS


def test_each_sample_video_scores_against_its_reference(
    reference: dict[str, Path], hashed: dict[str, TmkFeatures]
) -> None:
    for name, path in reference.items():
        expected, mine = read_tmk(path), hashed[name]
        assert mine.frame_count == expected.frame_count, name
        assert level1_score(mine, expected) >= MIN_SCORE, name
        assert level2_score(mine, expected) >= MIN_SCORE, name


def test_pairwise_decisions_equal_the_references(
    reference: dict[str, Path], hashed: dict[str, TmkFeatures]
) -> None:
    expected = {name: read_tmk(path) for name, path in reference.items()}
    decisions = {True: 0, False: 0}
    for a, b in itertools.combinations(sorted(reference), 2):
        verdict = compare(expected[a], expected[b]).is_match()
        assert compare(hashed[a], hashed[b]).is_match() == verdict, (a, b)
        decisions[verdict] += 1
    assert decisions[True] and decisions[False]  # the samples hold both kinds of pair


def test_a_written_tmk_reads_back_byte_exact(
    tmp_path: Path, hashed: dict[str, TmkFeatures]
) -> None:
    features = next(iter(hashed.values()))
    path = tmp_path / "out.tmk"
    write_tmk(path, features)
    data = path.read_bytes()
    assert len(data) == STANDARD_BYTES
    assert read_tmk(path).to_bytes() == data
    assert level2_score(read_tmk(path), features) == pytest.approx(1.0, abs=1e-5)


def _synthetic(frames: int, shift: int = 0, seed: int = 7) -> TmkFeatures:
    """Features of a made-up sequence of slowly changing frame features."""
    rng = np.random.default_rng(seed)
    walk = np.cumsum(rng.normal(size=(frames + shift, 256)), axis=0)
    accumulator = TmkAccumulator()
    for row in walk[shift:]:
        accumulator.add(row)
    return accumulator.finish()


def test_scores_of_a_sequence_with_itself_and_a_shifted_copy() -> None:
    whole = _synthetic(600)
    assert level1_score(whole, whole) == pytest.approx(1.0)
    assert level2_score(whole, whole) == pytest.approx(1.0, abs=1e-5)
    assert level2_score(whole, _synthetic(600, shift=40)) > 0.7
    assert level2_score(whole, _synthetic(600, seed=8)) < 0.7


def test_rate_conversion_halves_30_fps_as_ffmpeg_4_does() -> None:
    converter = RateConverter()
    kept = [n for n in range(120) if converter.push(n / 30, 1 / 30, 30.0)[1]]
    assert len(kept) == 62  # the reference hash of a 120-frame 30 fps clip holds 62 frames
    assert kept[:6] == [0, 1, 2, 3, 5, 7]


def test_the_signal_type_takes_base64_or_hex_and_measures_by_level_two(
    reference: dict[str, Path],
) -> None:
    data = next(iter(reference.values())).read_bytes()
    from_hex = parse_signal_value("tmk", data.hex().upper())
    assert SIGNAL_TYPES.resolve("TMK_PDQF") is SIGNAL_TYPES.resolve("VideoTMK") is TMK
    from_base64 = TMK.parse(base64.b64encode(data).decode())
    assert from_hex == from_base64
    assert from_hex.value == tmk_text(data)
    assert TMK.distance(from_hex.value, from_hex.value) == 0
    assert TMK.matches(from_hex.value, from_base64.value)


def _header(data: bytes, **changes: int) -> bytes:
    fields = dict(
        zip(
            ("fps", "periods", "count", "dim", "frames"),
            struct.unpack_from("<5i", data, 12),
            strict=True,
        )
    )
    fields.update(changes)
    return data[:12] + struct.pack("<5i", *fields.values()) + data[32:]


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda d: d[: len(d) // 2], "truncated"),
        (lambda d: d[:20], "too short"),
        (lambda d: d + b"\0" * 4, "trailing bytes"),
        (lambda d: b"XXXX" + d[4:], "no TMK1FVEC magic"),
        (lambda d: _header(d, dim=128), "feature dimension 128"),
        (lambda d: _header(d, periods=-1), "bad dimensions"),
        (lambda d: _header(d, count=1 << 30), "bad dimensions"),
        (lambda d: d[:-4] + struct.pack("<f", float("nan")), "NaN"),
    ],
)
def test_hostile_tmk_files_give_clear_errors(
    tmp_path: Path, reference: dict[str, Path], mangle, message: str
) -> None:
    path = tmp_path / "hostile.tmk"
    path.write_bytes(mangle(next(iter(reference.values())).read_bytes()))
    with pytest.raises(SignalValueError, match=message) as caught:
        read_tmk(path)
    assert str(path) in str(caught.value)


def test_tmk_values_that_are_not_standard_or_not_encoded_are_refused() -> None:
    accumulator = TmkAccumulator(periods=(100, 200))
    accumulator.add(np.ones(256))
    odd = accumulator.finish().to_bytes()
    assert parse_tmk(odd).frame_count == 1
    with pytest.raises(SignalValueError, match="standard periods"):
        parse_signal_value("tmk", odd.hex())
    with pytest.raises(SignalValueError, match="base64 or hex"):
        parse_signal_value("tmk", "not a hash!")
    with pytest.raises(SignalValueError, match="too short"):
        parse_signal_value("tmk", "abcd")


def test_a_file_that_is_not_video_is_refused_by_name(tmp_path: Path) -> None:
    pytest.importorskip("av", reason="hashing videos needs PyAV (the `video` extra)")
    path = tmp_path / "notes.mp4"
    path.write_bytes(b"just some text, not a video at all\n" * 10)
    with pytest.raises(MediaError, match="not a known video container") as caught:
        hash_video_tmk(path)
    assert str(path) in str(caught.value)


def test_ncmec_and_stopncii_lists_carry_tmk_values(reference: dict[str, Path]) -> None:
    data = next(iter(reference.values())).read_bytes()
    xml = (
        '<queryResult xmlns="https://hashsharing.ncmec.org/npo/v1"><videos count="2">'
        f"<video><fingerprints><md5>{'ab' * 16}</md5><TMK_PDQF>{data.hex()}</TMK_PDQF>"
        f"</fingerprints></video><video><fingerprints><TMK_PDQF>{base64.b64encode(data).decode()}"
        "</TMK_PDQF></fingerprints></video></videos></queryResult>"
    ).encode()
    parsed = ncmec.parse(xml)
    assert [s.kind for s in parsed.signals] == ["md5", "tmk", "tmk"]
    assert parsed.signals[1].value == parsed.signals[2].value == tmk_text(data)
    document = {"hashes": [{"hashType": "VideoTMK", "hashValue": base64.b64encode(data).decode()}]}
    signal = stopncii.parse(json.dumps(document).encode()).signals[0]
    assert signal.kind == "tmk" and signal.value == tmk_text(data)
    exported = json.loads(stopncii.FORMAT.dump([signal]).data)
    assert exported["hashes"][0]["hashType"] == "VideoTMK"
    assert base64.b64decode(exported["hashes"][0]["hashValue"]) == data
    with pytest.raises(FormatError, match="video #1"):
        ncmec.parse(xml.replace(data.hex().encode(), data[:1000].hex().encode()))


def test_the_index_searches_level_one_exactly_then_level_two(reference: dict[str, Path]) -> None:
    values = {name: TMK.canonical(path.read_bytes().hex()) for name, path in reference.items()}
    index = TmkIndex.of_values(values.items())
    assert len(index) == len(reference)
    for name in reference:
        query = TMK.features(values[name])
        hits = index.search(query)
        assert hits[0].key == name and hits[0].level2 == pytest.approx(1.0, abs=1e-5)
        for hit in hits:
            assert compare(query, TMK.features(values[hit.key])).is_match()
        expected = {k for k in values if compare(query, TMK.features(values[k])).is_match()}
        assert {hit.key for hit in hits} == expected
    first = next(iter(reference))
    index.remove(first)
    assert first not in {hit.key for hit in index.search(TMK.features(values[first]))}


def test_hash_video_writes_a_tmk_and_hash_adds_the_signal(
    tmp_path: Path, vectors_dir: Path, reference: dict[str, Path]
) -> None:
    pytest.importorskip("av", reason="hashing videos needs PyAV (the `video` extra)")
    name = "doorknob-hd-no-bar"
    video = vectors_dir / "vpdq" / "sample-videos" / f"{name}.mp4"
    if name not in reference or not video.is_file():
        pytest.skip(f"{name} vectors missing")
    out = tmp_path / "out.tmk"
    result = runner.invoke(app, ["hash-video", "--tmk", str(out), str(video)])
    assert result.exit_code == 0, result.output
    assert compare(read_tmk(out), read_tmk(reference[name])).is_match()
    result = runner.invoke(app, ["hash", "--tmk", str(video)])
    assert result.exit_code == 0, result.output
    value = json.loads(result.stdout.splitlines()[0])["tmk"]
    assert TMK.features(value).to_bytes() == out.read_bytes()
    result = runner.invoke(app, ["hash-video", "--tmk", str(out), str(video), str(video)])
    assert result.exit_code == 2 and "exactly one video" in result.output


@pytest.mark.parametrize("keep", [0.5, 0.05, 0.0])
def test_truncated_or_empty_videos_are_partial_or_refused_by_name(
    tmp_path: Path, vectors_dir: Path, keep: float
) -> None:
    pytest.importorskip("av", reason="hashing videos needs PyAV (the `video` extra)")
    source = vectors_dir / "vpdq" / "sample-videos" / "pattern-sd-grey-bar.mp4"
    if not source.is_file():
        pytest.skip(f"{source} missing")
    data = source.read_bytes()
    path = tmp_path / "cut.mp4"
    path.write_bytes(data[: int(len(data) * keep)])
    try:
        result = hash_video_tmk(path)
    except MediaError as exc:
        assert str(path) in str(exc)
    else:
        assert result.partial and result.partial_reason


def test_a_timestamp_far_ahead_stops_at_the_frame_limit(tmp_path: Path) -> None:
    av = pytest.importorskip("av", reason="making the video needs PyAV (the `video` extra)")
    path = tmp_path / "jump.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=30)
        stream.width = stream.height = 64
        stream.pix_fmt = "yuv420p"
        for n, pts in enumerate([0, 1, 2, 30 * 10_000]):  # the last frame is 10,000 s later
            frame = av.VideoFrame.from_ndarray(np.full((64, 64, 3), 60 * n, np.uint8), "rgb24")
            frame.pts = pts
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    result = hash_video_tmk(path, limits=VideoLimits(max_duration_s=20_000, max_frames=1000))
    assert result.partial and "limit of 1000 resampled frames" in (result.partial_reason or "")
    assert result.features.frame_count <= 1000
