"""Benchmark: batched PDQ on a GPU (`stopframe.signals.pdq_torch`) against nvJPEG decoding alone.

1080p JPEGs are generated on the fly (benign colour gradients, discs and noise) and fed in batches,
three ways in one run on the same device:
- `decode`: torchvision's `decode_jpeg` on the device alone (nvJPEG on CUDA), the ceiling;
- `hash`: `pdq_of_bytes_batch`, the production path (header limits, nvJPEG, luma, Jarosz, DCT,
  threshold, digests back on the host);
- `hash_only`: the tensor pipeline on already decoded batches (`pdq_images`).
It prints images/s for each, `hash / decode` (goal >= 0.80), the host's own work per JPEG before
nvJPEG (header, EXIF orientation, bytes to a tensor: one feeding thread's ceiling) and the
largest distance in bits from the CPU reference PDQ over the distinct images (goal <= 10).

    python benchmarks/hash_gpu.py                     # CUDA: 4096 images, batches of 128
    python benchmarks/hash_gpu.py --count 32 --batch 8 --distinct 8   # anywhere, small

Without CUDA it runs the same on the CPU device (decoding with torchvision on the CPU, or Pillow
when torchvision is missing) with a small default count, and says so: those are not GPU figures.
"""

from __future__ import annotations

import argparse
import io
import json
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from PIL import Image

from stopframe.media.limits import MediaLimits
from stopframe.signals import pdq_torch
from stopframe.signals.pdq import PdqHash, hamming_distance
from stopframe.signals.pdq_image import DecodePath, pdq_of_bytes

GOAL_RATIO = 0.80  # share of the decode-alone rate the hashed rate should reach
GOAL_RATE = 10_000  # images/s on one H100/H200
GOAL_BITS = 10  # largest distance from the CPU PDQ


def photo(seed: int, width: int, height: int, quality: int) -> bytes:
    """A benign synthetic JPEG: smooth colour gradients, a few discs and mild noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    rgb = np.empty((height, width, 3), np.float32)
    for c in range(3):
        fx, fy, phase = rng.uniform(0.5, 4.0), rng.uniform(0.5, 4.0), rng.uniform(0, 6.3)
        rgb[:, :, c] = 127 + 100 * np.sin((fx * x / width + fy * y / height) * 6.3 + phase)
    for _ in range(6):
        cx, cy, r = rng.uniform(0, width), rng.uniform(0, height), rng.uniform(0.03, 0.2) * width
        rgb[(x - cx) ** 2 + (y - cy) ** 2 < r * r] = rng.uniform(0, 255, 3)
    rgb += rng.normal(0, 8, rgb.shape)
    out = io.BytesIO()
    Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8)).save(out, "JPEG", quality=quality)
    return out.getvalue()


def decode_only(device: str) -> Callable[[Sequence[tuple[bytes, str]]], list[Any]]:
    """The decode-alone baseline: torchvision's batched `decode_jpeg`, else Pillow on the CPU."""
    try:
        import torchvision.io as tvio
    except ImportError:
        return lambda items: [pdq_torch.decode_cpu(data, name) for data, name in items]

    def run(items: Sequence[tuple[bytes, str]]) -> list[Any]:
        encoded = [torch.frombuffer(bytearray(data), dtype=torch.uint8) for data, _ in items]
        return list(tvio.decode_jpeg(encoded, mode=tvio.ImageReadMode.RGB, device=device))

    return run


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def rate(
    step: Callable[[Sequence[tuple[bytes, str]]], Any],
    items: list[tuple[bytes, str]],
    batch: int,
    device: str,
) -> float:
    """Images per second of `step` over `items` in batches, after one warm-up batch."""
    step(items[:batch])
    sync(device)
    start = time.perf_counter()
    for lo in range(0, len(items), batch):
        step(items[lo : lo + batch])
    sync(device)
    return len(items) / (time.perf_counter() - start)


def host_prep_us(items: list[tuple[bytes, str]]) -> float:
    """Microseconds of host work per JPEG before nvJPEG: header and EXIF read, bytes to a tensor
    (one thread; the ceiling on images/s of one feeding thread is 1e6 / this)."""
    limits = MediaLimits.from_env()
    pdq_torch.jpeg_orientation(items[0][0], limits)  # warm-up: Pillow's plugins load once
    start = time.perf_counter()
    for data, _ in items:
        pdq_torch.jpeg_orientation(data, limits)
        torch.frombuffer(bytearray(data), dtype=torch.uint8)
    return 1e6 * (time.perf_counter() - start) / len(items)


def main() -> None:
    """Parse options, run the three measurements and print one JSON report."""
    cuda = torch.cuda.is_available()
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cuda" if cuda else "cpu")
    parser.add_argument("--count", type=int, default=4096 if cuda else 48)
    parser.add_argument("--batch", type=int, default=128 if cuda else 8)
    parser.add_argument("--distinct", type=int, default=64 if cuda else 8)
    parser.add_argument("--size", default="1920x1080", help="WIDTHxHEIGHT of the JPEGs")
    parser.add_argument("--quality", type=int, default=90, help="JPEG quality")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.lower().split("x"))
    device = str(args.device)
    distinct = [(photo(i, width, height, args.quality), f"p{i}.jpg") for i in range(args.distinct)]
    items = [distinct[i % len(distinct)] for i in range(args.count)]
    decoded = decode_only(device)(items[: args.batch])

    decode_rate = rate(decode_only(device), items, args.batch, device)
    hash_rate = rate(
        lambda part: pdq_torch.pdq_of_bytes_batch(part, device), items, args.batch, device
    )
    only_rate = rate(
        lambda part: pdq_torch.pdq_images(decoded[: len(part)]), items, args.batch, device
    )
    hashed = pdq_torch.pdq_of_bytes_batch(distinct, device)
    bits = [
        hamming_distance(pdq_of_bytes(data, name, DecodePath.REFERENCE)[1].hash.digest, h.digest)
        for (data, name), h in zip(distinct, hashed, strict=True)
        if isinstance(h, PdqHash)
    ]
    report = {
        "device": torch.cuda.get_device_name() if device.startswith("cuda") else "cpu",
        "note": None if device.startswith("cuda") else "no CUDA: CPU device, not GPU figures",
        "nvjpeg": pdq_torch.nvjpeg_available(device),
        "images": args.count,
        "batch": args.batch,
        "size": f"{width}x{height}",
        "mean_jpeg_bytes": round(sum(len(d) for d, _ in distinct) / len(distinct)),
        "decode_images_per_s": round(decode_rate, 1),
        "hash_images_per_s": round(hash_rate, 1),
        "hash_only_images_per_s": round(only_rate, 1),
        "hash_over_decode": round(hash_rate / decode_rate, 3),
        "host_prep_us_per_jpeg": round(host_prep_us(items), 1),
        "max_bits_vs_cpu": max(bits) if bits else None,
        "goals": {
            "hash_over_decode >= 0.80": hash_rate / decode_rate >= GOAL_RATIO,
            "hash >= 10000/s": hash_rate >= GOAL_RATE,
            "max_bits_vs_cpu <= 10": bool(bits) and max(bits) <= GOAL_BITS,
        },
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
