"""The batched torch PDQ against the CPU PDQ: on the CPU device whenever torch is installed, and
with nvJPEG decoding on a CUDA device where one is present."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import types
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from stopframe.bench.corpus import default_corpus_dir, list_images
from stopframe.errors import MediaError
from stopframe.hashing.batch import hash_paths
from stopframe.hashing.device import hash_paths_on_device
from stopframe.hashing.files import STATUS_OK, HashOptions
from stopframe.media.limits import MediaLimits
from stopframe.signals.pdq import Dihedral, PdqHash, hamming_distance, pdq_from_luma, pdq_from_rgb
from stopframe.signals.pdq_image import DecodePath, pdq_of_bytes

torch = pytest.importorskip("torch", reason="the torch PDQ path needs torch (extra 'gpu')")
pdq_torch = pytest.importorskip("stopframe.signals.pdq_torch")

MAX_DISTANCE = 10  # the GPU conformance bound of the scale issue
MIN_QUALITY = 50  # below this PDQ is never used for matching and bits are unstable
SHARE_WITHIN = 0.99  # share of generated photos that must stay within MAX_DISTANCE
CORPUS_BATCH = 64  # corpus photos per device batch


def _vector_items(vectors_dir: Path) -> list[tuple[bytes, str]]:
    root = vectors_dir / "pdq"
    with open(root / "expected-hashes.csv", newline="") as handle:
        files = sorted({row["file"] for row in csv.DictReader(handle)})
    return [((root / name).read_bytes(), name) for name in files if (root / name).is_file()]


def _photo(seed: int, size: tuple[int, int], fmt: str = "JPEG") -> bytes:
    """A benign synthetic photo: smooth colour gradients, a few discs and mild noise."""
    rng = np.random.default_rng(seed)
    width, height = size
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    rgb = np.empty((height, width, 3), np.float32)
    for c in range(3):
        fx, fy, phase = rng.uniform(0.5, 4.0), rng.uniform(0.5, 4.0), rng.uniform(0, 6.3)
        rgb[:, :, c] = 127 + 100 * np.sin(fx * x / width * 6.3 + fy * y / height * 6.3 + phase)
    for _ in range(4):
        cx, cy, r = rng.uniform(0, width), rng.uniform(0, height), rng.uniform(0.05, 0.3) * width
        rgb[(x - cx) ** 2 + (y - cy) ** 2 < r * r] = rng.uniform(0, 255, 3)
    rgb += rng.normal(0, 6, rgb.shape)
    pixels = Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8))
    out = io.BytesIO()
    pixels.save(out, fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    return out.getvalue()


def _generated() -> list[tuple[bytes, str]]:
    sizes = [(320, 240), (240, 320), (511, 383), (100, 64), (64, 100), (1000, 700)]
    items = [(_photo(i, sizes[i % len(sizes)]), f"gen-{i}.jpg") for i in range(36)]
    items += [(_photo(100 + i, (300, 200), "PNG"), f"gen-{i}.png") for i in range(4)]
    return items


def _reference(items: list[tuple[bytes, str]]) -> list[PdqHash]:
    return [pdq_of_bytes(data, name, DecodePath.REFERENCE)[1].hash for data, name in items]


def _check(items: list[tuple[bytes, str]], got: list[PdqHash | MediaError], share: float) -> None:
    expected = _reference(items)
    usable = [
        (name, want, have)
        for (_, name), want, have in zip(items, expected, got, strict=True)
        if want.quality >= MIN_QUALITY
    ]
    assert usable
    far = []
    for name, want, have in usable:
        assert isinstance(have, PdqHash), f"{name}: {have}"
        assert abs(have.quality - want.quality) <= 1, name
        if hamming_distance(want.digest, have.digest) > MAX_DISTANCE:
            far.append(name)
    assert len(far) <= (1 - share) * len(usable), far


@pytest.fixture(scope="module")
def vector_items(vectors_dir: Path) -> list[tuple[bytes, str]]:
    return _vector_items(vectors_dir)


def test_vectors_on_cpu_device(vector_items: list[tuple[bytes, str]]) -> None:
    """Every shared PDQ vector with quality >= 50 within 10 bits of the CPU reference path."""
    _check(vector_items, pdq_torch.pdq_of_bytes_batch(vector_items, "cpu"), 1.0)


def test_generated_photos_on_cpu_device() -> None:
    """Generated photos of mixed sizes and formats, hashed in one batch, in input order."""
    items = _generated()
    _check(items, pdq_torch.pdq_of_bytes_batch(items, "cpu"), SHARE_WITHIN)


def test_rgb_batch_equals_cpu_exactly() -> None:
    """On equal pixels the tensor pipeline gives the CPU bits and quality."""
    rng = np.random.default_rng(3)
    rgb = rng.integers(0, 256, (5, 90, 130, 3), dtype=np.uint8)
    rgb[:, :45] //= 3  # structure beyond noise
    batch = pdq_torch.pdq_batch(torch.from_numpy(rgb).permute(0, 3, 1, 2))
    for image, have in zip(rgb, batch.hashes(), strict=True):
        assert have == pdq_from_rgb(image).hash


def test_luma_batch_equals_cpu() -> None:
    rng = np.random.default_rng(4)
    luma = rng.uniform(0, 255, (3, 70, 41)).astype(np.float32)
    batch = pdq_torch.pdq_batch(torch.from_numpy(luma))
    for plane, have in zip(luma, batch.hashes(), strict=True):
        assert have == pdq_from_luma(plane).hash


def test_dihedral_variants_equal_cpu() -> None:
    rgb = np.array(Image.open(io.BytesIO(_photo(7, (200, 150)))))
    batch = pdq_torch.pdq_batch(torch.from_numpy(rgb).permute(2, 0, 1)[None])
    reference = pdq_from_rgb(rgb)
    for variant in Dihedral:
        assert batch.dihedral(variant) == [reference.dihedral(variant).digest]


def test_threshold_matches_packbits() -> None:
    rng = np.random.default_rng(5)
    dct = rng.normal(size=(4, 16, 16))
    packed = pdq_torch.threshold_batch(torch.from_numpy(dct)).numpy()
    for block, row in zip(dct, packed, strict=True):
        flat = block.reshape(-1)
        bits = (flat > np.partition(flat, 127)[127])[::-1]
        assert row.tobytes() == np.packbits(bits).tobytes()


def test_unusable_file_gives_its_error_in_place() -> None:
    good = (_photo(1, (120, 90)), "good.jpg")
    results = pdq_torch.pdq_of_bytes_batch([good, (b"\xff\xd8\xffjunk", "bad.jpg"), good], "cpu")
    assert isinstance(results[1], MediaError)
    assert isinstance(results[0], PdqHash) and results[0] == results[2]


def test_shapes_are_checked() -> None:
    with pytest.raises(ValueError):
        pdq_torch.block64_batch(torch.zeros(2, 4, 8, 8))
    with pytest.raises(ValueError):
        pdq_torch.pdq_blocks(torch.zeros(2, 32, 64))


@pytest.mark.parametrize("orientation", range(1, 9))
def test_orientation_matches_pillow(orientation: int) -> None:
    """nvJPEG ignores EXIF orientation; `orient` applies it as Pillow does for the CPU path."""
    pixels = np.arange(5 * 7 * 3, dtype=np.uint8).reshape(5, 7, 3)
    exif = Image.Exif()
    exif[0x0112] = orientation
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "JPEG", exif=exif)
    data = out.getvalue()
    limits = MediaLimits.from_env()
    assert pdq_torch.jpeg_orientation(data, limits) == orientation
    tagged = Image.fromarray(pixels)
    tagged.getexif()[0x0112] = orientation
    upright = np.asarray(ImageOps.exif_transpose(tagged))
    turned = pdq_torch.orient(torch.from_numpy(pixels.copy()).permute(2, 0, 1), orientation)
    assert np.array_equal(turned.permute(1, 2, 0).numpy(), upright)


def test_cmyk_and_oversized_jpegs_stay_on_the_cpu(vectors_dir: Path) -> None:
    limits = MediaLimits.from_env()
    cmyk = (vectors_dir / "pdq" / "data/misc-images/modes/CMYK.jpg").read_bytes()
    assert pdq_torch.jpeg_orientation(cmyk, limits) is None
    small = _photo(2, (300, 200))
    assert pdq_torch.jpeg_orientation(small, limits) == 1
    tight = replace(limits, max_pixels=300 * 200 - 1)
    assert pdq_torch.jpeg_orientation(small, tight) is None


def _fake_decode(encoded: object, mode: object, device: object) -> object:
    """Pillow standing in for nvJPEG: RGB pixels as stored, EXIF orientation ignored as nvJPEG
    does; a file ending in b"REFUSE" fails like a stream nvJPEG cannot read."""
    if isinstance(encoded, list):
        return [_fake_decode(one, mode, device) for one in encoded]
    data = encoded.numpy().tobytes()  # type: ignore[attr-defined]
    if data.endswith(b"REFUSE"):
        raise RuntimeError("nvjpeg: unsupported stream")
    rgb = np.array(Image.open(io.BytesIO(data)).convert("RGB"))
    return torch.from_numpy(rgb).permute(2, 0, 1)


def test_nvjpeg_route_orients_and_falls_back(
    vector_items: list[tuple[bytes, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The GPU decode route, with Pillow in nvJPEG's place: EXIF-rotated, CMYK and refused JPEGs
    all hash as the CPU reference does."""
    fake = types.ModuleType("torchvision.io")
    fake.decode_jpeg = _fake_decode  # type: ignore[attr-defined]
    fake.ImageReadMode = types.SimpleNamespace(RGB="RGB")  # type: ignore[attr-defined]
    parent = types.ModuleType("torchvision")
    parent.io = fake  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "torchvision", parent)
    monkeypatch.setitem(sys.modules, "torchvision.io", fake)
    monkeypatch.setattr(pdq_torch, "nvjpeg_available", lambda device: True)
    wanted = ("exif-rotn", "CMYK", "dih/", "q0122", "wee.jpg", "RGB.jpg")
    items = [item for item in vector_items if any(w in item[1] for w in wanted)]
    items.append((items[0][0] + b"REFUSE", "refused.jpg"))
    got = pdq_torch.pdq_of_bytes_batch(items, "cpu")
    assert got == _reference(items)


