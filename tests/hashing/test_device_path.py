"""`stopframe hash --device cpu` (pictures' PDQ batched through torch) against the CPU path: the
same records, in the same order, over the sample images and generated pictures, a corrupt one,
a non-media file and a video."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from stopframe.cli import app
from stopframe.hashing.batch import hash_paths
from stopframe.hashing.files import HashOptions
from stopframe.samples import sample_images

pytest.importorskip("torch", reason="--device needs torch (extra 'gpu')")
device_path = pytest.importorskip("stopframe.hashing.device")

runner = CliRunner()
MAX_FAST_DISTANCE = 10  # the default `fast` decode path stays this close to a full decode
MAX_ROBUST_TIE_BITS = 2  # device robust sets: DCT coefficients tied at the median may swap


def _picture(seed: int, size: tuple[int, int], fmt: str, orientation: int = 1) -> bytes:
    """A benign generated picture: colour gradients and a few discs, optionally EXIF-rotated."""
    rng = np.random.default_rng(seed)
    width, height = size
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    rgb = np.stack(
        [127 + 100 * np.sin((x * rng.uniform(1, 4) + y) / width * 6.3 + c) for c in range(3)],
        axis=-1,
    )
    for _ in range(3):
        cx, cy, r = rng.uniform(0, width), rng.uniform(0, height), rng.uniform(0.1, 0.3) * width
        rgb[(x - cx) ** 2 + (y - cy) ** 2 < r * r] = rng.uniform(0, 255, 3)
    image = Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8))
    out = io.BytesIO()
    extra: dict[str, object] = {}
    if orientation != 1:
        exif = Image.Exif()
        exif[0x0112] = orientation
        extra["exif"] = exif
    image.save(out, fmt, **extra)
    return out.getvalue()


def _video(path: Path) -> None:
    """A one-second 64 x 48 MPEG-4 video of moving colour bands."""
    av = pytest.importorskip("av", reason="the video in the batch needs PyAV (extra 'video')")
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for frame in range(10):
            pixels = np.zeros((48, 64, 3), np.uint8)
            pixels[:, :, 0] = (np.arange(64) * 4 + frame * 20) % 256
            pixels[:, :, 1] = np.arange(48)[:, None] * 5
            for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Sample images, generated pictures in several formats and sizes (one EXIF-rotated, two of
    equal size), a corrupt JPEG, a text file and a video, in a folder with a sub-folder."""
    folder = tmp_path_factory.mktemp("device") / "batch"
    (folder / "sub").mkdir(parents=True)
    for image in sample_images():
        shutil.copy(image, folder / "sub" / image.name)
    pictures = {
        "a.jpg": _picture(1, (320, 240), "JPEG"),
        "b.png": _picture(2, (200, 300), "PNG"),
        "c.jpg": _picture(3, (320, 240), "JPEG", orientation=6),
        "d.webp": _picture(4, (128, 96), "WEBP"),
        "e.gif": _picture(5, (90, 90), "GIF"),
    }
    for name, data in pictures.items():
        (folder / name).write_bytes(data)
    (folder / "broken.jpg").write_bytes(pictures["a.jpg"][:400])
    (folder / "notes.txt").write_text("not a picture\n")
    _video(folder / "sub" / "clip.mp4")
    return folder


def _hash(*args: str) -> tuple[int, list[dict]]:
    result = runner.invoke(app, ["hash", *args])
    return result.exit_code, [json.loads(line) for line in result.stdout.splitlines() if line]


def _robust_split(record: dict) -> dict:
    """A record with its robust set reduced to variants and qualities (hashes compared apart)."""
    lines = (record.get("pdq_robust") or "").splitlines()
    return {**record, "pdq_robust": [line.rsplit(",", 1)[0] for line in lines]}


def _robust_distance(have: dict, want: dict) -> int:
    """The largest distance between the hashes of two records' robust sets, variant by variant."""
    pairs = zip(
        (have.get("pdq_robust") or "").splitlines(),
        (want.get("pdq_robust") or "").splitlines(),
        strict=True,
    )
    hexes = [(a.rsplit(",", 1)[1], b.rsplit(",", 1)[1]) for a, b in pairs]
    return max((bin(int(a, 16) ^ int(b, 16)).count("1") for a, b in hexes), default=0)


