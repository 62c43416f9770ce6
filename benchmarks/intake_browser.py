"""Browser hashing speed and the intake page's weight: PDQ + robust set + MD5 + SHA-256 of a
12 MP JPEG in headless Chromium, broken down by step, and the size of every static file the
page serves.

    python benchmarks/intake_browser.py [--runs N] [--photo FILE] [--video FILE | --no-video]

The 12 MP JPEG (4000 x 3000, quality 90) is a benign phone photo of the PDQ test vectors (or a
corpus photo) resized, or a synthetic pattern when neither is there. Steps are timed on the
page's main thread by importing the modules directly (decode = createImageBitmap + reading the
pixels back in strips); "hashFile" is the whole public call, worker included. Medians of N
runs after one warm-up.
The same photo's PDQ (reference decode) + MD5 + SHA-256 in Python is timed in the same run for
the ratio. The proof of work for opening a case (18 bits, the default) is solved --pow-runs
times in the page's worker, each with a fresh random challenge.
A video (default: the HD sample of the vPDQ test vectors) is hashed whole by hashFile too,
its vPDQ and its registration variants (`vpdq_robust`), medians of --video-runs, beside
Python's `hash_video` + `hash_video_robust` of the same file.
Goals: hashFile of a 12 MP JPEG <= 1 s; page weight <= 300 KB.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import io
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
STATIC = ROOT / "src" / "stopframe" / "apps" / "intake" / "static"
CORPUS = Path.home() / ".cache" / "stopframe" / "corpus" / "images"
SHARED = Path(os.environ.get("STOPFRAME_SHARED_DIR", ROOT.parent / "shared"))
PHONE_PHOTO = SHARED / "vectors/pdq/data/reg-test-input/exif-rotn/exif-rotn-1.jpg"
SAMPLE_VIDEO = SHARED / "vectors/vpdq/sample-videos/pattern-hd-no-bar.mp4"
POW_BITS = 18  # the registry's default intake_pow_bits
TIME_GOAL_MS = 1000.0
WEIGHT_GOAL = 300 * 1024
FLAGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]

PAGE = """<!doctype html><meta charset="utf-8"><title>bench</title>
<script type="module">
import { hashFile, solveChallenge } from "/js/hash/index.js";
import { JaroszBlock, lumaRow, pdqOfBlock } from "/js/hash/pdq.js";
import { FitLongSide } from "/js/hash/resample.js";
import { registerSet, WORK_SIDE } from "/js/hash/robust.js";
import { Md5 } from "/js/hash/md5.js";
import { Sha256 } from "/js/hash/sha256.js";

window.measure = async () => {
  const file = new File([await (await fetch("/photo.jpg")).blob()], "photo.jpg");
  const t = {};
  let start = performance.now();
  const bitmap = await createImageBitmap(file, {
    imageOrientation: "from-image", premultiplyAlpha: "none", colorSpaceConversion: "none",
  });
  const { width, height } = bitmap;
  const rows = Math.floor((1 << 22) / width);
  const context = new OffscreenCanvas(width, rows).getContext("2d", { willReadFrequently: true });
  context.globalCompositeOperation = "copy";
  const strips = [];
  for (let top = 0; top < height; top += rows) {
    const count = Math.min(rows, height - top);
    context.drawImage(bitmap, 0, top, width, count, 0, 0, width, count);
    strips.push([top, count, context.getImageData(0, 0, width, count).data]);
  }
  bitmap.close();
  t.decode = performance.now() - start;
  start = performance.now();
  const jarosz = new JaroszBlock(width, height);
  const luma = new Float32Array(width);
  for (const [top, count, rgba] of strips) {
    for (let r = 0; r < count; r++) jarosz.addRow(top + r, lumaRow(rgba, r * width, width, luma));
  }
  pdqOfBlock(jarosz.block());
  t.pdq = performance.now() - start;
  start = performance.now();
  const small = new FitLongSide(width, height, WORK_SIDE);
  for (const [top, count, rgba] of strips) {
    for (let r = 0; r < count; r++) small.addRow(top + r, rgba, r * width);
  }
  registerSet(small.finish());
  t.robust = performance.now() - start;
  const bytes = new Uint8Array(await file.arrayBuffer());
  start = performance.now();
  new Md5().update(bytes).hex();
  t.md5 = performance.now() - start;
  start = performance.now();
  new Sha256().update(bytes).hex();
  t.sha256 = performance.now() - start;
  start = performance.now();
  await hashFile(file);
  t.hashFile = performance.now() - start;
  return t;
};
window.measureVideo = async () => {
  const file = new File([await (await fetch("/video.mp4")).blob()], "video.mp4");
  const start = performance.now();
  const result = await hashFile(file);
  const kinds = result.signals.map((signal) => signal.kind);
  return { ms: performance.now() - start, duration: result.duration, kinds };
};
window.pow = async (challenge, bits) => {
  const start = performance.now();
  const nonce = await solveChallenge(challenge, bits);
  return { ms: performance.now() - start, nonce };
};
window.ready = true;
</script>"""


def make_photo(source: Path | None) -> bytes:
    """A benign 4000 x 3000 JPEG: `source` (else the phone photo of the PDQ test vectors, else
    the first corpus JPEG) resized, else a synthetic pattern."""
    if source is None and PHONE_PHOTO.is_file():
        source = PHONE_PHOTO
    if source is None and CORPUS.is_dir():
        source = next(iter(sorted(CORPUS.rglob("*.jpg"))), None)
    if source is not None:
        image = Image.open(source).convert("RGB").resize((4000, 3000), Image.Resampling.BICUBIC)
    else:
        y, x = np.mgrid[0:3000, 0:4000]
        pattern = np.stack([(x * 7 + y) % 256, (y * 5) % 256, ((x ^ y) * 3) % 256], axis=-1)
        image = Image.fromarray(pattern.astype(np.uint8))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def python_reference(photo: bytes, runs: int) -> float:
    """Median ms of the Python side on the same bytes: reference-decode PDQ, MD5, SHA-256."""
    from stopframe.signals.pdq_image import DecodePath, pdq_of_bytes

    times = []
    for _ in range(runs + 1):  # the first run warms caches and is dropped
        start = time.perf_counter()
        pdq_of_bytes(photo, "photo.jpg", DecodePath.REFERENCE)
        hashlib.md5(photo).hexdigest()
        hashlib.sha256(photo).hexdigest()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times[1:])


def report_video(video: Path, runs: list[dict[str, Any]]) -> None:
    """The page's hashFile of a video against Python's vPDQ and variants of the same file."""
    from stopframe.signals.vpdq import hash_video
    from stopframe.signals.vpdq_robust import hash_video_robust

    page_s = statistics.median(run["ms"] for run in runs) / 1000
    minutes = float(runs[0]["duration"]) / 60
    python_runs = []
    for _ in range(len(runs)):
        start = time.perf_counter()
        hash_video(video)
        hash_video_robust(video)
        python_runs.append(time.perf_counter() - start)
    python_s = statistics.median(python_runs)
    print(
        f"video: {video.name}, {60 * minutes:.1f} s; page hashFile (signals: "
        f"{', '.join(runs[0]['kinds'])}) median {page_s:.2f} s over {len(runs)} runs, "
        f"{page_s / minutes:.1f} s per minute of video; Python hash_video + hash_video_robust "
        f"{python_s:.2f} s; page / Python {page_s / python_s:.2f}x"
    )


def page_weight() -> tuple[int, int]:
    """(bytes, files) of everything under the intake's static folder."""
    files = [p for p in STATIC.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files), len(files)


