"""Image hashing speed and agreement: stopframe's fast and reference PDQ paths against PyPI
pdqhash (full resolution and after a 512 px thumbnail) and against Pillow decoding alone.

    python benchmarks/hash_images.py [--corpus DIR] [--no-conformance]

Corpus: DIR, else $STOPFRAME_CORPUS, else ~/.cache/stopframe/corpus (benign photos under
DIR/images; fetch them with scripts/get-test-corpus.sh).
Sets: "1080p" = short side 1080-1999 px (per format); "12MP phone" = the 4000x3000 phone JPEGs
(baseline JPEG); "large progressive JPEG" = the other 8-20 MP JPEGs (wallpapers), reported
apart because progressive files must be entropy-decoded in full whatever the scale.
Everything runs in one process and one thread (BLAS threads pinned to 1), one image at a
time, from bytes already in memory. Speed is images per CPU-second of this process
(time.process_time), so that other load on a shared machine does not distort the ratios.
Every method applies the EXIF orientation, as stopframe does, so the hashes are comparable.
The conformance part hashes every photo of the corpus by both paths and reports how many
good-quality (>= 80) photos land within 10 bits fast-vs-reference.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # before numpy loads its BLAS

# ruff: noqa: E402 - the imports below must follow the thread settings above
import argparse
import io
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from stopframe.media.sniff import MediaType, sniff_bytes
from stopframe.signals.pdq import hamming_distance
from stopframe.signals.pdq_image import DecodePath, pdq_of_bytes

Method = Callable[[bytes], tuple[bytes, int] | None]


def _pdqhash_digest(rgb: np.ndarray) -> tuple[bytes, int]:
    import pdqhash

    bits, quality = pdqhash.compute(np.ascontiguousarray(rgb))
    return np.packbits(np.asarray(bits, dtype=np.uint8)).tobytes(), int(quality)


def stopframe_fast(data: bytes) -> tuple[bytes, int]:
    result = pdq_of_bytes(data, "bench", DecodePath.FAST)[1]
    return result.hash.digest, result.quality


def stopframe_reference(data: bytes) -> tuple[bytes, int]:
    result = pdq_of_bytes(data, "bench", DecodePath.REFERENCE)[1]
    return result.hash.digest, result.quality


def pdqhash_full(data: bytes) -> tuple[bytes, int]:
    image = ImageOps.exif_transpose(Image.open(io.BytesIO(data)))
    return _pdqhash_digest(np.asarray(image.convert("RGB")))


def pdqhash_thumbnail(data: bytes) -> tuple[bytes, int]:
    """The usual pre-resize: thumbnail() on the opened file (Pillow uses JPEG draft itself)."""
    image = Image.open(io.BytesIO(data))
    image.thumbnail((512, 512))
    image = ImageOps.exif_transpose(image)
    return _pdqhash_digest(np.asarray(image.convert("RGB")))


def pillow_decode(data: bytes) -> None:
    image = Image.open(io.BytesIO(data)).convert("RGB")
    image.load()


METHODS: dict[str, Method] = {
    "stopframe fast": stopframe_fast,
    "stopframe reference": stopframe_reference,
    "pdqhash full-res": pdqhash_full,
    "pdqhash thumbnail 512": pdqhash_thumbnail,
    "Pillow decode only": pillow_decode,
}


def load_corpus(root: Path) -> list[tuple[Path, bytes, int, int, str]]:
    photos = []
    for path in sorted((root / "images").rglob("*")):
        if not path.is_file():
            continue
        data = path.read_bytes()
        sniffed = sniff_bytes(data[:512])
        if sniffed is None or sniffed.media_type is not MediaType.IMAGE:
            continue
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
        photos.append((path, data, width, height, sniffed.format))
    return photos


def timed(method: Method, items: list[bytes]) -> tuple[float, list]:
    start = time.process_time()
    outputs = [method(data) for data in items]
    return time.process_time() - start, outputs


def distribution(distances: list[int]) -> str:
    bins = [(0, 0), (1, 2), (3, 4), (5, 6), (7, 8), (9, 10), (11, 16), (17, 256)]
    parts = [f"{lo}-{hi}:{sum(lo <= d <= hi for d in distances)}" for lo, hi in bins]
    within = sum(d <= 10 for d in distances) / len(distances) * 100
    median = int(np.median(distances))
    return f"{' '.join(parts)} | <=10: {within:.1f}% | median {median} max {max(distances)}"


def bench_set(name: str, photos: list, repeat: int) -> None:
    if not photos:
        print(f"\n## {name}: no photos in this corpus")
        return
    items = [p[1] for p in photos]
    megapixels = np.mean([p[2] * p[3] for p in photos]) / 1e6
    print(f"\n## {name}: {len(items)} photos, mean {megapixels:.1f} MP (best of {repeat} rounds)")
    for method in METHODS.values():
        method(items[0])  # warm-up: imports, caches
    best: dict[str, float] = {label: float("inf") for label in METHODS}
    outputs: dict[str, list] = {}
    for _ in range(repeat):  # rounds interleave the methods so background load hits all alike
        for label, method in METHODS.items():
            seconds, outputs[label] = timed(method, items)
            best[label] = min(best[label], seconds)
    rates = {label: len(items) / seconds for label, seconds in best.items()}
    for label in METHODS:
        print(f"  {label:24s} {rates[label]:8.2f} images/s ({1000 / rates[label]:7.1f} ms each)")
    fast = rates["stopframe fast"]
    for label in (
        "pdqhash full-res",
        "pdqhash thumbnail 512",
        "Pillow decode only",
        "stopframe reference",
    ):
        print(f"  fast / {label:24s} {fast / rates[label]:6.2f}x")
    full = outputs["pdqhash full-res"]
    for label in ("stopframe fast", "stopframe reference", "pdqhash thumbnail 512"):
        distances = [
            hamming_distance(a[0], b[0])
            for a, b in zip(outputs[label], full, strict=True)
            if b[1] >= 80
        ]
        if distances:
            print(f"  bits {label} vs pdqhash full-res (quality>=80): {distribution(distances)}")


def conformance(photos: list) -> None:
    distances = []
    for _path, data, *_ in photos:
        reference = stopframe_reference(data)
        if reference[1] >= 80:
            distances.append(hamming_distance(stopframe_fast(data)[0], reference[0]))
    print(f"\n## Conformance: fast vs reference path on all {len(photos)} corpus photos")
    print(f"  {len(distances)} with reference quality >= 80: {distribution(distances)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = os.environ.get(
        "STOPFRAME_CORPUS", str(Path.home() / ".cache" / "stopframe" / "corpus")
    )
    parser.add_argument("--corpus", type=Path, default=Path(default))
    parser.add_argument("--no-conformance", action="store_true", help="skip the all-photos check")
    parser.add_argument("--repeat", type=int, default=3, help="timing rounds per set (best kept)")
    args = parser.parse_args()
    if not (args.corpus / "images").is_dir():
        sys.exit(f"no images under {args.corpus}/images (see --corpus)")
    import pdqhash  # noqa: F401 - fail early: the comparison needs it (extra 'bench')

    photos = load_corpus(args.corpus)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, Pillow {Image.__version__}, numpy {np.__version__}"
    )
    hd = [p for p in photos if 1080 <= min(p[2], p[3]) < 2000]
    for fmt in sorted({p[4] for p in hd}):
        bench_set(f"1080p {fmt}", [p for p in hd if p[4] == fmt], args.repeat)
    large = [p for p in photos if p[4] == "jpeg" and 8e6 <= p[2] * p[3] <= 20e6]
    phone = [p for p in large if sorted((p[2], p[3])) == [3000, 4000]]
    bench_set("12MP phone jpeg", phone, args.repeat)
    bench_set("large progressive jpeg", [p for p in large if p not in phone], args.repeat)
    if not args.no_conformance:
        conformance(photos)


if __name__ == "__main__":
    main()
