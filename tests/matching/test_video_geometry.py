"""Geometric frame variants: mirrors from one DCT, centred crops, per-frame bar removal, and
registration and query hashing of small generated clips (pans over smooth random pictures)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter

from stopframe.matching.video_geometry import (
    CROP_CUT,
    QUERY_NAMES,
    REGISTER_CROPS,
    FrameVariants,
    query_frame,
    query_video,
    register_frame,
    register_names,
    register_video,
    variants_of_frames,
)
from stopframe.media.borders import without_frame_bars
from stopframe.signals.pdq import PDQ, hamming_distance
from stopframe.signals.pdq_plane import pdq_from_plane
from stopframe.signals.vpdq import VpdqFrame, hash_video

av = pytest.importorskip("av")


def picture(seed: int, size: tuple[int, int] = (480, 320)) -> Image.Image:
    """A smooth random RGB picture (blurred noise): structured, benign, never repeating."""
    rng = np.random.default_rng(seed)
    noise = rng.integers(0, 256, (size[1] // 24, size[0] // 24, 3), dtype=np.uint8)
    small = Image.fromarray(noise).resize(size, Image.Resampling.BICUBIC)
    return small.filter(ImageFilter.GaussianBlur(3))


def luma(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("L"), dtype=np.float32)


def bits(a: bytes, b: bytes) -> int:
    return hamming_distance(a, b)


def write_pan(path: Path, seed: int, seconds: float, mirror: bool = False, fps: int = 10) -> Path:
    """A clip panning across a random picture, optionally mirrored."""
    source = picture(seed, (640, 240))
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps, options={"preset": "ultrafast"})
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        for k in range(round(seconds * fps)):
            left = k * (400 / (seconds * fps))
            frame = source.crop((left, 0, left + 240, 180)).resize((160, 120))
            if mirror:
                frame = frame.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(np.asarray(frame), "rgb24")))
        container.mux(stream.encode(None))
    return path


def test_mirror_variant_matches_the_mirrored_frame() -> None:
    image = picture(1)
    mirrored = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    full, flip = query_frame(luma(image), 1.0, 0.0)
    direct = pdq_from_plane(luma(mirrored)).hash
    assert flip.digest == direct.digest
    assert bits(full.digest, direct.digest) > 64


def test_crop_variants_meet_copies_cut_the_same_way() -> None:
    plane = luma(picture(2))
    registered = register_frame(plane, 1.0, 0.0)
    assert len(registered) == 1 + len(REGISTER_CROPS)
    for crop, variant in zip(REGISTER_CROPS, registered[1:], strict=True):
        query = pdq_from_plane(crop.apply(plane)).hash
        assert bits(variant.digest, query.digest) <= 2
        assert bits(registered[0].digest, query.digest) > PDQ.default_threshold


def test_register_crops_cover_a_grid() -> None:
    assert {crop.name for crop in REGISTER_CROPS} == {f"crop-{v}{h}" for v in "tmb" for h in "lcr"}
    for crop in REGISTER_CROPS:
        assert crop.left + crop.right == pytest.approx(CROP_CUT)
        assert crop.top + crop.bottom == pytest.approx(CROP_CUT)


def test_without_bars_trims_a_letterbox() -> None:
    image = luma(picture(3))
    boxed = np.zeros((image.shape[0] + 80, image.shape[1]), dtype=np.float32)
    boxed[40:-40] = image
    assert without_frame_bars(boxed).shape == image.shape
    assert without_frame_bars(image).shape == image.shape
    assert without_frame_bars(np.zeros((50, 50), dtype=np.float32)).shape == (50, 50)


def test_names_follow_the_variants() -> None:
    assert register_names()[:2] == ("full", "crop-tl") and len(register_names()) == 10
    assert QUERY_NAMES == ("full", "mirror")


def test_register_and_query_video_shapes(tmp_path: Path) -> None:
    path = write_pan(tmp_path / "pan.mp4", 4, 4.0)
    registered = register_video(path, rate=0.5)
    query = query_video(path, rate=0.5)
    assert registered.codes.shape == (8, 10, 4) and registered.names == register_names()
    assert query.codes.shape == (8, 2, 4) and query.names == QUERY_NAMES
    np.testing.assert_allclose(registered.times, np.arange(8) * 0.5)
    assert registered.usable.all()
    plain = hash_video(path, rate=0.5).frames
    same = [
        bits(f.digest, registered.codes[i, 0].astype(">u8").tobytes()) for i, f in enumerate(plain)
    ]
    assert max(same) <= 2  # the full variant is the frame's vPDQ (no bars here)


def test_mirrored_clip_meets_registration_through_the_mirror_variant(tmp_path: Path) -> None:
    registered = register_video(write_pan(tmp_path / "a.mp4", 5, 3.0), rate=1.0)
    query = query_video(write_pan(tmp_path / "b.mp4", 5, 3.0, mirror=True), rate=1.0)
    for i in range(len(query)):
        reg = registered.codes[i, 0].astype(">u8").tobytes()
        assert bits(query.codes[i, 1].astype(">u8").tobytes(), reg) <= PDQ.default_threshold
        assert bits(query.codes[i, 0].astype(">u8").tobytes(), reg) > PDQ.default_threshold


def test_variants_of_frames_and_only() -> None:
    frames = [VpdqFrame(k, 90 if k else 10, bytes([k]) * 32, k * 1.0) for k in range(3)]
    variants = variants_of_frames(frames)
    assert variants.names == ("full",) and variants.codes.shape == (3, 1, 4)
    assert variants.usable[:, 0].tolist() == [False, True, True]
    both = FrameVariants(
        variants.times,
        np.repeat(variants.codes, 2, axis=1),
        np.repeat(variants.usable, 2, axis=1),
        ("full", "mirror"),
    )
    assert both.only(["mirror"]).names == ("mirror",)
    assert both.only(["mirror"]).codes.shape == (3, 1, 4)