def serve(folder: Path) -> ThreadingHTTPServer:
    class Handler(SimpleHTTPRequestHandler):
        def translate_path(self, path: str) -> str:
            name = path.split("?")[0]
            if name in ("/photo.jpg", "/bench.html", "/video.mp4"):
                return str(folder / name.lstrip("/"))
            return super().translate_path(path)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Handler, directory=str(STATIC))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--photo", type=Path, default=None)
    parser.add_argument("--pow-runs", type=int, default=15)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--video", type=Path, default=SAMPLE_VIDEO)
    parser.add_argument("--no-video", action="store_true")
    parser.add_argument("--video-runs", type=int, default=3)
    args = parser.parse_args()
    video = None if args.no_video or not args.video.is_file() else args.video
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        photo = make_photo(args.photo)
        (folder / "photo.jpg").write_bytes(photo)
        (folder / "bench.html").write_text(PAGE, encoding="utf-8")
        if video is not None:
            (folder / "video.mp4").symlink_to(video.resolve())
        server = serve(folder)
        url = f"http://127.0.0.1:{server.server_address[1]}/bench.html"
        with sync_playwright() as driver:
            browser = driver.chromium.launch(executable_path=args.chromium, args=FLAGS)
            page = browser.new_page()
            page.goto(url)
            page.wait_for_function("window.ready === true")
            page.evaluate("window.measure()")  # warm-up: JIT and decoder
            runs = [page.evaluate("window.measure()") for _ in range(args.runs)]
            pow_runs = [
                page.evaluate("([c, b]) => window.pow(c, b)", [os.urandom(12).hex(), POW_BITS])
                for _ in range(args.pow_runs)
            ]
            video_runs = (
                [page.evaluate("window.measureVideo()") for _ in range(args.video_runs)]
                if video is not None
                else []
            )
            version = browser.version
            browser.close()
        server.shutdown()
    print(f"machine: {platform.machine()}, Chromium {version}, Python {sys.version.split()[0]}")
    print(f"photo: 4000x3000 JPEG, {len(photo) / 1e6:.1f} MB; medians of {args.runs} runs")
    for step in ("decode", "pdq", "robust", "md5", "sha256", "hashFile"):
        print(f"  {step:9s} {statistics.median(run[step] for run in runs):8.1f} ms")
    total = statistics.median(run["hashFile"] for run in runs)
    print(f"hashFile vs goal {TIME_GOAL_MS:.0f} ms: {total / TIME_GOAL_MS:.2f}x of the budget")
    python_ms = python_reference(photo, args.runs)
    print(f"Python PDQ (reference decode) + MD5 + SHA-256 of the same photo: {python_ms:.1f} ms")
    print(f"browser hashFile / Python: {total / python_ms:.2f}x (hashFile adds the robust set)")
    pow_ms = [run["ms"] for run in pow_runs]
    attempts = [int(run["nonce"], 36) + 1 for run in pow_runs]
    rate = sum(attempts) / (sum(pow_ms) / 1000)
    print(
        f"proof of work at {POW_BITS} bits: median {statistics.median(pow_ms):.0f} ms over "
        f"{len(pow_ms)} challenges (min {min(pow_ms):.0f}, max {max(pow_ms):.0f}); "
        f"{rate:,.0f} SHA-256 a second"
    )
    if video is not None and video_runs:
        report_video(video, video_runs)
    weight, count = page_weight()
    print(
        f"page weight: {weight / 1024:.1f} KB in {count} files; "
        f"{weight / WEIGHT_GOAL:.2f}x of the 300 KB goal"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