@pytest.mark.parametrize(
    "extra", [[], ["--dihedral"], ["--robust"]], ids=["plain", "dihedral", "robust"]
)
def test_device_cpu_equals_the_full_decode_cpu_path(batch: Path, extra: list[str]) -> None:
    """Every record equal, field for field (pdq, quality and dihedral to the bit; robust sets
    with the same variants and qualities, their hashes within `MAX_ROBUST_TIE_BITS`), to the CPU
    path decoding every pixel (`--path reference`), which is what the device does."""
    code, records = _hash(str(batch), *extra, "--path", "reference")
    device_code, device_records = _hash(str(batch), *extra, "--device", "cpu")
    assert device_code == code == 1  # the corrupt JPEG
    assert [_robust_split(r) for r in device_records] == [_robust_split(r) for r in records]
    for have, want in zip(device_records, records, strict=True):
        assert _robust_distance(have, want) <= MAX_ROBUST_TIE_BITS, want["path"]
    by_name = {Path(r["path"]).name: r for r in records}
    assert by_name["broken.jpg"]["status"] == "error"
    assert by_name["notes.txt"]["status"] == "skipped"
    assert by_name["clip.mp4"]["media_type"] == "video" and by_name["clip.mp4"]["vpdq"]
    assert by_name["c.jpg"]["width"] == 240  # EXIF orientation 6 turns it upright
    if "--robust" in extra:  # registration sets hashed on the device
        assert all(by_name[name]["pdq_robust"] for name in ("a.jpg", "b.png", "c.jpg"))


def test_device_cpu_against_the_default_fast_path(batch: Path) -> None:
    """Against the default output: the same fields in the same order, equal but for PDQ bits,
    which stay within 10 bits of the default `fast` decode path."""
    code, records = _hash(str(batch))
    device_code, device_records = _hash(str(batch), "--device", "cpu")
    assert device_code == code
    assert [list(r) for r in device_records] == [list(r) for r in records]
    for have, want in zip(device_records, records, strict=True):
        assert {**have, "pdq": None} == {**want, "pdq": None}, want["path"]
        if want["pdq"] is not None:
            distance = bin(int(have["pdq"], 16) ^ int(want["pdq"], 16)).count("1")
            assert distance <= MAX_FAST_DISTANCE, want["path"]


def test_records_keep_input_order_across_batches(batch: Path) -> None:
    """Batches of two files: pictures waiting for their batch never reorder the records."""
    options = HashOptions(dihedral=True)
    small = list(device_path.hash_paths_on_device([batch], options, "cpu", batch=2))
    whole = list(device_path.hash_paths_on_device([batch], options, "cpu"))
    assert [r.to_dict() for r in small] == [r.to_dict() for r in whole]
    assert [r.path for r in small] == [r.path for r in hash_paths([batch], options)]


def test_a_failed_batch_becomes_error_records(batch: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An unexpected failure on the device marks that batch's pictures, and the run goes on."""

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("device lost")

    monkeypatch.setattr(device_path, "pdq_on_device", broken)
    records = list(device_path.hash_paths_on_device([batch], HashOptions(), "cpu"))
    pictures = [r for r in records if r.media_type == "image"]
    assert pictures and all(r.status == "error" and "device lost" in r.error for r in pictures)
    video = next(r for r in records if r.media_type == "video")
    assert video.status == "ok"


def test_without_torch_device_names_the_gpu_extra(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "sys.modules['torch'] = None\n"
        "from stopframe.cli import app\n"
        "app(sys.argv[1:], prog_name='stopframe')\n"
    )
    picture = tmp_path / "a.png"
    picture.write_bytes(_picture(1, (64, 64), "PNG"))
    result = subprocess.run(
        [sys.executable, "-c", code, "hash", "--device", "cpu", str(picture)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert "pip install 'stopframe[gpu]'" in line and "torch" in line
    assert result.stdout == ""


def test_cuda_without_a_gpu_is_a_usage_error(batch: Path) -> None:
    if device_path.pdq_torch.available():
        pytest.skip("a CUDA device is present")
    result = runner.invoke(app, ["hash", "--device", "cuda", str(batch)])
    assert result.exit_code == 2 and "CUDA" in result.output


def test_the_default_path_never_imports_torch(tmp_path: Path) -> None:
    picture = tmp_path / "a.png"
    picture.write_bytes(_picture(1, (64, 64), "PNG"))
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from stopframe.cli import app\n"
        f"result = CliRunner().invoke(app, ['hash', {str(picture)!r}])\n"
        "assert result.exit_code == 0, result.output\n"
        "assert 'torch' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