def test_real_torchvision_decoder_route_on_cpu(
    vector_items: list[tuple[bytes, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The GPU decode route with torchvision's own `decode_jpeg`, run on the CPU device (the
    same call nvJPEG answers on CUDA): batched, EXIF-oriented, the same hashes as the CPU PDQ."""
    pytest.importorskip("torchvision.io", reason="needs torchvision (extra 'gpu')")
    monkeypatch.setattr(pdq_torch, "nvjpeg_available", lambda device: True)
    items = vector_items + _generated()
    limits = MediaLimits.from_env()
    planned = pdq_torch._nvjpeg_plan(items, "cpu", limits)
    jpegs = {row for row, (_, name) in enumerate(items) if name.endswith((".jpg", ".jpeg"))}
    assert set(planned) == {row for row in jpegs if "CMYK" not in items[row][1]}
    assert set(pdq_torch._nvjpeg_decode(items, planned, "cpu")) == set(planned)
    _check(items, pdq_torch.pdq_of_bytes_batch(items, "cpu"), 1.0)


def test_torch_is_imported_only_on_use() -> None:
    """Importing the package, its CPU hashing or this module leaves torch unimported."""
    code = (
        "import sys, stopframe.signals, stopframe.hashing, stopframe.signals.pdq_image\n"
        "assert 'stopframe.signals.pdq_torch' not in sys.modules\n"
        "import stopframe.signals.pdq_torch\n"
        "assert 'torch' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.gpu
def test_nvjpeg_conformance_on_cuda(vector_items: list[tuple[bytes, str]]) -> None:
    """On CUDA (nvJPEG for JPEGs): vectors all within 10 bits, generated photos >= 99 %."""
    if not pdq_torch.available():
        pytest.skip("needs a CUDA device")
    if not pdq_torch.nvjpeg_available("cuda"):
        pytest.skip("needs torchvision for nvJPEG decoding")
    _check(vector_items, pdq_torch.pdq_of_bytes_batch(vector_items, "cuda"), 1.0)
    items = _generated()
    _check(items, pdq_torch.pdq_of_bytes_batch(items, "cuda"), SHARE_WITHIN)


@pytest.mark.gpu
def test_corpus_photos_on_cuda() -> None:
    """On CUDA: >= 99 % of the benign corpus photos ($STOPFRAME_CORPUS, else
    ~/.cache/stopframe/corpus; scripts/get-test-corpus.sh fetches it) within 10 bits of the CPU
    PDQ (reference decode), through the batched path of `stopframe hash --device cuda`."""
    if not pdq_torch.available():
        pytest.skip("needs a CUDA device")
    corpus = default_corpus_dir()
    photos = list_images(corpus / "images")
    if not photos:
        pytest.skip(
            f"benign corpus not found at {corpus}: run scripts/get-test-corpus.sh "
            "or set STOPFRAME_CORPUS"
        )
    options = HashOptions(path=DecodePath.REFERENCE)
    records = hash_paths(photos, options, jobs=os.cpu_count() or 1)
    expected = {r.path: r.value("pdq") for r in records if r.status == STATUS_OK}
    far = [
        record.path
        for record in hash_paths_on_device(photos, options, "cuda", batch=CORPUS_BATCH)
        if record.path in expected
        and (
            record.status != STATUS_OK
            or _bits(record.value("pdq"), expected[record.path]) > MAX_DISTANCE
        )
    ]
    assert expected
    assert len(far) <= (1 - SHARE_WITHIN) * len(expected), (len(far), len(expected), far[:20])


def _bits(have: str | None, want: str | None) -> int:
    """Hamming distance of two PDQ hexes; a missing one is as far as can be."""
    if have is None or want is None:
        return 256
    return hamming_distance(bytes.fromhex(have), bytes.fromhex(want))
